import os from 'node:os';
import { parseArgs } from 'node:util';
import { startDaemon } from '../api/daemon.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { realHost } from '../vm/host.js';
import { ImageCache } from '../vm/images/cache.js';
import { imageSource } from '../vm/images/source.js';
import { VmManager } from '../vm/manager.js';
import { bentoHome, maxNameLengthFor, socketPath } from '../vm/paths.js';
import { InstanceStore } from '../vm/store.js';
import { hostAccel } from '../vm/accel.js';
import { clientKeyPath, ensureClientKey, userPublicKeys } from '../vm/ssh.js';
import { VERSION } from './version.js';
import { makeAdmit } from './admit.js';
import { detectFormat, makeDrivers, offeredBackends, serialLogCap, withBackends } from './drivers.js';
import { HostRegistry } from '../vm/hosts.js';
import { LibvirtHost } from '../vm/drivers/libvirt/host.js';
import { loadLibvirt } from '../vm/drivers/libvirt/binding.js';
import { confHostsStore } from './hosts-store.js';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { socket: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: bentod [--socket PATH]\n\nThe bento daemon: owns the VMs and serves the API on a Unix socket.\n');
    return;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  // Everything bentod and its qemu children create (logs, sockets, disks) is private to the user.
  process.umask(0o077);
  const home = bentoHome();
  const socket = values.socket ?? socketPath(home);
  const drivers = makeDrivers(home);
  const ssh = {
    identityFile: clientKeyPath(home),
    publicKeys: async () => [await ensureClientKey(home), ...userPublicKeys()],
  };
  // One image cache per home, shared by the API and (for create --image) the manager.
  const images = new ImageCache({ home, log });
  const manager = new VmManager({
    store: new InstanceStore(home, { log }),
    drivers,
    host: { ...withBackends(realHost(), drivers), maxNameLength: maxNameLengthFor(home) },
    detectFormat,
    log,
    ssh,
    images: imageSource(images),
    hostUser: os.userInfo().username,
  });
  // libvirt hosts: one connection each, held by bentod; without the addon's libvirt part every
  // configured host shows as unreachable with the reason, and local VMs are unaffected.
  // Loaded when the first host is made, so a bentod with no hosts never loads libvirt.
  let loaded: ReturnType<typeof loadLibvirt> | null = null;
  const libvirt = (): ReturnType<typeof loadLibvirt> => {
    if (loaded) return loaded;
    loaded = loadLibvirt();
    log(loaded.ok ? `libvirt backend available (libvirt ${loaded.binding.version()})` : `libvirt backend unavailable: ${loaded.reason}`);
    return loaded;
  };
  const admit = await makeAdmit(log);
  const hosts = new HostRegistry({
    local: manager,
    store: confHostsStore(home),
    log,
    makeHost: (entry) => {
      const lv = libvirt();
      return new LibvirtHost({
        ...entry,
        home,
        binding: lv.ok ? lv.binding : { unavailable: lv.reason },
        log,
        logCap: serialLogCap(),
        ...(admit ? { admit: (sock) => admit(sock).ok } : {}),
      });
    },
  });
  const accel = hostAccel();
  log(`host accelerator: ${accel.accel} (${accel.why}) on ${os.platform()}/${os.arch()}`);
  const vz = drivers.vz.availability();
  log(vz.ok ? 'vz backend available (new VMs default to it when they fit)' : `vz backend unavailable: ${vz.reason}`);
  const daemon = await startDaemon({
    home,
    socket,
    manager,
    hosts,
    images,
    log,
    admit,
    version: { version: VERSION, backends: offeredBackends(drivers), defaultAccel: accel.accel, pid: process.pid },
  });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log(`${signal}: closing; VMs keep running`);
    void daemon.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
}

/**
 * After an uncaught exception bentod's state is unknown, so it logs the stack and exits non-zero
 * rather than serve on. VMs are separate processes and keep running; the next `bento` command starts
 * a bentod that re-adopts them.
 */
function dieOn(kind: string, err: unknown): void {
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  try {
    log(`${kind}: ${stack}`);
    log('exiting: state unknown after this error; VMs keep running and the next bentod re-adopts them');
  } finally {
    process.exit(70);
  }
}
process.on('uncaughtException', (err) => dieOn('uncaught exception', err));
process.on('unhandledRejection', (err) => dieOn('unhandled rejection', err));

main().catch((err: unknown) => {
  process.stderr.write(`bentod: ${errorMessage(err)}\n`);
  // Exit 3 tells a spawning `bento` that another bentod already serves this home.
  process.exit(err instanceof BentoError && err.code === 'daemon-running' ? 3 : 1);
});
