/**
 * `bento ls` over 3 libvirt hosts × 50 domains + local, against `virsh list --all` on each libvirt
 * host in turn (the sum), measured alternately in the same run.
 *
 *   npm run build && npx tsx bench/hosts.ts        (root: private libvirtd instances, test/helpers/libvirtd.ts)
 *
 * Hosts: lab1 is a private libvirtd reached through its Unix socket; lab2 and lab3 listen on qemu+tcp
 * in one network namespace. bentod runs in that namespace (started by the first `bento` command run
 * there); `bento ls` itself runs here, since it reaches bentod over its Unix socket. virsh reaches the
 * tcp hosts through `nsenter --net=…`, whose own cost is measured and printed too. The domains are
 * defined from a minimal XML and never started; local has LOCAL_VMS stopped VMs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createNetns, minimalDomainXml, startLibvirtd, stopAllLibvirtd, type Libvirtd } from '../test/helpers/libvirtd.js';
import { interleave, median, ms, removeHome, timeCommand } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const DOMAINS = Number(process.env.DOMAINS ?? 50);
const LOCAL_VMS = Number(process.env.LOCAL_VMS ?? 10);
const RUNS = Number(process.env.RUNS ?? 20);
const home = fs.mkdtempSync('/tmp/bench-hosts-');
const env = { ...process.env, BENTO_HOME: home };
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/** Defines `n` never-started domains on a host with one virsh run. */
async function defineMany(inst: Libvirtd, n: number): Promise<void> {
  const cmds: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(inst.dir, `d${i}.xml`);
    fs.writeFileSync(f, minimalDomainXml(`${inst.name}-d${String(i).padStart(2, '0')}`));
    cmds.push(`define ${f}`);
  }
  const r = await inst.virsh([cmds.join(' ; ')], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`defining ${n} domains on ${inst.name} failed: ${r.stderr}`);
}

const netns = createNetns();
try {
  const hosts = [
    await startLibvirtd({ kind: 'socket', name: 'lab1' }),
    await startLibvirtd({ kind: 'tcp', name: 'lab2', netns }),
    await startLibvirtd({ kind: 'tcp', name: 'lab3', netns }),
  ];
  await Promise.all(hosts.map((h) => defineMany(h, DOMAINS)));
  const inNs = (args: string[]): string => execFileSync(netns.exec[0]!, [...netns.exec.slice(1), 'node', bento, ...args], { env, encoding: 'utf8' });
  inNs(['ls']); // starts bentod inside the namespace
  for (const h of hosts) inNs(['host', 'add', h.name, h.uri]);
  for (let i = 0; i < LOCAL_VMS; i++) execFileSync('node', [bento, 'create', `vm${i}`, '--disk-size', '16M', '--network', 'none'], { env, stdio: 'ignore' });
  const want = hosts.length * DOMAINS + LOCAL_VMS;
  const deadline = Date.now() + 120_000;
  let rows = 0;
  for (;;) {
    const out = execFileSync('node', [bento, 'ls', '--json'], { env, encoding: 'utf8' });
    rows = (JSON.parse(out) as unknown[]).length;
    if (rows >= want) break;
    if (Date.now() > deadline) throw new Error(`bento ls shows ${rows} VMs, not ${want}, after 120 s`);
    await sleep(250);
  }
  for (let i = 0; i < 3; i++) timeCommand('node', [bento, 'ls'], env); // warm the page cache

  const virshOne = (h: Libvirtd): number => {
    const argv = h.virshArgv(['list', '--all']);
    return timeCommand(argv[0]!, argv.slice(1));
  };
  const virshAll = (): number => hosts.reduce((sum, h) => sum + virshOne(h), 0);
  const r = interleave(RUNS, virshAll, () => timeCommand('node', [bento, 'ls'], env));
  const perHost = hosts.map((h) => median(Array.from({ length: 7 }, () => virshOne(h))));
  const nsenter = median(Array.from({ length: 15 }, () => timeCommand(netns.exec[0]!, [...netns.exec.slice(1), 'true'])));
  const nodeBase = median(Array.from({ length: 15 }, () => timeCommand('node', ['-e', '0'])));
  const v = median(r.a);
  const b = median(r.b);
  console.log(`bench hosts: ${hosts.length} libvirt hosts x ${DOMAINS} domains (defined from a minimal XML, never started) + ${LOCAL_VMS} local VMs (stopped); ${rows} rows; ${RUNS} runs each, alternating`);
  console.log(`  virsh list --all, each host in turn   median ${ms(v)}   (${hosts.map((h, i) => `${h.name} ${h.kind} ${ms(perHost[i]!)}`).join(', ')})`);
  console.log(`  bento ls (all hosts, through bentod)  median ${ms(b)}`);
  console.log(`  ratio bento ls / virsh sum            ${(b / v).toFixed(2)}x`);
  console.log(`  for reference: node -e 0 ${ms(nodeBase)}; nsenter --net=… true ${ms(nsenter)} (in each tcp host's virsh figure)`);
} finally {
  removeHome(home);
  await stopAllLibvirtd();
  netns.remove();
}
process.exit(0);
