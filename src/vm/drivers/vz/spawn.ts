import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageRoot } from '../../../native/native.js';
import { BentoError, errorMessage } from '../../errors.js';
import { FILES } from '../../paths.js';
import { signNodeCommand } from './errors.js';
import { LineSplitter, parseLine, startupLineSchema, type StartupLine } from './protocol.js';

/** Environment variable naming the signed node that hosts vz VMs (default: $BENTO_HOME/node-vz). */
export const VZ_NODE_ENV = 'BENTO_VZ_NODE';
/** How long a helper gets to build and start its VM. */
const START_TIMEOUT_MS = 60_000;

/** How to run the helper: the node binary, the arguments before the config path, and the folder. */
export interface HelperCommand {
  node: string;
  args: string[];
  cwd: string | undefined;
}

/** The signed node: $BENTO_VZ_NODE, else node-vz in BENTO_HOME (where scripts/sign-node.sh puts it). */
export function vzNodePath(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[VZ_NODE_ENV] ? path.resolve(env[VZ_NODE_ENV]) : path.join(home, FILES.vzNode);
}

/** dist/vz-helper.js next to the bundled bentod; in a checkout run from source, the TS entry through tsx. */
export function defaultHelperCommand(node: string): HelperCommand {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  if (root === undefined) throw new BentoError('internal', "cannot find bento's package root to locate the vz helper");
  if (import.meta.url.endsWith('.ts')) {
    // `--import tsx` resolves from the working directory, so run it from the package root.
    return { node, args: ['--import', 'tsx', path.join(root, 'src', 'vm', 'drivers', 'vz', 'helper-main.ts')], cwd: root };
  }
  return { node, args: [path.join(root, 'dist', 'vz-helper.js')], cwd: undefined };
}

/** A started helper, or the error it reported. */
export interface SpawnResult {
  line: StartupLine;
  pid: number;
}

/**
 * Spawns the helper detached (its own session, so it outlives bentod, like qemu -daemonize), with
 * stderr appended to vz-helper.log, and waits for its startup line. Its stdout is closed afterwards.
 */
export function spawnHelper(cmd: HelperCommand, configPath: string, logPath: string, env: NodeJS.ProcessEnv): Promise<SpawnResult> {
  if (!fs.existsSync(cmd.node)) {
    return Promise.reject(
      new BentoError(
        'start-failed',
        `start-failed: vz VMs run in a node signed with the com.apple.security.virtualization entitlement, and ${cmd.node} does not exist; run \`${signNodeCommand()}\``,
      ),
    );
  }
  const logOffset = fileSize(logPath);
  const logFd = fs.openSync(logPath, 'a', 0o600);
  let child;
  try {
    child = spawn(cmd.node, [...cmd.args, configPath], { detached: true, stdio: ['ignore', 'pipe', logFd], cwd: cmd.cwd, env });
  } finally {
    fs.closeSync(logFd);
  }
  const proc = child;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, line?: StartupLine): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.stdout?.destroy();
      proc.unref();
      if (err) reject(err);
      else resolve({ line: line!, pid: proc.pid ?? -1 });
    };
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      finish(new BentoError('start-failed', `start-failed: the vz helper did not start its VM within ${START_TIMEOUT_MS / 1000} s${tail(logPath, logOffset)}`));
    }, START_TIMEOUT_MS);
    const lines = new LineSplitter(
      (text) => {
        const line = parseLine(startupLineSchema, text);
        if (line) finish(null, line);
        else finish(new BentoError('start-failed', `start-failed: the vz helper printed ${text.slice(0, 200)}${tail(logPath, logOffset)}`));
      },
      () => finish(new BentoError('start-failed', 'start-failed: the vz helper printed an over-long line')),
    );
    proc.stdout?.on('data', (chunk: Buffer) => lines.push(chunk));
    proc.on('error', (err) => finish(new BentoError('start-failed', `start-failed: cannot run ${cmd.node}: ${errorMessage(err)}`, { cause: err })));
    // 'close', not 'exit': a failed line written just before exiting must be read before we give up.
    proc.on('close', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      finish(new BentoError('start-failed', `start-failed: the vz helper ${how} before starting its VM${tail(logPath, logOffset)}`));
    });
  });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The helper's last log lines since `from`, as a suffix for an error message. */
function tail(file: string, from: number): string {
  try {
    const text = fs.readFileSync(file).subarray(from).toString('utf8').trim();
    const last = text.split('\n').slice(-5).join('\n  ');
    return last ? ` (vz-helper.log:\n  ${last})` : '';
  } catch {
    return '';
  }
}
