import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { BentoClient } from '../api/client.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { sshArgs } from '../vm/ssh.js';
import { USER_DATA_MAX } from '../vm/limits.js';
import type { Vm } from '../vm/types.js';
import { refusal } from '../vm/actions.js';

/** Reads a --user-data file for the create request (its contents travel in the request). */
export function readUserData(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new BentoError('invalid-input', `--user-data: cannot read ${file}: ${errorMessage(err)}`);
  }
  if (!st.isFile()) throw new BentoError('invalid-input', `--user-data: ${file} is not a regular file`);
  if (st.size > USER_DATA_MAX) throw new BentoError('invalid-input', `--user-data: ${file} is ${st.size} bytes; at most ${USER_DATA_MAX} are accepted`);
  return fs.readFileSync(file, 'utf8');
}

/** Why `bento ssh` cannot reach a VM right now, or null when it can: the one table's rule, plus bento's key file, which only the CLI can see. */
export function sshRefusal(vm: Vm): string | null {
  const why = refusal('ssh', vm);
  if (why) return why.message;
  if (!vm.ssh!.identityFile || !fs.existsSync(vm.ssh!.identityFile)) return `bento's SSH key ${vm.ssh!.identityFile || '(none)'} is missing`;
  return null;
}

/** Runs the system ssh into a VM with its pinned host keys and bento's key; resolves with ssh's exit status. */
export async function runSsh(vm: Vm, command: string[], login?: string): Promise<number> {
  const why = sshRefusal(vm);
  if (why) throw new BentoError('invalid-state', why);
  const ssh = vm.ssh!;
  const args = sshArgs({ ...ssh, user: login ?? ssh.user }, command);
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.on('error', (err) => reject(new BentoError('unsupported', `cannot run ssh (install openssh-client): ${errorMessage(err)}`)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

/**
 * Waits until a VM's guest is reachable (Vm.ready), from pushed change events. Fails when the VM
 * stops first, when it has no network to probe, or after timeoutMs. An unseeded guest shows no
 * readiness (null) until an SSH server answers, so null alone is no reason to give up.
 */
export async function waitReady(c: BentoClient, name: string, timeoutMs: number): Promise<Vm> {
  return new Promise<Vm>((resolve, reject) => {
    let dispose: (() => void) | null = null;
    let settled = false;
    const finish = (err: BentoError | null, vm?: Vm): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dispose?.();
      if (err) reject(err);
      else resolve(vm!);
    };
    const timer = setTimeout(
      () => finish(new BentoError('timeout', `${name} was not ready after ${Math.round(timeoutMs / 1000)} s (its console shows how far it got: bento logs ${name})`)),
      timeoutMs,
    );
    const judge = (vm: Vm): void => {
      if (vm.ready === true) finish(null, vm);
      else if (vm.state === 'stopped' || vm.state === 'error') finish(new BentoError('not-running', `${name} is ${vm.state}${vm.reason ? ` (${vm.reason})` : ''} before its guest was ready`));
      else if (vm.state === 'running' && vm.spec.network === 'none') finish(new BentoError('invalid-state', `${name} has no network, so there is nothing to wait for (network ${vm.spec.network})`));
    };
    c.events({
      onEvent: (ev) => {
        if (ev.name === name && (ev.state === 'stopped' || ev.state === 'error')) c.get(name).then(judge, () => undefined);
      },
      onChange: (ev) => {
        if (ev.name !== name) return;
        if (ev.kind === 'deleted') finish(new BentoError('not-found', `${name} was deleted`));
        else judge(ev.vm);
      },
      onEnd: (err) => finish(err ?? new BentoError('daemon-unavailable', 'bentod closed the event stream')),
    })
      .then((d) => {
        dispose = d;
        if (settled) d();
        // Asked after subscribing, so a change between the two is not missed.
        return c.get(name).then(judge);
      })
      .catch((err: unknown) => finish(err instanceof BentoError ? err : new BentoError('daemon-unavailable', errorMessage(err))));
  });
}
