// Recovery after bentod dies: the time from kill -9 of bentod to a full `bento ls` (which starts a
// new bentod that re-adopts every running VM: the lock probe, the proven pid, a QMP connection and
// query-status each), with 1, 10 and 50 running VMs. Baseline in the same run: `bento ls` against
// the warm bentod that then serves. The VMs are idle firmware (an empty disk, nothing to boot), so
// the figures measure bento, not 50 guests booting on two cores.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { median, ms, removeHome, timeCommand } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const COUNTS = (process.env.COUNTS ?? '1,10,50').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

for (const count of COUNTS) {
  const home = fs.mkdtempSync('/tmp/bench-flt-');
  const env = { ...process.env, BENTO_HOME: home };
  const run = (args: string[]): string => execFileSync('node', [bento, ...args], { env, encoding: 'utf8' });
  try {
    for (let i = 0; i < count; i++) run(['create', `v${i}`, '--disk-size', '16M', '--memory', '64M', '--cpus', '1', '--accel', 'tcg']);
    for (let i = 0; i < count; i++) run(['start', `v${i}`]);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const pid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      while (fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) await new Promise((res) => setTimeout(res, 5));
      cold.push(timeCommand('node', [bento, 'ls'], env));
      const listed = (JSON.parse(run(['ls', '--json'])) as { state: string }[]).filter((v) => v.state === 'running').length;
      if (listed !== count) throw new Error(`after the restart ${listed} of ${count} VMs were running`);
      warm.push(timeCommand('node', [bento, 'ls'], env));
    }
    const c = median(cold);
    const w = median(warm);
    console.log(`bench faults: ${String(count).padStart(2)} running VMs  kill -9 bentod -> full bento ls  p50 ${ms(c)}   warm bento ls p50 ${ms(w)}   ratio ${(c / w).toFixed(2)}   (aim: under 500 ms)`);
  } finally {
    try {
      run(['ls']);
      for (let i = 0; i < count; i++) run(['stop', `v${i}`, '--force']);
    } catch {
      // best effort; removeHome kills what is left
    }
    removeHome(home);
  }
}
