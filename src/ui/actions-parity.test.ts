// The TUI's refusals and the fake bentod's, against the one table in src/vm/actions.ts (the real
// manager is checked against it in src/vm/actions.test.ts).
import { describe, expect, test } from 'vitest';
import { refusal, VM_ACTIONS, type VmAction } from '../vm/actions.js';
import type { BentoError } from '../vm/errors.js';
import type { VmState } from '../vm/types.js';
import { FakeClient, fakeVm } from './fake-client.js';
import { refusal as uiRefusal } from './vm-actions.js';

const STATES: VmState[] = ['stopped', 'starting', 'running', 'pausing', 'paused', 'resuming', 'stopping', 'saving', 'restoring', 'error'];
/** The states to check, and a stopped VM with a saved state. */
const CASES: { label: string; state: VmState; saved: boolean }[] = [...STATES.map((state) => ({ label: state, state, saved: false })), { label: 'stopped+saved', state: 'stopped', saved: true }];

const FAKE_CALLS: Partial<Record<VmAction, (c: FakeClient, name: string) => Promise<unknown>>> = {
  start: (c, n) => c.start(n),
  stop: (c, n) => c.stop(n),
  kill: (c, n) => c.stop(n, { force: true }),
  pause: (c, n) => c.pause(n),
  resume: (c, n) => c.resume(n),
  restart: (c, n) => c.restart(n),
  suspend: (c, n) => c.suspend(n),
  edit: (c, n) => c.patch(n, { cpus: 2 }),
  snapshot: (c, n) => c.snapshot(n),
  clone: (c, n) => c.clone(n, 'other'),
  rename: (c, n) => c.rename(n, 'other'),
};

describe('the fake client and the TUI refuse from the same table', () => {
  for (const c of CASES) {
    for (const action of VM_ACTIONS) {
      test(`${action} on a ${c.label} VM`, async () => {
        const vm = fakeVm('web', { state: c.state, savedState: c.saved ? { at: '2024-01-01T00:00:00Z', bytes: 1 } : null });
        const why = refusal(action, vm);
        // The TUI shows exactly bentod's message.
        expect(uiRefusal(action, vm)).toBe(why?.message ?? null);
        const call = FAKE_CALLS[action];
        if (!call || !why) return;
        const err = await call(new FakeClient([vm]), 'web').then(
          () => null,
          (e: unknown) => e,
        );
        expect({ code: (err as BentoError).code, message: (err as BentoError).message }).toEqual(why);
      });
    }
  }
});

