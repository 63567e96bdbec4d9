// `bento snapshot NAME [TAG]`, `snapshot ls|restore|rm`, `snapshot take`: snapshots through bentod.
import type { Command } from 'commander';
import type { BentoClient } from '../api/client.js';
import type { Snapshot } from '../vm/types.js';
import { columns } from './format.js';
import { formatAge, formatBytes } from './image-format.js';

/** What the snapshot commands need from the CLI around them. */
export interface SnapshotCommandDeps {
  client: () => Promise<BentoClient>;
  print: (text: string) => void;
}

/** Words after `bento snapshot` that are subcommands, not VM names (`bento snapshot take NAME` reaches a VM named so). */
export const SNAPSHOT_SUBCOMMANDS = ['ls', 'restore', 'rm', 'take'] as const;

/** The `bento snapshot ls` table: TAG WHEN RAM STATE SIZE (the saved RAM's size), newest first. */
export function formatSnapshotTable(list: Snapshot[], now = Date.now()): string {
  const rows = [['TAG', 'WHEN', 'RAM', 'STATE', 'SIZE']];
  for (const s of list) {
    rows.push([s.tag, formatAge(s.createdAt, now), s.withRam ? 'yes' : 'no', s.complete ? s.state : `${s.state} (incomplete: bento snapshot rm)`, s.withRam ? formatBytes(s.vmStateBytes) : '-']);
  }
  return columns(rows);
}

/** Adds the snapshot commands to the program. */
export function addSnapshotCommands(program: Command, deps: SnapshotCommandDeps): void {
  const take = async (name: string, tag: string | undefined, o: { json?: boolean }): Promise<void> => {
    const started = Date.now();
    const snap = await (await deps.client()).snapshot(name, tag);
    if (o.json) deps.print(JSON.stringify(snap, null, 2));
    else deps.print(`${name}: snapshot ${snap.tag} (${snap.withRam ? `disks and RAM, ${snap.state}` : 'disks'}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  const snapshot = program
    .command('snapshot')
    .description(
      'take a snapshot of a VM (disks and RAM while it runs, disks when stopped); TAG defaults to snap-YYYYMMDD-HHMMSS.\n' +
        `A VM named ${SNAPSHOT_SUBCOMMANDS.join(', ')}: bento snapshot take NAME [TAG]`,
    )
    .argument('<name>', 'the VM')
    .argument('[tag]', 'the snapshot\'s tag')
    // No options here: commander would take them from the subcommands' argv (ls --json); `take --json` has it.
    .action((name: string, tag: string | undefined) => take(name, tag, {}));
  snapshot
    .command('take <name> [tag]')
    .description('take a snapshot (the same as bento snapshot NAME [TAG])')
    .option('--json', 'print the snapshot as JSON')
    .action((name: string, tag: string | undefined, o: { json?: boolean }) => take(name, tag, o));
  snapshot
    .command('ls <name>')
    .description("list a VM's snapshots: TAG WHEN RAM STATE SIZE")
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, o: { json?: boolean }) => {
      const list = await (await deps.client()).snapshots(name);
      if (o.json) deps.print(JSON.stringify(list, null, 2));
      else deps.print(list.length ? formatSnapshotTable(list) : `${name} has no snapshots`);
    });
  snapshot
    .command('restore <name> <tag>')
    .description('return a VM to a snapshot (one with RAM comes back running or paused as it was; a stopped VM is started into it)')
    .action(async (name: string, tag: string) => {
      const started = Date.now();
      const vm = await (await deps.client()).restoreSnapshot(name, tag);
      deps.print(`${vm.name}: restored ${tag}, ${vm.state} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });
  snapshot
    .command('rm <name> <tag>')
    .description('remove a snapshot')
    .action(async (name: string, tag: string) => {
      await (await deps.client()).removeSnapshot(name, tag);
      deps.print(`${name}: removed snapshot ${tag}`);
    });
}
