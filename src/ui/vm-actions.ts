/** Which action fits which state: an action that does not fit is refused with a reason, never sent. */
import type { Vm } from '../vm/types.js';

/** Everything a key can do to one VM. */
export type VmAction = 'start' | 'stop' | 'kill' | 'pause' | 'resume' | 'restart' | 'suspend' | 'edit' | 'delete' | 'console' | 'attach' | 'ssh' | 'snapshot' | 'snapshots';

/** Why `action` does not fit `vm` right now, or null when it does. */
export function refusal(action: VmAction, vm: Vm): string | null {
  const { name, state } = vm;
  switch (action) {
    case 'start':
      if (state === 'stopped' || state === 'error') return null;
      if (state === 'paused') return `${name} is paused: p resumes it`;
      return `${name} is already ${state}`;
    case 'stop':
      if (state === 'running' || state === 'paused') return null;
      if (state === 'stopping') return `${name} is already stopping: K forces it off now`;
      if (state === 'stopped') return `${name} is not running`;
      if (state === 'error') return `${name} is in error: K forces it off`;
      return `${name} is ${state}: wait until it settles, or K to force it off`;
    case 'kill':
      return state === 'stopped' ? `${name} is not running` : null;
    case 'pause':
      if (state === 'running') return null;
      if (state === 'paused') return `${name} is already paused`;
      return `only a running VM can be paused (${name} is ${state})`;
    case 'resume':
      return state === 'paused' ? null : `only a paused VM can be resumed (${name} is ${state})`;
    case 'restart':
      if (state === 'running' || state === 'paused') return null;
      if (state === 'stopped' || state === 'error') return `${name} is not running: s starts it`;
      return `${name} is ${state}: wait until it settles`;
    case 'suspend':
      if (state === 'running' || state === 'paused') return null;
      if (vm.savedState) return `${name} is already saved to disk: s resumes it`;
      return `only a running or paused VM can be suspended (${name} is ${state})`;
    case 'edit':
      // Its saved RAM belongs to this very definition.
      if (state === 'stopped' && vm.savedState) return `${name} has a saved state: s resumes it (bento start --discard drops it) before it can be changed`;
      if (state === 'stopped') return null;
      return `${name} is ${state}: only a stopped VM can be changed (S stops it)`;
    case 'delete':
      return null;
    case 'console':
      return null;
    case 'attach':
      if (state === 'stopped' || state === 'error') return `${name} is not running: s starts it`;
      return null;
    case 'ssh':
      return sshRefusal(vm);
    case 'snapshot':
    case 'snapshots':
      return snapshotRefusal(vm);
  }
}

/** Why `v` (take a snapshot) or `V` (the snapshot chooser) does not fit `vm`: bentod says why in full for disks or hosts it cannot use. */
function snapshotRefusal(vm: Vm): string | null {
  const { name, state } = vm;
  if (state === 'running' || state === 'paused' || state === 'stopped') return null;
  return `${name} is ${state}: snapshots wait until it is running, paused or stopped`;
}

/** What `p` does for this VM: pause a running one, resume a paused one. */
export function pauseAction(vm: Vm): 'pause' | 'resume' {
  return vm.state === 'paused' ? 'resume' : 'pause';
}

/**
 * Why `h` cannot open an SSH session in `vm`: it must run, have an SSH port (any network but none),
 * and have its host keys pinned (bento trusts only keys it read from the guest's own console). The
 * CLI's `bento ssh` checks the same, and that bento's key file exists, which only it can see.
 */
function sshRefusal(vm: Vm): string | null {
  const { name, state } = vm;
  if (state === 'paused') return `${name} is paused: p resumes it`;
  if (state === 'stopped' || state === 'error') return `${name} is not running: s starts it`;
  if (state !== 'running') return `${name} is ${state}: wait until it runs`;
  if (!vm.ssh) {
    return vm.spec.network === 'none'
      ? `${name} has no network (network none): it cannot be reached over SSH`
      : `${name} has no SSH port (network ${vm.spec.network})`;
  }
  if (!vm.ssh.hostKeysPinned) return `${name} is still booting: its SSH host keys are not known yet`;
  return null;
}
