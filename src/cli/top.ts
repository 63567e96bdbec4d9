// `bento top`: the live figures of every VM as a plain-ANSI table, redrawn in place (no Ink: it stays light).
import { InvalidArgumentError, type Command } from 'commander';
import type { BentoClient } from '../api/client.js';
import { BentoError } from '../vm/errors.js';
import type { StatsEvent, Vm, VmSample, VmStatsNotes } from '../vm/types.js';
import { cpuSparkline, formatBytes, formatCpu, formatGuestMem, formatRate } from '../ui/stats-format.js';
import { columns } from './format.js';

/** Cells of the CPU sparkline (ten seconds a cell would be coarse; one a second, the last ten). */
export const TOP_SPARK_WIDTH = 10;
/** Samples kept per VM by `top` itself (the last minute). */
const KEEP = 60;

/** What `top` draws for one VM. */
export interface TopRow {
  vm: Pick<Vm, 'name' | 'state'>;
  history: VmSample[];
}

/** What the top command needs from the CLI around it. */
export interface TopCommandDeps {
  client: () => Promise<BentoClient>;
  print: (text: string) => void;
}

/** The figures' notes, each distinct line once: `NET n/a: QEMU user networking keeps no counters (a, b)`. */
export function formatNotes(notes: Record<string, VmStatsNotes>): string[] {
  const byLine = new Map<string, string[]>();
  for (const [name, n] of Object.entries(notes)) {
    for (const [key, text] of Object.entries(n)) {
      if (!text) continue;
      const line = `${key === 'guestMem' ? 'GUEST-MEM' : key.toUpperCase()}: ${text}`;
      byLine.set(line, [...(byLine.get(line) ?? []), name]);
    }
  }
  return [...byLine.keys()].sort();
}

/** The `bento top` table: NAME STATE CPU% (value and a sparkline of the last samples) MEM GUEST-MEM DISK-R/W NET-RX/TX. */
export function formatTop(rows: TopRow[], sparkWidth = TOP_SPARK_WIDTH): string {
  const out = [['NAME', 'STATE', 'CPU%', '', 'MEM', 'GUEST-MEM', 'DISK-R/W', 'NET-RX/TX']];
  for (const { vm, history } of rows) {
    const last = history.at(-1);
    if (!last) {
      out.push([vm.name, vm.state, '-', '', '-', '-', '-', '-']);
      continue;
    }
    out.push([
      vm.name,
      vm.state,
      formatCpu(last.cpuPercent),
      cpuSparkline(history, sparkWidth),
      formatBytes(last.rssBytes),
      formatGuestMem(last),
      `${formatRate(last.diskReadBps)}/${formatRate(last.diskWriteBps)}`,
      `${formatRate(last.netRxBps)}/${formatRate(last.netTxBps)}`,
    ]);
  }
  return columns(out);
}

/** Parses --interval: seconds between redraws, 0.2 to 3600. */
export function parseInterval(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 0.2 || n > 3600) throw new InvalidArgumentError('interval must be a number of seconds from 0.2 to 3600');
  return Math.round(n * 1000);
}

/** One table from a one-shot GET /api/stats (fresh figures even with nobody subscribed). */
async function printOnce(c: BentoClient, print: (t: string) => void): Promise<void> {
  const [vms, report] = await Promise.all([c.list(), c.stats()]);
  const rows = vms.map((vm) => ({ vm, history: report.vms[vm.name]?.history ?? [] }));
  const notes = Object.fromEntries(Object.entries(report.vms).map(([n, s]) => [n, s.notes]));
  print([formatTop(rows), ...formatNotes(notes)].join('\n'));
}

/** Redraws the table in place on the alternate screen until q, Ctrl-C or bentod going away; restores the terminal on every way out. */
async function live(c: BentoClient, intervalMs: number): Promise<void> {
  const out = process.stdout;
  const vms = new Map<string, Vm>();
  const history = new Map<string, VmSample[]>();
  const notes: Record<string, VmStatsNotes> = {};
  const draw = (): void => {
    const rows = [...vms.values()].map((vm) => ({ vm, history: history.get(vm.name) ?? [] }));
    const lines = [`bento top  ${new Date().toLocaleTimeString()}  (q quits)`, '', ...formatTop(rows).split('\n'), '', ...formatNotes(notes)];
    const height = out.rows || 24;
    const width = out.columns || 80;
    const shown = lines.slice(0, height - 1).map((l) => (l.length > width ? l.slice(0, width) : l));
    out.write(`\x1b[H${shown.map((l) => `${l}\x1b[K`).join('\n')}\x1b[J`);
  };
  const onStats = (ev: StatsEvent): void => {
    for (const [name, s] of Object.entries(ev.vms)) {
      const h = history.get(name) ?? [];
      h.push(s);
      if (h.length > KEEP) h.shift();
      history.set(name, h);
    }
    // A VM that stopped has no figures any more.
    for (const name of history.keys()) if (!(name in ev.vms) && vms.get(name)?.state === 'stopped') history.delete(name);
    Object.assign(notes, ev.notes ?? {});
  };
  // Start from the last minute bentod already has, so the sparkline is not empty at first.
  const [list, report] = await Promise.all([c.list(), c.stats()]);
  for (const vm of list) vms.set(vm.name, vm);
  for (const [name, s] of Object.entries(report.vms)) {
    history.set(name, s.history.slice(-KEEP));
    notes[name] = s.notes;
  }
  await new Promise<void>((resolve, reject) => {
    let closeEvents: (() => void) | null = null;
    const timer = setInterval(draw, intervalMs);
    const stdin = process.stdin;
    const finish = (err: Error | null): void => {
      clearInterval(timer);
      closeEvents?.();
      stdin.off('data', onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      out.write('\x1b[?25h\x1b[?1049l');
      if (err) reject(err);
      else resolve();
    };
    const onSignal = (): void => finish(null);
    const onKey = (b: Buffer): void => {
      // q, Q, Ctrl-C, Esc alone
      if (b.length === 1 && [0x71, 0x51, 0x03, 0x1b].includes(b[0]!)) finish(null);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    out.write('\x1b[?1049h\x1b[?25l');
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    draw();
    c.events(
      {
        onEvent: (ev) => {
          const vm = vms.get(ev.name);
          if (vm) vms.set(ev.name, { ...vm, state: ev.state });
        },
        onSnapshot: (list) => {
          vms.clear();
          for (const vm of list) vms.set(vm.name, vm);
        },
        onChange: (ev) => {
          if (ev.kind === 'deleted') {
            vms.delete(ev.name);
            history.delete(ev.name);
          } else vms.set(ev.name, ev.vm);
        },
        onResync: () => void c.list().then((l) => l.forEach((vm) => vms.set(vm.name, vm))),
        onStats,
        onEnd: (err) => finish(err ?? new BentoError('daemon-unavailable', 'bentod closed the event stream')),
      },
      { snapshot: true, stats: true },
    ).then(
      (close) => (closeEvents = close),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

/** Adds `bento top [--once] [--interval S]`. */
export function addTopCommand(program: Command, deps: TopCommandDeps): void {
  program
    .command('top')
    .description('live CPU, memory, disk and network figures of every VM, redrawn in place (q quits)')
    .option('--once', 'print one table and exit (also what happens when stdout is not a terminal)')
    .option('--interval <seconds>', 'seconds between redraws (default 1)', parseInterval)
    .action(async (o: { once?: boolean; interval?: number }) => {
      const c = await deps.client();
      if (o.once || !process.stdout.isTTY) await printOnce(c, deps.print);
      else await live(c, o.interval ?? 1000);
    });
}
