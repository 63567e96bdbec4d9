/**
 * The one rule of which action fits which VM state. bentod's manager checks it before it acts (its
 * API errors carry the same code and message), the TUI dims keys and refuses with it, the fake
 * client refuses with it. Pure: no node imports (the TUI imports it).
 *
 * The messages name the VM and say what to do, with the TUI key first and the command after it
 * (`web is not running: s starts it (bento start web)`), so one text serves both.
 */
import type { ErrorCode } from './errors.js';
import type { Vm } from './types.js';

/** Everything that can be done to one VM. */
export type VmAction =
  | 'start'
  | 'stop'
  | 'kill'
  | 'pause'
  | 'resume'
  | 'restart'
  | 'suspend'
  | 'edit'
  | 'delete'
  | 'console'
  | 'attach'
  | 'ssh'
  | 'snapshot'
  | 'snapshots'
  | 'clone'
  | 'rename';

/** Every action, for tests that walk the table. */
export const VM_ACTIONS: readonly VmAction[] = ['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'suspend', 'edit', 'delete', 'console', 'attach', 'ssh', 'snapshot', 'snapshots', 'clone', 'rename'];

/** Why an action is refused: the API error code and the message shown to the user. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

const no = (code: ErrorCode, message: string): Refusal => ({ code, message });

/** What each action is called in a refusal of a VM on a libvirt host. */
const LIBVIRT_UNSUPPORTED: Partial<Record<VmAction, string>> = {
  suspend: 'suspend to disk',
  snapshot: 'snapshots',
  snapshots: 'snapshots',
  clone: 'clone',
  rename: 'rename',
  edit: 'changing the definition',
  ssh: 'ssh',
};

/**
 * Why `action` does not fit `vm` right now, or null when it does. `hostReason` is why the VM's host
 * is unreachable, when the caller knows it (HostInfo.reason).
 */
export function refusal(action: VmAction, vm: Vm, hostReason?: string | null): Refusal | null {
  const { name, state } = vm;
  // Older bentods send no `reachable`: only an explicit false refuses.
  if (vm.reachable === false) return no('host-unreachable', `${vm.host} is unreachable${hostReason ? `: ${hostReason}` : ''}`);
  if (vm.backend === 'libvirt') {
    const what = LIBVIRT_UNSUPPORTED[action];
    if (what) return no('unsupported', `${name}: ${what} is not available for VMs on libvirt hosts (host ${vm.host})`);
    if (action === 'delete' && vm.libvirt?.foreign) return no('unsupported', `${name} was not created by bento; undefine it with virsh`);
  }
  const down = state === 'stopped' || state === 'error';
  switch (action) {
    case 'start':
      if (down) return null;
      if (state === 'paused') return no('already-running', `${name} is paused: p resumes it (bento resume ${name})`);
      return no('already-running', `${name} is already ${state}`);
    case 'stop':
      // An error VM may still have a process: the stop forces it off (bentod says not-running if none is left).
      if (state === 'running' || state === 'paused' || state === 'error') return null;
      if (state === 'stopping') return no('invalid-state', `${name} is already stopping: K forces it off now (bento stop --force ${name})`);
      if (state === 'stopped') return no('not-running', `${name} is not running`);
      return no('invalid-state', `${name} is ${state}: wait until it settles, or K to force it off (bento stop --force ${name})`);
    case 'kill':
      return state === 'stopped' ? no('not-running', `${name} is not running`) : null;
    case 'pause':
      if (state === 'running') return null;
      if (state === 'paused') return no('invalid-state', `${name} is already paused`);
      return no('invalid-state', `only a running VM can be paused (${name} is ${state})`);
    case 'resume':
      if (state !== 'paused') return no('invalid-state', `only a paused VM can be resumed (${name} is ${state})`);
      // A guest whose state is saved must never run on: a later start would restore stale RAM over newer disks.
      if (vm.savedState) return no('invalid-state', `${name} has a saved state; start it or start --discard first`);
      return null;
    case 'restart':
      // A stopped VM is simply started: bentod always did so, and the TUI now agrees.
      if (state === 'running' || state === 'paused' || down) return null;
      return no('invalid-state', `${name} is ${state}: wait until it settles`);
    case 'suspend':
      if (state === 'running' || state === 'paused') return null;
      if (vm.savedState) return no('invalid-state', `${name} is already saved to disk: s resumes it (bento start ${name})`);
      return no('invalid-state', `only a running or paused VM can be suspended (${name} is ${state})`);
    case 'edit':
      // Its saved RAM belongs to this very definition.
      if (state === 'stopped' && vm.savedState) return no('invalid-state', `${name} has a saved state: s resumes it (bento start --discard drops it) before it can be changed`);
      if (state === 'stopped') return null;
      return no('invalid-state', `${name} is ${state}: only a stopped VM can be changed (S stops it)`);
    case 'delete':
    case 'console':
      return null;
    case 'attach':
      return down ? no('not-running', `${name} is not running: s starts it (bento start ${name})`) : null;
    case 'ssh':
      return sshRefusal(vm);
    case 'snapshot':
    case 'snapshots':
      if (state === 'running' || state === 'paused' || state === 'stopped') return null;
      return no('invalid-state', `${name} is ${state}: snapshots wait until it is running, paused or stopped`);
    case 'clone':
      if (state === 'stopped' && vm.savedState) return no('invalid-state', `${name} has a saved state: s resumes it (or bento start --discard ${name} drops it) before it can be cloned`);
      if (state === 'stopped') return null;
      return no('invalid-state', `${name} is ${state}: only a stopped VM can be cloned (S stops it)`);
    case 'rename':
      if (state === 'stopped') return null;
      return no('invalid-state', `${name} is ${state}: only a stopped VM can be renamed (S stops it)`);
  }
}

/** What `p` does for this VM: pause a running one, resume a paused one. */
export function pauseAction(vm: Vm): 'pause' | 'resume' {
  return vm.state === 'paused' ? 'resume' : 'pause';
}

/**
 * Why an SSH session cannot open in `vm`: it must run, have an SSH port (any network but none), and
 * have its host keys pinned (bento trusts only keys it read from the guest's own console). `bento ssh`
 * checks this too, and that bento's key file exists, which only it can see.
 */
function sshRefusal(vm: Vm): Refusal | null {
  const { name, state } = vm;
  if (state === 'paused') return no('invalid-state', `${name} is paused: p resumes it (bento resume ${name})`);
  if (state === 'stopped' || state === 'error') return no('not-running', `${name} is not running: s starts it (bento start ${name} --wait)`);
  if (state !== 'running') return no('invalid-state', `${name} is ${state}: wait until it runs`);
  if (!vm.ssh) {
    return vm.spec.network === 'none'
      ? no('invalid-state', `${name} has no network (network none): it cannot be reached over SSH`)
      : no('invalid-state', `${name} has no SSH port (network ${vm.spec.network})`);
  }
  if (!vm.ssh.hostKeysPinned) {
    return no(
      'invalid-state',
      `${name} is still booting: its SSH host keys are not known yet (bento pins them from the guest's console when cloud-init prints them; bento start --wait waits for that; a guest without cloud-init needs its keys in ${vm.ssh.knownHostsFile} as "${vm.ssh.hostKeyAlias} TYPE KEY")`,
    );
  }
  return null;
}
