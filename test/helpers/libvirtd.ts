/**
 * Private libvirtd instances for tests and benches: real libvirt "hosts" on this machine that never
 * touch the system's libvirt.
 *
 * Each instance runs in its own mount namespace (`unshare -m --propagation private`) held open by a
 * `sleep` "holder" process. Inside it, fresh temp folders are bind-mounted over /etc/libvirt (a copy
 * of the system's defaults: no network autostarts, qemu.conf with `cgroup_controllers = [ ]`,
 * `user`/`group` root, no security driver, no per-domain /dev namespace), /run/libvirt, /var/lib/libvirt,
 * /var/log/libvirt and /var/cache/libvirt. `virtlogd -d` and `libvirtd -d` are started inside it with
 * `nsenter`, their pid files in the private /run/libvirt. Since the bind sources are ordinary folders
 * under /tmp, everything the daemons write is visible from the test's own mount namespace too, which
 * is how the Unix socket is reached: `qemu:///system?socket=DIR/run/libvirt-sock` works from any mount
 * or network namespace.
 *
 * Kinds:
 *   socket  reached as `qemu:///system?socket=…` from anywhere.
 *   tcp     in a network namespace (`ip netns add bento-t-…`, lo up), libvirtd `--listen` with
 *           listen_tcp=1, listen_tls=0, auth_tcp="none" on that namespace's 127.0.0.1:PORT, reached as
 *           `qemu+tcp://127.0.0.1:PORT/system` from INSIDE the namespace only. Run the bento processes
 *           that must reach it (bentod, and so the CLI that auto-starts it) with `netnsExec` in front
 *           (`nsenter --net=/run/netns/NAME --`). bentod there reaches socket instances too (Unix
 *           sockets do not care about network namespaces) and local VMs work (no NIC or user net), so
 *           ONE bentod in the namespace sees local + socket hosts + tcp hosts. Several tcp instances
 *           can share one namespace (`netns` option), each on its own port.
 *
 * The first connection to a fresh libvirtd waits while it probes qemu (~8-12 s here). startLibvirtd
 * waits for `virsh version` to answer and asks for the capabilities once, so a test's first call is
 * fast. The probe results (libvirt's own capabilities cache, which libvirt re-validates against the
 * qemu binaries, the libvirt build and the kernel) are kept in ~/.cache/bento/libvirt-caps and copied
 * into each new instance, which cuts the later instances' start to well under a second.
 *
 * Clean-up: stop() kills every process of the instance (libvirtd, virtlogd, qemu, the holder: found
 * by their mount namespace and pid files), then removes the network namespace it created and its temp
 * folder. stopAllLibvirtd() stops everything this process started (use it in afterAll); a process exit
 * does the same synchronously, and startLibvirtd sweeps instances left by a dead test process.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { guest } from './bento.js';

export type LibvirtdKind = 'socket' | 'tcp';

export interface VirshResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A network namespace made with `ip netns add` (lo up). */
export interface Netns {
  readonly name: string;
  /** Command prefix that runs a program inside the namespace: `nsenter --net=/run/netns/NAME --`. */
  readonly exec: string[];
  /** Deletes the namespace (`ip netns del`); processes still inside keep it alive until they exit. */
  remove(): void;
}

export interface StartOptions {
  kind: LibvirtdKind;
  /** A label for logs and temp folder names (letters, digits, '-'). */
  name?: string;
  /** tcp only: an existing namespace to listen in (several tcp instances can share one). */
  netns?: Netns;
  /** Copy the shared qemu capabilities cache in (default true). false measures a real first probe. */
  seedCaps?: boolean;
}

export interface Timings {
  /** From running `libvirtd -d` to `virsh version` answering (includes the qemu probe). */
  firstConnectMs: number;
  /** The first `virsh capabilities` after that. */
  capabilitiesMs: number;
  /** Whether a capabilities cache was copied in before the start. */
  seeded: boolean;
}

export interface Libvirtd {
  readonly kind: LibvirtdKind;
  readonly name: string;
  /** The instance's temp folder (etc/ run/ lib/ log/ cache/ are bind-mounted over /…/libvirt inside). */
  readonly dir: string;
  /** The URI bento should use: the socket URI, or qemu+tcp://127.0.0.1:PORT/system (inside netns only). */
  readonly uri: string;
  /** qemu:///system?socket=… for this instance; works from any namespace (also for tcp instances). */
  readonly socketUri: string;
  readonly socketPath: string;
  /** tcp: the port on the namespace's 127.0.0.1. */
  readonly port: number | null;
  readonly netns: Netns | null;
  /** Prefix to run a command where `uri` is reachable ([] for socket instances). */
  readonly netnsExec: string[];
  /** libvirtd's current pid. */
  readonly pid: number;
  readonly timings: Timings;
  /** Signals libvirtd only (default SIGKILL); virtlogd, qemu and the namespace stay. */
  kill(signal?: NodeJS.Signals): void;
  /** Starts libvirtd again in the same namespace with the same state folders; waits until it answers. */
  restart(): Promise<void>;
  /** Kills every process of the instance and removes its namespaces and temp folder. Idempotent. */
  stop(): Promise<void>;
  /** `virsh -c URI ARGS` (through netnsExec for tcp). Never throws on a non-zero exit. */
  virsh(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<VirshResult>;
  /** The argv of `virsh -c URI ARGS` (netnsExec included), to run in a pty for example. */
  virshArgv(args: string[]): string[];
  /** libvirtd's own log (for failure messages). */
  log(): string;
}

const TMP_PREFIX = '/tmp/blv-';
const RECORD = 'instance.json';
const CAPS_CACHE = path.join(os.homedir(), '.cache', 'bento', 'libvirt-caps');
const CONNECT_TIMEOUT_MS = 120_000;
const FIRST_TCP_PORT = 16509;

const live = new Set<Instance>();
const netnsPorts = new Map<string, number>();

interface Record {
  ownerPid: number;
  holderPid: number;
  mntNs: string;
  netns: string | null;
  ownsNetns: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function randomId(): string {
  return Math.random().toString(36).slice(2, 8);
}

function nsOf(pid: number, kind: 'mnt' | 'net'): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Every live process whose mount namespace is `mntNs`. */
function pidsInMntNs(mntNs: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const pid = Number(p);
    if (pid === process.pid) continue;
    if (nsOf(pid, 'mnt') === mntNs && isAlive(pid)) out.push(pid);
  }
  return out;
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function netnsExists(name: string): boolean {
  return fs.existsSync(`/run/netns/${name}`);
}

/** Makes a network namespace with lo up. */
export function createNetns(name = `bento-t-${randomId()}`): Netns {
  execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    name,
    exec: ['nsenter', `--net=/run/netns/${name}`, '--'],
    remove: () => {
      if (!netnsExists(name)) return;
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch {
        // already gone
      }
    },
  };
}

/** Runs `argv` (a full command line); never throws on a non-zero exit. */
async function run(argv: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<VirshResult> {
  const r = await execa(argv[0]!, argv.slice(1), {
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr), code: r.exitCode ?? -1 };
}

const QEMU_CONF = `
# bento test instance
cgroup_controllers = [ ]
user = "root"
group = "root"
security_driver = "none"
namespaces = [ ]
`;

function libvirtdConf(port: number | null): string {
  let s = `
# bento test instance
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
`;
  if (port !== null) {
    s += `listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "${port}"
auth_tcp = "none"
`;
  }
  return s;
}

/** Copies every file of `from` into `to` (flat), through a temp name and a rename. */
function copyFlat(from: string, to: string): number {
  let n = 0;
  let names: string[];
  try {
    names = fs.readdirSync(from);
  } catch {
    return 0;
  }
  fs.mkdirSync(to, { recursive: true });
  for (const f of names) {
    if (!f.endsWith('.xml')) continue;
    const tmp = path.join(to, `.${f}.${process.pid}.tmp`);
    fs.copyFileSync(path.join(from, f), tmp);
    fs.renameSync(tmp, path.join(to, f));
    n++;
  }
  return n;
}

class Instance implements Libvirtd {
  readonly kind: LibvirtdKind;
  readonly name: string;
  readonly dir: string;
  readonly uri: string;
  readonly socketUri: string;
  readonly socketPath: string;
  readonly port: number | null;
  readonly netns: Netns | null;
  readonly netnsExec: string[];
  timings: Timings = { firstConnectMs: 0, capabilitiesMs: 0, seeded: false };
  holderPid = 0;
  mntNs = '';
  private readonly ownsNetns: boolean;
  private stopped = false;

  constructor(kind: LibvirtdKind, name: string, dir: string, netns: Netns | null, ownsNetns: boolean, port: number | null) {
    this.kind = kind;
    this.name = name;
    this.dir = dir;
    this.netns = netns;
    this.ownsNetns = ownsNetns;
    this.port = port;
    this.socketPath = path.join(dir, 'run', 'libvirt-sock');
    this.socketUri = `qemu:///system?socket=${this.socketPath}`;
    this.uri = kind === 'tcp' ? `qemu+tcp://127.0.0.1:${port}/system` : this.socketUri;
    this.netnsExec = netns ? netns.exec : [];
  }

  get pid(): number {
    return readPid(path.join(this.dir, 'run', 'libvirtd.pid')) ?? 0;
  }

  private nsenter(): string[] {
    return ['nsenter', '-t', String(this.holderPid), '-m', ...(this.netns ? ['-n'] : []), '--'];
  }

  virshArgv(args: string[]): string[] {
    return [...this.netnsExec, 'virsh', '-q', '-c', this.uri, ...args];
  }

  virsh(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<VirshResult> {
    return run(this.virshArgv(args), opts);
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'log', 'libvirtd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Makes the folders and the config, then the holder process with the private bind mounts. */
  async setUp(seedCaps: boolean): Promise<void> {
    const d = this.dir;
    for (const sub of ['etc', 'run', 'lib', 'log', 'cache']) fs.mkdirSync(path.join(d, sub), { recursive: true, mode: 0o755 });
    fs.cpSync('/etc/libvirt', path.join(d, 'etc'), { recursive: true });
    // Never libvirt's default NAT network (nor any other): nothing autostarts.
    const autostart = path.join(d, 'etc', 'qemu', 'networks', 'autostart');
    fs.rmSync(autostart, { recursive: true, force: true });
    fs.mkdirSync(autostart, { recursive: true });
    fs.appendFileSync(path.join(d, 'etc', 'qemu.conf'), QEMU_CONF);
    fs.appendFileSync(path.join(d, 'etc', 'libvirtd.conf'), libvirtdConf(this.port));
    if (seedCaps) {
      this.timings.seeded = copyFlat(CAPS_CACHE, path.join(d, 'cache', 'qemu', 'capabilities')) > 0;
    }

    const mounts = [
      ['etc', '/etc/libvirt'],
      ['run', '/run/libvirt'],
      ['lib', '/var/lib/libvirt'],
      ['log', '/var/log/libvirt'],
      ['cache', '/var/cache/libvirt'],
    ];
    // The mount points exist on a machine with libvirt-daemon-system installed; /run/libvirt is made
    // when missing (an empty folder, as the system's libvirtd would make it).
    const script = [
      'set -e',
      ...mounts.map(([src, dst]) => `mkdir -p ${dst} && mount --bind ${path.join(d, src!)} ${dst}`),
      'echo ready',
      'exec sleep infinity </dev/null >/dev/null 2>&1',
    ].join('\n');
    const argv = [...this.netnsExec, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      child.stdout.on('data', () => {
        if (out.includes('ready')) {
          clearTimeout(t);
          resolve(true);
        }
      });
      child.on('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    child.stdout.destroy();
    child.stderr.destroy();
    child.unref();
    if (!ok || !child.pid) throw new Error(`the private mount namespace for libvirtd ${this.name} did not come up: ${out.trim()}`);
    this.holderPid = child.pid;
    this.mntNs = nsOf(child.pid, 'mnt') ?? '';
    if (!this.mntNs || this.mntNs === nsOf(process.pid, 'mnt')) throw new Error(`libvirtd ${this.name}: the holder is not in a private mount namespace`);
    const record: Record = { ownerPid: process.pid, holderPid: this.holderPid, mntNs: this.mntNs, netns: this.netns?.name ?? null, ownsNetns: this.ownsNetns };
    fs.writeFileSync(path.join(d, RECORD), JSON.stringify(record));
  }

  async startDaemons(): Promise<void> {
    if (!isAlive(readPid(path.join(this.dir, 'run', 'virtlogd.pid')) ?? 0)) {
      const r = await run([...this.nsenter(), 'virtlogd', '-d', '-p', '/run/libvirt/virtlogd.pid'], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`virtlogd did not start for ${this.name}: ${r.stderr}`);
    }
    // A socket left by a killed libvirtd is replaced by the new one.
    const t0 = performance.now();
    const r = await run([...this.nsenter(), 'libvirtd', '-d', '-p', '/run/libvirt/libvirtd.pid', ...(this.port !== null ? ['--listen'] : [])], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`libvirtd did not start for ${this.name}: ${r.stderr}\n${this.log()}`);
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    let last: VirshResult | null = null;
    for (;;) {
      last = await this.virsh(['version'], { timeoutMs: CONNECT_TIMEOUT_MS });
      if (last.code === 0) break;
      if (Date.now() > deadline || !isAlive(this.pid)) {
        throw new Error(`libvirtd ${this.name} (${this.uri}) does not answer: ${last.stderr.trim()}\n${this.log().slice(-3000)}`);
      }
      await sleep(50);
    }
    this.timings.firstConnectMs = performance.now() - t0;
  }

  /** One capabilities call, then keeps the probe results for later instances. */
  async warm(): Promise<void> {
    const t0 = performance.now();
    const caps = await this.virsh(['capabilities']);
    this.timings.capabilitiesMs = performance.now() - t0;
    if (caps.code !== 0) throw new Error(`virsh capabilities failed on ${this.name}: ${caps.stderr}`);
    try {
      copyFlat(path.join(this.dir, 'cache', 'qemu', 'capabilities'), CAPS_CACHE);
    } catch {
      // a cache only
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    const pid = this.pid;
    if (pid && nsOf(pid, 'mnt') === this.mntNs) killQuietly(pid, signal);
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`libvirtd ${this.name} was stopped`);
    const old = this.pid;
    if (old && isAlive(old) && nsOf(old, 'mnt') === this.mntNs) {
      killQuietly(old, 'SIGTERM');
      for (let i = 0; i < 100 && isAlive(old); i++) await sleep(50);
      killQuietly(old, 'SIGKILL');
    }
    for (let i = 0; i < 100 && old && isAlive(old); i++) await sleep(50);
    await this.startDaemons();
  }

  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    cleanUp(this.dir, { ownerPid: process.pid, holderPid: this.holderPid, mntNs: this.mntNs, netns: this.netns?.name ?? null, ownsNetns: this.ownsNetns });
  }

  async stop(): Promise<void> {
    this.stopSync();
    await Promise.resolve();
  }
}

/** Pids of an instance: everything in its mount namespace, plus qemu pid files (belt and braces). */
function instancePids(dir: string, rec: Record): number[] {
  const pids = new Set<number>();
  if (rec.mntNs) for (const p of pidsInMntNs(rec.mntNs)) pids.add(p);
  const qemuRun = path.join(dir, 'run', 'qemu');
  try {
    for (const f of fs.readdirSync(qemuRun)) {
      if (!f.endsWith('.pid')) continue;
      const p = readPid(path.join(qemuRun, f));
      if (p && isAlive(p) && comm(p).startsWith('qemu-system')) pids.add(p);
    }
  } catch {
    // no domains ran
  }
  return [...pids];
}

/** Kills an instance's processes (synchronously, waiting up to 5 s), removes its netns and folder. */
function cleanUp(dir: string, rec: Record): void {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = instancePids(dir, rec);
    if (pids.length === 0) break;
    for (const p of pids) killQuietly(p, 'SIGKILL');
    if (Date.now() > deadline) break;
    // A short synchronous wait: this also runs from process.on('exit').
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  if (rec.netns && rec.ownsNetns && netnsExists(rec.netns)) {
    try {
      execFileSync('ip', ['netns', 'del', rec.netns], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      // already gone
    }
  }
  netnsPorts.delete(rec.netns ?? '');
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Cleans instances whose test process died without stopping them. */
function sweepStale(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync('/tmp').filter((e) => `/tmp/${e}`.startsWith(TMP_PREFIX));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = path.join('/tmp', e);
    let rec: Record;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(dir, RECORD), 'utf8')) as Record;
    } catch {
      continue;
    }
    if (rec.ownerPid === process.pid || isAlive(rec.ownerPid)) continue;
    // Only a holder still in the recorded namespace proves the namespace is this instance's.
    if (!isAlive(rec.holderPid) || nsOf(rec.holderPid, 'mnt') !== rec.mntNs) rec.mntNs = '';
    cleanUp(dir, rec);
  }
}

let exitHook = false;

/** Starts a private libvirtd and waits until it answers (and has probed qemu). */
export async function startLibvirtd(opts: StartOptions): Promise<Libvirtd> {
  if (process.getuid?.() !== 0) throw new Error('private libvirtd instances need root (mount and network namespaces)');
  for (const bin of ['libvirtd', 'virtlogd', 'virsh']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
    } catch {
      throw new Error(`${bin} is missing: run scripts/setup.sh (packages libvirt-daemon-system libvirt-clients)`);
    }
  }
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const i of [...live]) i.stopSync();
    });
  }
  sweepStale();
  const name = opts.name ?? opts.kind;
  if (!/^[a-z0-9-]{1,20}$/.test(name)) throw new Error(`libvirtd name must be 1-20 of a-z 0-9 -: ${JSON.stringify(name)}`);
  if (opts.netns && opts.kind !== 'tcp') throw new Error('netns is for tcp instances only');
  const dir = fs.mkdtempSync(`${TMP_PREFIX}${name}-`);
  let netns: Netns | null = null;
  let owns = false;
  let port: number | null = null;
  if (opts.kind === 'tcp') {
    netns = opts.netns ?? createNetns();
    owns = !opts.netns;
    port = netnsPorts.get(netns.name) ?? FIRST_TCP_PORT;
    netnsPorts.set(netns.name, port + 1);
  }
  const inst = new Instance(opts.kind, name, dir, netns, owns, port);
  live.add(inst);
  try {
    await inst.setUp(opts.seedCaps ?? true);
    await inst.startDaemons();
    await inst.warm();
  } catch (err) {
    inst.stopSync();
    throw err;
  }
  return inst;
}

/** Stops every instance this process started (afterAll-safe; idempotent). */
export async function stopAllLibvirtd(): Promise<void> {
  for (const i of [...live]) await i.stop();
}

/** The mount namespace id of an instance (for leak checks in tests). */
export function mountNamespaceOf(inst: Libvirtd): string {
  return (inst as Instance).mntNs;
}

/** Whether any process is left in the mount namespace `mntNs`. */
export function processesInMountNamespace(mntNs: string): number[] {
  return pidsInMntNs(mntNs);
}

/**
 * Domain XML that boots the test guest under TCG: no NIC, serial console on a pty, `console=ttyS0`.
 * The busybox guest powers off on the ACPI button with bento.acpi=poweroff.
 */
export function guestDomainXml(name: string, opts: { memoryMiB?: number; cmdline?: string; uuid?: string } = {}): string {
  const g = guest();
  return `<domain type='qemu'>
  <name>${name}</name>${opts.uuid ? `\n  <uuid>${opts.uuid}</uuid>` : ''}
  <memory unit='MiB'>${opts.memoryMiB ?? 256}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${g.kernel}</kernel>
    <initrd>${g.initrd}</initrd>
    <cmdline>${opts.cmdline ?? 'console=ttyS0 bento.acpi=poweroff'}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** The smallest domain libvirt defines (never started): for listings with many domains. */
export function minimalDomainXml(name: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>\n`;
}

/** Defines a domain from XML on an instance (`virsh define` from a temp file); throws with virsh's message. */
export async function defineDomain(inst: Libvirtd, xml: string): Promise<void> {
  const file = path.join(inst.dir, `define-${randomId()}.xml`);
  fs.writeFileSync(file, xml);
  try {
    const r = await inst.virsh(['define', file]);
    if (r.code !== 0) throw new Error(`virsh define on ${inst.name} failed: ${r.stderr}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}
