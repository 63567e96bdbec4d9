import os from 'node:os';
import { parseArgs } from 'node:util';
import { startDaemon } from '../api/daemon.js';
import { QemuDriver, detectDiskFormat } from '../vm/drivers/qemu/driver.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { realHost } from '../vm/host.js';
import { VmManager } from '../vm/manager.js';
import { bentoHome, socketPath } from '../vm/paths.js';
import { InstanceStore } from '../vm/store.js';
import { hostAccel } from '../vm/accel.js';
import { VERSION } from './version.js';
import { makeAdmit } from './admit.js';

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
  const home = bentoHome();
  const socket = values.socket ?? socketPath(home);
  const qemu = new QemuDriver();
  const manager = new VmManager({ store: new InstanceStore(home), drivers: { qemu }, host: realHost(), detectFormat: detectDiskFormat, log });
  const accel = hostAccel();
  log(`host accelerator: ${accel.accel} (${accel.why}) on ${os.platform()}/${os.arch()}`);
  const daemon = await startDaemon({
    home,
    socket,
    manager,
    log,
    admit: await makeAdmit(log),
    version: { version: VERSION, backends: ['qemu'], defaultAccel: accel.accel, pid: process.pid },
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
  // A bug in one request must not take down the daemon that owns every VM.
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? errorMessage(err)}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${errorMessage(err)}`));
}

main().catch((err: unknown) => {
  process.stderr.write(`bentod: ${errorMessage(err)}\n`);
  // Exit 3 tells a spawning `bento` that another bentod already serves this home.
  process.exit(err instanceof BentoError && err.code === 'daemon-running' ? 3 : 1);
});
