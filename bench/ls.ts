// `bento ls` with bentod running, against `node -e 0` on the same machine (goal: at most 2x).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { interleave, median, ms, timeCommand, removeHome } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const home = fs.mkdtempSync('/tmp/bench-ls-');
const env = { ...process.env, BENTO_HOME: home };
try {
  execFileSync('node', [bento, 'ls'], { env }); // starts bentod
  for (let i = 0; i < 20; i++) execFileSync('node', [bento, 'create', `vm${i}`, '--disk-size', '16M'], { env, stdio: 'ignore' });
  for (let i = 0; i < 3; i++) timeCommand('node', [bento, 'ls'], env); // warm the page cache
  const n = 30;
  const r = interleave(n, () => timeCommand('node', ['-e', '0']), () => timeCommand('node', [bento, 'ls'], env));
  const base = median(r.a);
  const ls = median(r.b);
  console.log(`bench ls: ${n} runs each, 20 VMs defined, bentod running`);
  console.log(`  node -e 0       median ${ms(base)}`);
  console.log(`  bento ls        median ${ms(ls)}`);
  console.log(`  ratio           ${(ls / base).toFixed(2)}x   (goal: at most 2x)`);
} finally {
  removeHome(home);
}
