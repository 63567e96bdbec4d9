/**
 * What the table's keys do, over the view, the store and the API: built by the screen each render
 * from what it holds, kept out of the component so it reads as one list of commands.
 */
import type { Dispatch } from 'react';
import { errorMessage } from '../vm/errors.js';
import type { Vm } from '../vm/types.js';
import type { HandOverTool } from './hand-over.js';
import type { TableAction, TableCommands } from './key-table.js';
import type { SnapshotActions } from './hooks/use-snapshot-actions.js';
import type { VmActions } from './hooks/use-vm-actions.js';
import type { ViewAction, ViewState } from './view-state.js';
import { nextHostFilter } from './host-view.js';
import { pauseAction, refusal, type VmAction } from './vm-actions.js';
import type { VmStore } from './vm-store.js';

/** The actions that apply to every marked VM. */
export const MARKABLE: ReadonlySet<TableAction> = new Set(['start', 'stop', 'kill', 'pause-toggle', 'restart', 'suspend', 'delete']);
/** The actions that ask before they act, even on one VM. */
const ASKS: ReadonlySet<TableAction> = new Set(['kill', 'delete']);

/** The VM action a table action stands for on this VM (p pauses or resumes). */
export function vmAction(a: TableAction, vm: Vm): VmAction {
  return a === 'pause-toggle' ? pauseAction(vm) : a;
}

/** Which of `vms` an action goes to, and which it skips with the reason. */
export function bulkPlan(a: TableAction, vms: readonly Vm[]): { go: Vm[]; skipped: { name: string; why: string }[] } {
  const go: Vm[] = [];
  const skipped: { name: string; why: string }[] = [];
  for (const vm of vms) {
    const why = refusal(vmAction(a, vm), vm);
    if (why) skipped.push({ name: vm.name, why });
    else go.push(vm);
  }
  return { go, skipped };
}

/** A free name for a clone: `web-2`, `web-3`, … (a trailing -N counts on from N). */
export function cloneName(name: string, taken: ReadonlySet<string> | ReadonlyMap<string, unknown>): string {
  const m = /^(.*)-(\d+)$/.exec(name);
  const base = m ? m[1]! : name;
  for (let i = m ? Number(m[2]) + 1 : 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** What the table commands are built from. */
export interface TableContext {
  view: ViewState;
  dispatch: Dispatch<ViewAction>;
  store: VmStore;
  /** The rows as shown. */
  list: readonly Vm[];
  /** Every host known (local first), for the host filter. */
  hosts: readonly string[];
  /** The VM under the cursor (keys read together move it before a render). */
  cur(): Vm | null;
  select(index: number): void;
  cursor(): number;
  page: number;
  actions: VmActions;
  snapshots: SnapshotActions;
  connLost: boolean;
  onHandOver?: (tool: HandOverTool, name: string) => void;
  startDaemon?: () => Promise<unknown>;
  openCreate(): void;
  quit(): void;
}

/** The table's commands. */
export function tableCommands(x: TableContext): TableCommands {
  const { view, dispatch, list } = x;
  const say = (text: string, kind: 'info' | 'error' = 'info'): void => dispatch({ type: 'status', text, kind });

  /** One action on one VM, without asking (the confirmation, if any, was given). */
  const runNow = (a: TableAction, vm: Vm): void => {
    if (a === 'kill') return x.actions.kill(vm.name);
    if (a === 'delete') {
      if (view.console?.name === vm.name) dispatch({ type: 'console-close' });
      return x.actions.remove(vm.name, vm.state !== 'stopped');
    }
    x.actions.act(vmAction(a, vm) as Parameters<VmActions['act']>[0], vm);
  };

  const one = (a: TableAction, vm: Vm): void => {
    const why = refusal(vmAction(a, vm), vm);
    if (why) return say(why, 'error');
    switch (a) {
      case 'attach':
      case 'ssh':
        if (!x.onHandOver) return say(`${a} needs a terminal`, 'error');
        return x.onHandOver(a === 'ssh' ? 'ssh' : 'console', vm.name);
      case 'snapshot':
        return x.snapshots.take(vm);
      case 'snapshots':
        return dispatch({ type: 'dialog', dialog: { type: 'snapshots', name: vm.name } });
      case 'edit':
        return dispatch({ type: 'dialog', dialog: { type: 'edit', name: vm.name } });
      case 'clone':
        return dispatch({ type: 'dialog', dialog: { type: 'name', op: 'clone', name: vm.name, initial: cloneName(vm.name, x.store.getState().vms) } });
      case 'rename':
        return dispatch({ type: 'dialog', dialog: { type: 'name', op: 'rename', name: vm.name, initial: vm.name } });
      case 'kill':
        return dispatch({ type: 'dialog', dialog: { type: 'confirm-kill', name: vm.name } });
      case 'delete':
        return dispatch({ type: 'dialog', dialog: { type: 'confirm-delete', name: vm.name, force: vm.state !== 'stopped' } });
      default:
        return runNow(a, vm);
    }
  };

  const act = (a: TableAction): void => {
    const vms = x.store.getState().vms;
    const marked = view.marks.map((n) => vms.get(n)).filter((v): v is Vm => v !== undefined);
    if (!marked.length || !MARKABLE.has(a)) {
      const vm = x.cur();
      return vm ? one(a, vm) : say('no VM selected', 'error');
    }
    const { go, skipped } = bulkPlan(a, marked);
    if (!go.length) return say(skipped.map((s) => s.why).join('; '), 'error');
    if (go.length === 1 && !ASKS.has(a)) {
      if (skipped.length) say(`skipped ${skipped.map((s) => `${s.name} (${s.why})`).join(', ')}`);
      dispatch({ type: 'marks-set', names: [] });
      return runNow(a, go[0]!);
    }
    dispatch({ type: 'dialog', dialog: { type: 'confirm-bulk', action: a, names: go.map((v) => v.name), skipped } });
  };

  return {
    move: (d) => x.select(x.cursor() + d),
    jump: (to) => x.select(to < 0 ? 0 : list.length - 1),
    page: (dir) => x.select(x.cursor() + dir * x.page),
    sort: (key) => dispatch({ type: 'sort', key }),
    startFilter: () => dispatch({ type: 'filter-start' }),
    cycleHost: () => {
      if (x.hosts.length < 2) return say("every VM here is this machine's: bento host add NAME URI adds a libvirt host");
      const host = nextHostFilter(x.hosts, view.host);
      dispatch({ type: 'host-filter', host });
      say(host === null ? 'showing the VMs of every host' : `showing the VMs of ${host} only (H: the next host)`);
    },
    escape: () => {
      if (view.marks.length) return dispatch({ type: 'marks-set', names: [] });
      if (view.filter) return dispatch({ type: 'filter-clear' });
      if (view.host !== null) dispatch({ type: 'host-filter', host: null });
    },
    act,
    toggleMark: () => {
      const vm = x.cur();
      if (!vm) return say('no VM selected', 'error');
      dispatch({ type: 'mark-toggle', name: vm.name });
      // As in file managers: the cursor moves on, so Space Space marks two rows.
      x.select(x.cursor() + 1);
    },
    create: x.openCreate,
    openConsole: () => {
      const vm = x.cur();
      if (!vm) return say('no VM selected', 'error');
      // The one table's rule (a VM whose host is unreachable has no console to open).
      const why = refusal('console', vm);
      if (why) return say(why, 'error');
      const running = vm.state !== 'stopped' && vm.state !== 'error';
      dispatch({ type: 'console-open', name: vm.name, focus: running });
      if (!running) say(`${vm.name} is ${vm.state}: s starts it, and its console appears here`);
    },
    focusConsole: () => (view.console ? dispatch({ type: 'focus', focus: 'console' }) : say('no console pane is open (Enter opens one)')),
    toggleFull: () => {
      if (!view.console) return say('no console pane is open (Enter opens one)');
      dispatch({ type: 'console-full', full: !view.console.full });
      if (!view.console.full) dispatch({ type: 'focus', focus: 'console' });
    },
    closeConsole: () => view.console && dispatch({ type: 'console-close' }),
    openLog: () => {
      const vm = x.cur();
      return vm ? dispatch({ type: 'log-open', name: vm.name }) : say('no VM selected', 'error');
    },
    help: () => dispatch({ type: 'dialog', dialog: { type: 'help' } }),
    command: () => dispatch({ type: 'command-start' }),
    reconnect: () => {
      if (!x.connLost) return say('bentod is connected');
      say('starting bentod…');
      (x.startDaemon?.() ?? Promise.resolve()).then(
        () => x.store.reconnectNow(),
        (err: unknown) => say(errorMessage(err), 'error'),
      );
    },
    quit: x.quit,
  };
}

/** After the bulk confirmation: the action on each VM that still fits (the state may have moved on meanwhile). */
export function runBulk(x: Pick<TableContext, 'store' | 'dispatch' | 'actions' | 'view'>, a: TableAction, names: readonly string[]): void {
  const vms = names.map((n) => x.store.getState().vms.get(n)).filter((v): v is Vm => v !== undefined);
  const { go, skipped } = bulkPlan(a, vms);
  x.dispatch({ type: 'marks-set', names: [] });
  for (const vm of go) {
    if (a === 'kill') x.actions.kill(vm.name);
    else if (a === 'delete') {
      if (x.view.console?.name === vm.name) x.dispatch({ type: 'console-close' });
      x.actions.remove(vm.name, vm.state !== 'stopped');
    } else x.actions.act(vmAction(a, vm) as Parameters<VmActions['act']>[0], vm);
  }
  const verb = a === 'pause-toggle' ? 'pause/resume' : a;
  const skip = skipped.length ? `; skipped ${skipped.map((s) => `${s.name} (${s.why})`).join(', ')}` : '';
  x.dispatch({ type: 'status', text: `${verb}: ${go.map((v) => v.name).join(', ')}${skip}`, kind: 'info' });
}
