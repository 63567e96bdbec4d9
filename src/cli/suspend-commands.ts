// `bento suspend NAME` (and the progress of a save or restore): on a terminal one line redrawn in
// place on stderr while the state is written or read; nothing but the result otherwise.
import type { Command } from 'commander';
import type { BentoClient } from '../api/client.js';
import { vmFiles } from '../vm/paths.js';
import type { Vm, VmProgress } from '../vm/types.js';
import { formatBytes } from './image-format.js';

/** What the command needs from the CLI. */
export interface SuspendCommandDeps {
  client: () => Promise<BentoClient>;
  print: (text: string) => void;
}

/** The one-line view of a long operation: `web: saving 42% (120.0 MiB)`. */
export function progressLine(name: string, state: string, p: VmProgress): string {
  const bytes = p.doneBytes !== null ? formatBytes(p.doneBytes) : null;
  const of = bytes && p.totalBytes !== null ? `${bytes} of ${formatBytes(p.totalBytes)}` : bytes;
  if (p.percent !== null) return `${name}: ${state} ${p.percent}%${of ? ` (${of})` : ''}`;
  return `${name}: ${state}${of ? ` ${of}` : '…'}`;
}

/** The line printed once a VM is saved: where its state went and how big it is. */
export function suspendedLine(vm: Vm, seconds: number): string {
  const size = vm.savedState ? formatBytes(vm.savedState.bytes) : 'unknown size';
  return `${vm.name} suspended to ${vmFiles(vm.dir).savedState} (${size}) in ${seconds.toFixed(1)} s; bento start ${vm.name} resumes it`;
}

/**
 * Runs an operation that shows progress in a VM's row (suspend, restoring start), drawing that progress
 * on stderr while it runs when stderr is a terminal.
 */
export async function withProgress<T>(c: BentoClient, name: string, run: () => Promise<T>): Promise<T> {
  const err = process.stderr;
  if (!err.isTTY) return run();
  let drawn = false;
  const close = await c
    .events({
      onEvent: () => undefined,
      onChange: (ev) => {
        if (ev.kind !== 'changed' || ev.name !== name || !ev.vm.progress) return;
        const width = Math.max(20, (err.columns || 80) - 1);
        err.write(`\r${progressLine(name, ev.vm.state, ev.vm.progress).slice(0, width)}\x1b[K`);
        drawn = true;
      },
    })
    .catch(() => null);
  try {
    return await run();
  } finally {
    close?.();
    if (drawn) err.write('\r\x1b[K');
  }
}

/** Adds `bento suspend` to the program. */
export function addSuspendCommands(program: Command, deps: SuspendCommandDeps): void {
  program
    .command('suspend <name>')
    .description("save a running or paused VM's RAM and device state to disk and stop it; bento start resumes it (--discard boots afresh)")
    .option('--json', 'print the VM as JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const c = await deps.client();
      const t0 = Date.now();
      const vm = await withProgress(c, name, () => c.suspend(name));
      if (o.json) deps.print(JSON.stringify(vm, null, 2));
      else deps.print(suspendedLine(vm, (Date.now() - t0) / 1000));
    });
}
