import type { ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import type { FormValues } from '../form-model.js';
import type { ImagesState } from '../hooks/use-images.js';
import type { Dialog } from '../view-state.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { DemoOffer } from './DemoOffer.js';
import { HelpOverlay } from './HelpOverlay.js';
import { VmForm } from './VmForm.js';
import { SnapshotChooser } from './SnapshotChooser.js';
import { NameDialog } from './NameDialog.js';
import type { TableAction } from '../key-table.js';
import type { SnapshotsState } from '../hooks/use-snapshots.js';

/** Props of Overlays. */
export interface OverlaysProps {
  dialog: Dialog | null;
  vms: ReadonlyMap<string, Vm>;
  screen: { cols: number; rows: number };
  escapeLabel: string;
  /** The image list for the new-VM form's picker, and this host's architecture. */
  images: ImagesState;
  arch: string;
  /** The hosts a new VM can go to (local first). */
  hosts?: readonly string[];
  guestDir: string;
  close(): void;
  create(values: FormValues): Promise<void>;
  edit(vm: Vm, values: FormValues): Promise<void>;
  kill(name: string): void;
  remove(name: string, force: boolean): void;
  demo(): Promise<void>;
  openCreate(): void;
  /** The selected VM's snapshots, for the snapshot chooser. */
  snapshots?: SnapshotsState;
  restoreSnapshot?(name: string, tag: string): void;
  removeSnapshot?(name: string, tag: string): void;
  /** After the bulk confirmation: the action on each named VM. */
  runBulk?(action: TableAction, names: string[]): void;
  /** After the name dialog. */
  cloneOrRename?(op: 'clone' | 'rename', name: string, to: string): void;
}

const BULK_VERBS: Record<string, string> = { 'pause-toggle': 'pause / resume', kill: 'force stop' };

/** The open dialog, if any: it has the keys while it is up. */
export function Overlays(p: OverlaysProps): ReactNode {
  const d = p.dialog;
  if (!d) return null;
  switch (d.type) {
    case 'help':
      return <HelpOverlay escapeLabel={p.escapeLabel} screen={p.screen} isActive onClose={p.close} />;
    case 'create':
      return <VmForm vm={null} screen={p.screen} isActive onSubmit={p.create} onCancel={p.close} images={p.images} arch={p.arch} draft={d.draft ?? null} hosts={p.hosts} />;
    case 'edit': {
      const vm = p.vms.get(d.name);
      if (!vm) return null;
      return <VmForm vm={vm} screen={p.screen} isActive onSubmit={(v) => p.edit(vm, v)} onCancel={p.close} />;
    }
    case 'confirm-kill':
      return (
        <ConfirmDialog
          title={`Force stop ${d.name}?`}
          message={`${d.name} is switched off at once, like pulling the plug: the guest gets no chance to shut down, and unsaved data in it is lost.`}
          verb="force stop"
          screen={p.screen}
          isActive
          onConfirm={() => {
            p.close();
            p.kill(d.name);
          }}
          onCancel={p.close}
        />
      );
    case 'confirm-delete':
      return (
        <ConfirmDialog
          title={`Delete ${d.name}?`}
          message={
            d.force
              ? `${d.name} is running: it is forced off first. Then its definition and the disks bento created for it are deleted. This cannot be undone.`
              : `The definition of ${d.name} and the disks bento created for it are deleted. Disks you attached from elsewhere are kept. This cannot be undone.`
          }
          verb="delete"
          screen={p.screen}
          isActive
          onConfirm={() => {
            p.close();
            p.remove(d.name, d.force);
          }}
          onCancel={p.close}
        />
      );
    case 'confirm-bulk': {
      const verb = BULK_VERBS[d.action] ?? d.action;
      const skipped = d.skipped.length ? ` Skipped: ${d.skipped.map((s) => `${s.name} (${s.why})`).join('; ')}.` : '';
      const warn = d.action === 'kill' ? ' They are switched off at once; unsaved data in them is lost.' : d.action === 'delete' ? ' Their definitions and the disks bento made are deleted; this cannot be undone.' : '';
      return (
        <ConfirmDialog
          title={`${verb} ${d.names.length} VM${d.names.length === 1 ? '' : 's'}?`}
          message={`${verb}: ${d.names.join(', ')}.${warn}${skipped}`}
          verb={verb}
          screen={p.screen}
          isActive
          onConfirm={() => {
            p.close();
            p.runBulk?.(d.action as TableAction, d.names);
          }}
          onCancel={p.close}
        />
      );
    }
    case 'name':
      return (
        <NameDialog
          title={d.op === 'clone' ? `Clone ${d.name}` : `Rename ${d.name}`}
          message={
            d.op === 'clone'
              ? `A new stopped VM with copies of ${d.name}'s disks (no snapshots), a new MAC and, for a cloud-init VM, a new identity.`
              : `${d.name}'s folder moves to the new name; the guest keeps its hostname.`
          }
          initial={d.initial}
          screen={p.screen}
          isActive
          onSubmit={(to) => {
            p.close();
            p.cloneOrRename?.(d.op, d.name, to);
          }}
          onCancel={p.close}
        />
      );
    case 'demo':
      return <DemoOffer guestDir={p.guestDir} screen={p.screen} isActive onAccept={p.demo} onNew={p.openCreate} onDecline={p.close} />;
    case 'snapshots':
      return (
        <SnapshotChooser
          name={d.name}
          snapshots={p.snapshots ?? { name: d.name, list: null, error: null }}
          screen={p.screen}
          isActive
          onRestore={(tag) => {
            p.close();
            p.restoreSnapshot?.(d.name, tag);
          }}
          onRemove={(tag) => p.removeSnapshot?.(d.name, tag)}
          onClose={p.close}
        />
      );
  }
}
