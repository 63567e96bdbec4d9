// Entry point of the per-VM vz helper (bundled to dist/vz-helper.js). bentod spawns it detached, in
// its own session, with a node signed with com.apple.security.virtualization:
//   node-vz vz-helper.js /path/to/vms/NAME/vz-helper.json
// It prints one startup line on stdout (started | failed), then lives exactly as long as the VM.
import fs from 'node:fs';
import { errorMessage } from '../../errors.js';
import { loadHelperBinding } from './binding.js';
import { wireErrorFrom } from './errors.js';
import { VzHelper, helperError } from './helper.js';
import { helperConfigSchema, type HelperConfig, type StartupLine } from './protocol.js';

function log(line: string): void {
  // stderr is vz-helper.log (a file): synchronous writes, nothing lost on exit.
  process.stderr.write(`${new Date().toISOString()} vz-helper[${process.pid}] ${line}\n`);
}

/** Writes the startup line and waits until it is flushed: on macOS a pipe write is asynchronous. */
function report(line: StartupLine): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    try {
      process.stdout.write(JSON.stringify(line) + '\n', () => (clearTimeout(timer), resolve()));
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

function readConfig(file: string | undefined): HelperConfig {
  if (!file) throw helperError('config', 'usage: vz-helper CONFIG.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw helperError('io', `cannot read ${file}: ${errorMessage(err)}`);
  }
  const parsed = helperConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw helperError('config', `${file} is not a valid helper configuration: ${why}`);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  // The spawner may be gone by the time we write; a dead pipe must not kill the VM.
  process.stdout.on('error', () => undefined);
  // Sockets and files the helper makes are the user's alone.
  process.umask(0o077);
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? errorMessage(err)}`));
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${errorMessage(err)}`));
  let helper: VzHelper | null = null;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (!helper?.signal(sig)) process.exit(1);
    });
  }
  // No controlling terminal (setsid), but be explicit: a hangup is not a reason to kill a VM.
  process.on('SIGHUP', () => undefined);
  try {
    const config = readConfig(process.argv[2]);
    log(`starting ${config.name}`);
    let binding;
    try {
      binding = await loadHelperBinding();
    } catch (err) {
      throw helperError('binding', errorMessage(err));
    }
    helper = new VzHelper(binding, config, log);
    const started = await helper.start();
    log(`${config.name} running`);
    await report({ type: 'started', ...started, node: process.version });
    process.stdout.end();
  } catch (err) {
    const error = wireErrorFrom(err);
    log(`start failed: ${error.message}`);
    await report({ type: 'failed', error });
    process.exit(1);
  }
  const reason = await helper.finished;
  log(`VM stopped (${reason}); exiting`);
  process.exit(0);
}

void main();
