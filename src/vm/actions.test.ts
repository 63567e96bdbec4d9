// The one state → actions table against the real VmManager, with a driver that is never reached:
// every refused action must be refused before the manager calls into a VM (the fake client and the
// TUI are checked against the same table in src/ui/actions-parity.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { refusal, VM_ACTIONS, type VmAction } from './actions.js';
import type { Driver } from './drivers/driver.js';
import { BentoError } from './errors.js';
import { VmManager } from './manager.js';
import { vmFiles } from './paths.js';
import { InstanceStore } from './store.js';
import type { Vm, VmSpec, VmState } from './types.js';

const STATES: VmState[] = ['stopped', 'starting', 'running', 'pausing', 'paused', 'resuming', 'stopping', 'saving', 'restoring', 'error'];
/** The states to check, and a stopped VM with a saved state. */
const CASES: { label: string; state: VmState; saved: boolean }[] = [...STATES.map((state) => ({ label: state, state, saved: false })), { label: 'stopped+saved', state: 'stopped', saved: true }];

/** The API call each action is, on the manager and on the fake client; actions with no API of their own are absent. */
const MANAGER_CALLS: Partial<Record<VmAction, (m: VmManager, name: string) => Promise<unknown>>> = {
  start: (m, n) => m.start(n),
  stop: (m, n) => m.stop(n),
  kill: (m, n) => m.stop(n, { force: true }),
  pause: (m, n) => m.pause(n),
  resume: (m, n) => m.resume(n),
  restart: (m, n) => m.restart(n),
  suspend: (m, n) => m.suspend(n),
  edit: (m, n) => m.patch(n, { cpus: 2 }),
  snapshot: (m, n) => m.snapshot(n),
  clone: (m, n) => m.clone(n, { name: 'other' }),
  rename: (m, n) => m.rename(n, { name: 'other' }),
};
const unreachable = (what: string) => () => {
  throw new Error(`the driver was reached (${what}) for an action the table refuses`);
};
/** A driver that owns no process and must never be asked to act. */
const driver = {
  capabilities: { saveRestore: true },
  availability: () => ({ ok: true }),
  resolveAccel: () => 'tcg',
  provision: async (spec: unknown) => spec,
  start: unreachable('start'),
  adopt: async () => null,
  liveProcess: () => ({ alive: false, pid: null }),
  killStray: async () => undefined,
  describe: () => ({}),
} as unknown as Driver;

const SPEC: VmSpec = {
  name: 'web', backend: 'qemu', cpus: 1, memoryMiB: 512, accel: 'auto', kernel: '/guest/vmlinuz', initrd: null, cmdline: 'console=ttyS0', disks: [], iso: null,
  mac: '52:54:00:12:34:56', console: 'serial', createdAt: '2024-01-01T00:00:00.000Z', image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [],
};

let home: string;
let manager: VmManager;
type EntryView = { state: VmState; vm: unknown };
const entry = (): EntryView => (manager as unknown as { entries: Map<string, EntryView> }).entries.get('web')!;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-actions-'));
  const store = new InstanceStore(home);
  store.load();
  await store.create(SPEC, async () => SPEC);
  manager = new VmManager({ store, drivers: { qemu: driver }, host: { cpus: 8, memoryMiB: 8192, stat: () => 'file' }, detectFormat: () => 'raw', log: () => undefined });
  await manager.init();
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

/** Puts the manager's VM in a state (a live state gets a stand-in process the table must not reach). */
function put(state: VmState, saved: boolean): Vm {
  const e = entry();
  e.state = state;
  e.vm = state === 'stopped' ? null : { pid: 1, startedAt: new Date(), accel: 'tcg', sshPort: null };
  const files = vmFiles(path.join(home, 'vms', 'web'));
  if (saved) fs.writeFileSync(files.savedState, 'saved');
  else fs.rmSync(files.savedState, { force: true });
  return manager.get('web');
}

describe('every action the table refuses is refused by the real manager with the same code and message', () => {
  for (const c of CASES) {
    for (const action of Object.keys(MANAGER_CALLS) as VmAction[]) {
      test(`${action} on a ${c.label} VM`, async () => {
        const vm = put(c.state, c.saved);
        const why = refusal(action, vm);
        if (!why) return expect(why).toBeNull();
        const err = await MANAGER_CALLS[action]!(manager, 'web').then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(BentoError);
        expect({ code: (err as BentoError).code, message: (err as BentoError).message }).toEqual(why);
      });
    }
  }
});

test('restart of a stopped VM is allowed: bentod starts it (and the TUI, from the same table, sends it)', () => {
  expect(refusal('restart', put('stopped', false))).toBeNull();
});

describe('VMs of libvirt hosts', () => {
  const libvirtVm = (over: Partial<Vm> = {}): Vm => ({
    ...manager.get('web'),
    name: 'lab1/db',
    backend: 'libvirt',
    host: 'lab1',
    state: 'running',
    savedState: null,
    libvirt: { uri: 'qemu:///system', uuid: '6f0b3c3e-0000-4000-8000-000000000001', domain: 'db', id: 3, foreign: false, persistent: true },
    ...over,
  });

  test('what only local VMs have is unsupported, naming the host', () => {
    for (const action of ['suspend', 'snapshot', 'snapshots', 'clone', 'rename', 'edit', 'ssh'] as VmAction[]) {
      const why = refusal(action, libvirtVm());
      expect([action, why?.code]).toEqual([action, 'unsupported']);
      expect(why?.message).toMatch(/^lab1\/db: .* is not available for VMs on libvirt hosts \(host lab1\)$/);
    }
    for (const action of ['stop', 'kill', 'pause', 'restart', 'console', 'attach', 'delete'] as VmAction[]) expect([action, refusal(action, libvirtVm())]).toEqual([action, null]);
  });

  test('a foreign domain is never deleted by bento', () => {
    expect(refusal('delete', libvirtVm({ libvirt: { ...libvirtVm().libvirt!, foreign: true } }))).toEqual({
      code: 'unsupported',
      message: 'lab1/db was not created by bento; undefine it with virsh',
    });
  });

  test('every action on a VM of an unreachable host is refused with the host and its reason', () => {
    const vm = libvirtVm({ reachable: false });
    for (const action of VM_ACTIONS) {
      expect([action, refusal(action, vm, 'connection lost: libvirtd closed it')]).toEqual([action, { code: 'host-unreachable', message: 'lab1 is unreachable: connection lost: libvirtd closed it' }]);
    }
    expect(refusal('start', vm)?.message).toBe('lab1 is unreachable');
  });

  test('a VM without the host fields (an older bentod) is judged as before', () => {
    const { host: _h, reachable: _r, libvirt: _l, ...old } = manager.get('web');
    expect(refusal('start', old as Vm)).toBeNull();
  });
});
