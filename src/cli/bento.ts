import { Command, InvalidArgumentError, Option } from 'commander';
import { START_TIMEOUT_MS, type BentoClient } from '../api/client.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { bentoHome, socketPath } from '../vm/paths.js';
import type { CreateRequest, Vm } from '../vm/types.js';
import { formatMount } from '../vm/mounts.js';
import { absoluteMountSource } from './mount-arg.js';
import { ensureDaemon } from './ensure-daemon.js';
import { formatPublish, parsePublish, PUBLISH_RULE } from '../vm/net.js';
import { readUserData, runSsh, waitReady } from './guest.js';
import { absoluteRef, pullWithProgress } from './image-commands.js';
import { pulledLine } from './pull-progress.js';
import { formatEvent, formatInspect, formatVmTable } from './format.js';
import { addImageCommands } from './image-commands.js';
import { addHostCommands, listHosts } from './host-commands.js';
import { formatHostEvent, pickHost, showsHosts } from './host-format.js';
import { LOCAL_HOST, splitVmName } from '../vm/host-name.js';
import { addSnapshotCommands } from './snapshot-commands.js';
import { addSuspendCommands, withProgress } from './suspend-commands.js';
import { VERSION } from './version.js';
import { addTopCommand } from './top.js';
import { printableLines } from '../ui/text.js';

const home = bentoHome();
const socket = process.env.BENTO_SOCKET ?? socketPath(home);
const client = (): Promise<BentoClient> => ensureDaemon(home, socket);
const print = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const json = (v: unknown): void => print(JSON.stringify(v, null, 2));

function positiveInt(field: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${field} must be a whole number of at least 1`);
    return Number(v);
  };
}
function seconds(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError('timeout must be a number of seconds');
  return Math.round(Number(v) * 1000);
}

/** How often `logs -f` asks bentod whether it is still there. */
const PROBE_EVERY_MS = 5_000;

/** Probes /api/version while a raw stream runs; calls onLost once with the timeout or connection error. Returns a stopper. */
function watchDaemon(c: BentoClient, onLost: (err: BentoError) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    c.version().then(
      () => (busy = false),
      (err: unknown) => {
        clearInterval(timer);
        onLost(err instanceof BentoError ? err : new BentoError('daemon-unavailable', errorMessage(err)));
      },
    );
  }, PROBE_EVERY_MS);
  return () => clearInterval(timer);
}

const program = new Command('bento')
  .description('A keyboard-driven terminal VM manager. Without a command, opens the TUI.')
  .version(VERSION)
  // Usage errors follow the same rule as every other failure: one line on stderr, status 1.
  .configureOutput({ outputError: (str, write) => write(`bento: ${str.replace(/^error: /, '').trim()} (see bento --help)\n`) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1))
  .action(async () => {
    const { openTui } = await import('./open-tui.js');
    await openTui(home, socket);
  });

program
  .command('ls')
  .description('list VMs: [HOST] NAME STATE GUEST CPUS MEMORY ACCEL UPTIME SSH (HOST once a libvirt host is added)')
  .option('--json', 'print JSON for scripts')
  .option('--host <name>', "only this host's VMs (local, or a host of bento host ls)")
  .action(async (o: { json?: boolean; host?: string }) => {
    const c = await client();
    // Each VM with its last live sample (null when it is not running) for --json.
    const [all, hosts, stats] = await Promise.all([c.list(), listHosts(c), o.json ? c.stats() : null]);
    const only = o.host === undefined ? null : pickHost(o.host, hosts);
    const vms = only === null ? all : all.filter((vm) => vm.host === only);
    if (!stats) return print(formatVmTable(vms, Date.now(), { hosts: showsHosts(hosts, all) }));
    json(vms.map((vm) => ({ ...vm, stats: stats.vms[vm.name]?.last ?? null })));
  });

program
  .command('create <name>')
  .description('define a new VM')
  .option('--kernel <path>', 'Linux kernel for direct boot')
  .option('--initrd <path>', 'initramfs for direct boot')
  .option('--cmdline <text>', 'kernel command line')
  .option('--disk <path>', 'attach an existing qcow2 or raw image')
  .addOption(new Option('--disk-format <format>', 'format of --disk (default: detected once)').choices(['qcow2', 'raw']))
  .option('--disk-size <size>', 'create a new qcow2 disk of this size (8G)')
  .option('--iso <path>', 'attach an ISO image as a CD-ROM')
  .option('--cpus <n>', 'virtual CPUs (default 1)', positiveInt('cpus'))
  .option('--memory <size>', 'memory, like 512M or 2G (default 512M)')
  .addOption(new Option('--accel <accel>', 'accelerator').choices(['auto', 'kvm', 'hvf', 'tcg']))
  .addOption(new Option('--backend <backend>', 'backend').choices(['qemu', 'vz']))
  .addOption(new Option('--console <device>', 'console device streamed by bentod').choices(['serial', 'virtio']))
  .option('--image <ref>', 'boot a cloud image: a catalog id (bento image ls), a path or a URL; the VM gets an overlay on it')
  .addOption(new Option('--firmware <fw>', 'firmware for disk boot (default: what the image needs)').choices(['bios', 'uefi']))
  .addOption(new Option('--network <mode>', 'nat (default), restricted (no outbound traffic; forwards still work) or none').choices(['nat', 'restricted', 'none']))
  .option('--publish <spec>', 'forward a host port: [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .addOption(new Option('--cloud-init <mode>', 'auto (default with --image) makes a cloud-init seed; none skips it').choices(['auto', 'none']))
  .option('--user <name>', 'the guest user cloud-init creates (default: yours; bento when you are root)')
  .option('--user-data <file>', 'cloud-config merged into bento\'s, or a script passed beside it')
  .option('--mount <spec>', 'share a host folder: SRC[:DST][:ro] (DST defaults to /mnt/<name of SRC>; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--json', 'print the new VM as JSON')
  .action(async (name: string, o: Record<string, string | number | boolean | string[] | undefined>) => {
    const req: CreateRequest = { name };
    const map: [string, keyof CreateRequest][] = [
      ['kernel', 'kernel'], ['initrd', 'initrd'], ['cmdline', 'cmdline'], ['disk', 'disk'], ['diskFormat', 'diskFormat'],
      ['diskSize', 'diskSize'], ['iso', 'iso'], ['cpus', 'cpus'], ['memory', 'memory'], ['accel', 'accel'],
      ['backend', 'backend'], ['console', 'console'], ['image', 'image'], ['firmware', 'firmware'], ['network', 'network'],
      ['publish', 'publish'], ['cloudInit', 'cloudInit'], ['user', 'user'],
    ];
    for (const [from, to] of map) if (o[from] !== undefined) (req as unknown as Record<string, unknown>)[to] = o[from];
    if (typeof o.userData === 'string') req.userData = readUserData(o.userData);
    if (Array.isArray(o.mount)) req.mount = o.mount.map((v) => absoluteMountSource(v));
    const c = await client();
    // A libvirt host takes no cloud image: bentod refuses it there, without a pull here first.
    if (req.image && splitVmName(name).host === LOCAL_HOST) {
      // A relative image path means the caller's folder, not bentod's.
      req.image = absoluteRef(req.image);
      // The pull (if the image is not cached yet) shows its progress here; the create then finds it cached.
      const { result, seconds } = await pullWithProgress(c, req.image, { vm: name });
      if (!result.alreadyCached && !o.json) print(pulledLine(req.image, result, seconds));
    }
    const vm = await c.create(req);
    if (o.json) json(vm);
    else print(`created ${vm.name}`);
  });

async function attach(name: string, o: { force?: boolean; readonly?: boolean; fromBoot?: boolean; pane?: boolean }): Promise<void> {
  const c = await client();
  const [{ attachConsole }, { loadPreferences }, { parseEscapeKey, describeEscapeKey }] = await Promise.all([
    import('../console/attach.js'),
    import('./prefs.js'),
    import('../console/escape-key.js'),
  ]);
  const { escapeKey } = loadPreferences(home);
  const res = await attachConsole({
    socket: c.socket,
    name,
    escape: parseEscapeKey(escapeKey),
    escapeLabel: describeEscapeKey(escapeKey),
    force: o.force ?? false,
    readOnly: o.readonly ?? false,
    fromBoot: o.fromBoot ?? false,
    unfiltered: o.pane ?? false,
    timeoutError: (ms) => c.timeoutError(ms),
  });
  if (res.end === 'daemon-lost') process.exitCode = 1;
  if (res.signal) process.exitCode = 128 + (res.signal === 'SIGHUP' ? 1 : 15);
  // stdin was put in flowing mode for the session; nothing else should keep the process alive.
  process.stdin.unref?.();
}

program
  .command('start <name>')
  .description('start a VM')
  .option('--console', 'attach to the console and show the boot from the first byte')
  .option('--wait', 'wait until the guest is reachable (SSH answers; with a cloud-init seed, cloud-init finished)')
  .option('--wait-timeout <seconds>', 'how long --wait waits (default 600)', seconds)
  .option('--discard', 'delete the saved state of a suspended VM and boot afresh instead of resuming')
  .action(async (name: string, o: { console?: boolean; wait?: boolean; waitTimeout?: number; discard?: boolean }) => {
    if (o.console && o.wait) throw new BentoError('invalid-input', '--console and --wait go one at a time');
    const c = await client();
    // Asked first (with a start's deadline, so a stuck bentod fails the same way): a saved state to
    // restore gives the start a longer deadline.
    const before = await c.get(name, { timeoutMs: START_TIMEOUT_MS });
    const vm = await withProgress(c, name, () => c.start(name, o.discard ? { discard: true } : {}, { restoring: before.savedState !== null }));
    if (o.console) return attach(name, { fromBoot: true });
    if (o.wait) {
      const started = Date.now();
      const ready = await waitReady(c, name, o.waitTimeout ?? 600_000);
      print(`${ready.name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (ssh ${ready.ssh ? `${ready.ssh.host}:${ready.ssh.port}` : '-'}; bento ssh ${ready.name})`);
      return;
    }
    print(`${vm.name} ${vm.state} (pid ${vm.pid ?? '-'}, accel ${vm.accel}${vm.ssh ? `, ssh 127.0.0.1:${vm.ssh.port}` : ''})`);
  });

program
  .command('publish <name> [specs...]')
  .description('show or change the forwarded ports of a VM (live while it runs): SPEC is [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]')
  .option('--add <spec>', 'add a forward (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--rm <spec>', 'remove a forward (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--clear', 'remove every forward')
  .action(async (name: string, specs: string[], o: { add?: string[]; rm?: string[]; clear?: boolean }) => {
    const c = await client();
    const vm = await c.get(name);
    const current = vm.spec.publish.map(formatPublish);
    const changing = specs.length > 0 || o.add || o.rm || o.clear;
    if (!changing) {
      print(current.length ? current.join('\n') : `${name} publishes no ports`);
      return;
    }
    if (specs.length && (o.add || o.rm)) throw new BentoError('invalid-input', 'give the whole list, or --add/--rm, not both');
    const norm = (v: string): string => {
      const f = parsePublish(v);
      if (!f) throw new BentoError('invalid-input', `publish: "${v}" must be ${PUBLISH_RULE}`);
      return formatPublish(f);
    };
    let next = o.clear ? [] : specs.length ? specs : [...current];
    for (const r of o.rm ?? []) {
      const k = norm(r);
      if (!next.map(norm).includes(k)) throw new BentoError('invalid-input', `publish: ${name} does not forward ${k}`);
      next = next.filter((x) => norm(x) !== k);
    }
    next = [...next, ...(o.add ?? [])];
    const after = await c.patch(name, { publish: next });
    print(after.spec.publish.length ? after.spec.publish.map(formatPublish).join('\n') : `${name} publishes no ports`);
  });

program
  .command('mount <name> [specs...]')
  .description('show or replace the shared folders of a stopped VM: SPEC is SRC[:DST][:ro]')
  .option('--clear', 'remove every shared folder')
  .action(async (name: string, specs: string[], o: { clear?: boolean }) => {
    const c = await client();
    const show = (vm: Vm): string => (vm.spec.mounts.length ? vm.spec.mounts.map((m) => `${formatMount(m)}  (${m.type}, tag ${m.tag})`).join('\n') : `${name} has no shared folders`);
    if (!specs.length && !o.clear) {
      print(show(await c.get(name)));
      return;
    }
    if (specs.length && o.clear) throw new BentoError('invalid-input', 'give the new list, or --clear, not both');
    print(show(await c.patch(name, { mount: o.clear ? [] : specs.map((v) => absoluteMountSource(v)) })));
  });

program
  .command('ssh <name> [command...]')
  .description('open an SSH session in a VM (or run COMMAND there) as its cloud-init user, with pinned host keys')
  .option('-l, --login <user>', 'log in as this user instead')
  .action(async (name: string, command: string[], o: { login?: string }) => {
    const vm = await (await client()).get(name);
    const code = await runSsh(vm, command, o.login);
    process.exitCode = code;
  });

program
  .command('console <name>')
  .description("attach to a VM's console (Ctrl-] detaches; the guest never sees it)")
  .option('--force', 'take the input over from another viewer')
  .option('--readonly', 'watch without sending keys')
  // The TUI's pane runs the console in a headless terminal that only draws cells: no filtering needed.
  .addOption(new Option('--pane', 'output goes to a bento pane, not a real terminal').hideHelp())
  .action((name: string, o: { force?: boolean; readonly?: boolean; pane?: boolean }) => attach(name, o));

program
  .command('stop <name>')
  .description('power off a VM: ACPI power button, then forced after --timeout')
  .option('--force', 'stop now without asking the guest')
  .option('--timeout <seconds>', 'how long the guest gets to power off (default 30)', seconds)
  .action(async (name: string, o: { force?: boolean; timeout?: number }) => {
    const vm = await (await client()).stop(name, { force: o.force ?? false, ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}) });
    print(`${vm.name} ${vm.state}${vm.reason ? ` (${vm.reason})` : ''}`);
  });

for (const verb of ['pause', 'resume'] as const) {
  program
    .command(`${verb} <name>`)
    .description(`${verb} a VM`)
    .action(async (name: string) => {
      const vm = await (await client())[verb](name);
      print(`${vm.name} ${vm.state}`);
    });
}

program
  .command('restart <name>')
  .description('stop (gracefully, or --force) and start again')
  .option('--force', 'do not ask the guest to power off')
  .option('--timeout <seconds>', 'how long the guest gets to power off (default 30)', seconds)
  .action(async (name: string, o: { force?: boolean; timeout?: number }) => {
    const vm = await (await client()).restart(name, { force: o.force ?? false, ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}) });
    print(`${vm.name} ${vm.state} (pid ${vm.pid ?? '-'})`);
  });

program
  .command('clone <name> <new-name>')
  .description('copy a stopped VM: its own disks copied (snapshots not carried), a new MAC, a new seed')
  .action(async (name: string, to: string) => {
    const vm = await (await client()).clone(name, to);
    print(`cloned ${name} as ${vm.name} (${vm.dir})`);
  });

program
  .command('rename <name> <new-name>')
  .description('rename a stopped VM (its guest keeps its hostname)')
  .action(async (name: string, to: string) => {
    const vm = await (await client()).rename(name, to);
    print(`renamed ${name} to ${vm.name}`);
  });

program
  .command('rm <name>')
  .description('delete a VM and the disks bento made for it')
  .option('--force', 'stop it first if it runs')
  .action(async (name: string, o: { force?: boolean }) => {
    await (await client()).remove(name, { force: o.force ?? false });
    print(`deleted ${name}`);
  });

program
  .command('inspect <name>')
  .description('show everything about a VM')
  .option('--json', 'print JSON for scripts')
  .action(async (name: string, o: { json?: boolean }) => {
    const data = await (await client()).inspect(name);
    if (o.json) json(data);
    else print(formatInspect(data));
  });

program
  .command('logs <name>')
  .description("print a VM's serial log: the current (or last) boot unless told otherwise")
  .option('-f, --follow', 'keep printing new output')
  .option('--boot <n>', 'an earlier boot: -1 is the one before the current, -2 the one before that')
  .option('--all', 'every boot still in the log')
  .action(async (name: string, o: { follow?: boolean; boot?: string; all?: boolean }) => {
    if ([o.follow, o.boot !== undefined, o.all].filter(Boolean).length > 1) throw new BentoError('invalid-input', '--follow, --boot and --all go one at a time');
    if (o.boot !== undefined && !/^(0|-[1-9]\d*)$/.test(o.boot)) throw new BentoError('invalid-input', '--boot: must be 0 or a negative number of boots back, such as -1');
    const query = o.follow ? '?follow=1' : o.all ? '?boot=all' : o.boot ? `?boot=${o.boot}` : '';
    const c = await client();
    const res = await c.stream(`/api/vms/${encodeURIComponent(name)}/log${query}`);
    // Guest output is untrusted: sanitise it for a terminal, but leave it byte-exact for a pipe or file.
    const clean = process.stdout.isTTY ? (await import('../console/sanitize.js')).createSanitizer() : null;
    res.on('data', (c: Buffer) => process.stdout.write(clean ? clean.push(c) : c));
    // Raw log bytes carry no heartbeat: a cheap probe notices a dead or stuck bentod while following.
    const lost = o.follow ? watchDaemon(c, (err) => res.destroy(err)) : null;
    try {
      await new Promise<void>((resolve, reject) => {
        res.on('end', resolve);
        res.on('error', reject);
        res.on('close', resolve);
      });
    } finally {
      lost?.();
    }
    if (clean) process.stdout.write(clean.flush());
    if (!o.follow) return;
    // bentod ends a follow when the VM is deleted; anything else is bentod going away.
    const gone = await c.get(name).then(
      () => false,
      (err: unknown) => err instanceof BentoError && err.code === 'not-found',
    );
    if (gone) throw new BentoError('not-found', `${name} was deleted; the log stream ended`);
    throw new BentoError('daemon-unavailable', 'bentod closed the log stream');
  });

program
  .command('events')
  .description('print state changes as they happen (and, without --json, hosts connecting and lost)')
  .option('--json', 'one JSON object per line')
  .action(async (o: { json?: boolean }) => {
    const c = await client();
    await new Promise<void>((_resolve, reject) => {
      c.events({
        onEvent: (ev) => print(o.json ? JSON.stringify(ev) : formatEvent(ev)),
        // Hosts connecting, lost and retrying; --json keeps its one shape (state events) for scripts.
        onHost: (ev) => o.json || print(formatHostEvent(ev)),
        onResync: () => process.stderr.write('bento: this reader fell behind and bentod dropped events; the list may have changed (bento ls)\n'),
        onEnd: (err) => reject(err ?? new BentoError('daemon-unavailable', 'bentod closed the event stream')),
      }).catch(reject);
    });
  });

addImageCommands(program, { client, print });
addHostCommands(program, { client, print });
addSnapshotCommands(program, { client, print });
addSuspendCommands(program, { client, print });
addTopCommand(program, { client, print });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`bento: ${printableLines(errorMessage(err))}\n`);
  process.exit(1);
});
