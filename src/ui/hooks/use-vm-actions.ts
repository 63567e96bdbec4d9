import { useCallback, useRef, type Dispatch } from 'react';
import { errorMessage } from '../../vm/errors.js';
import type { Vm } from '../../vm/types.js';
import type { UiClient } from '../ui-client.js';
import { formatBytes } from '../pulls.js';
import { refusal, type VmAction } from '../vm-actions.js';
import type { VmStore } from '../vm-store.js';
import type { ViewAction } from '../view-state.js';

/** Sends VM actions to bentod and reports the outcome on the status line. */
export interface VmActions {
  /** Checks that `action` fits, then sends it (or opens its confirmation); refusals go to the status line. */
  act(action: Exclude<VmAction, 'console' | 'attach' | 'edit'>, vm: Vm): void;
  /** After the confirmation: force stop now. */
  kill(name: string): void;
  /** After the confirmation: delete (force kills a running VM first). */
  remove(name: string, force: boolean): void;
  /** After the name dialog: clone `name` as `to`, or rename it. */
  cloneOrRename(op: 'clone' | 'rename', name: string, to: string): void;
}

type Verb = 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'suspend';

/** The VM actions of the table, against a client and the store. */
export function useVmActions(client: UiClient, store: VmStore, dispatch: Dispatch<ViewAction>): VmActions {
  // One request per VM and verb at a time: a key pressed twice before the event arrives is not sent twice.
  const pending = useRef(new Set<string>());
  const say = useCallback((text: string, kind: 'info' | 'error' = 'info') => dispatch({ type: 'status', text, kind }), [dispatch]);

  const send = useCallback(
    (name: string, verb: Verb | 'kill', call: () => Promise<Vm>, begun: string, done: (vm: Vm) => string) => {
      const key = `${name}:${verb}`;
      if (pending.current.has(key)) return say(`${name}: ${verb} is already under way`);
      pending.current.add(key);
      say(begun);
      call().then(
        (vm) => {
          pending.current.delete(key);
          store.upsert(vm);
          say(done(vm));
        },
        (err: unknown) => {
          pending.current.delete(key);
          say(`${name}: ${errorMessage(err)}`, 'error');
        },
      );
    },
    [say, store],
  );

  const act = useCallback(
    (action: Exclude<VmAction, 'console' | 'attach' | 'edit'>, vm: Vm) => {
      const why = refusal(action, vm);
      if (why) return say(why, 'error');
      const { name } = vm;
      switch (action) {
        case 'start':
          if (vm.savedState) {
            return send(name, 'start', () => client.start(name, {}, { restoring: true }), `restoring ${name} from its saved state (${formatBytes(vm.savedState.bytes)})…`, (v) => `${name} resumed from its saved state: ${v.state} (pid ${v.pid ?? '-'})`);
          }
          return send(name, 'start', () => client.start(name), `starting ${name}…`, (v) => `${name} is ${v.state} (pid ${v.pid ?? '-'}, ${v.accel})`);
        case 'suspend':
          return send(name, 'suspend', () => client.suspend(name), `suspending ${name} to disk…`, (v) => `${name} is saved to disk (${v.savedState ? formatBytes(v.savedState.bytes) : '?'}); s resumes it`);
        case 'stop':
          return send(
            name,
            'stop',
            () => client.stop(name),
            `stopping ${name}: ACPI power button pressed; forced when the countdown ends (K forces now)`,
            (v) => `${name} is ${v.state}${v.reason ? ` (${v.reason})` : ''}`,
          );
        case 'pause':
          return send(name, 'pause', () => client.pause(name), `pausing ${name}…`, (v) => `${name} is ${v.state}`);
        case 'resume':
          return send(name, 'resume', () => client.resume(name), `resuming ${name}…`, (v) => `${name} is ${v.state}`);
        case 'restart':
          return send(name, 'restart', () => client.restart(name), `restarting ${name}: stop, then start…`, (v) => `${name} restarted (pid ${v.pid ?? '-'})`);
        case 'kill':
          return dispatch({ type: 'dialog', dialog: { type: 'confirm-kill', name } });
        case 'delete':
          return dispatch({ type: 'dialog', dialog: { type: 'confirm-delete', name, force: vm.state !== 'stopped' } });
      }
    },
    [client, dispatch, say, send],
  );

  const kill = useCallback(
    (name: string) =>
      send(name, 'kill', () => client.stop(name, { force: true }), `forcing ${name} off…`, (v) => `${name} is ${v.state}${v.reason ? ` (${v.reason})` : ''}`),
    [client, send],
  );

  const remove = useCallback(
    (name: string, force: boolean) => {
      say(`deleting ${name}…`);
      client.remove(name, { force }).then(
        () => {
          store.remove(name);
          say(`deleted ${name}`);
        },
        (err: unknown) => say(`${name}: ${errorMessage(err)}`, 'error'),
      );
    },
    [client, say, store],
  );

  const cloneOrRename = useCallback(
    (op: 'clone' | 'rename', name: string, to: string) => {
      say(op === 'clone' ? `cloning ${name} as ${to} (copying its disks)…` : `renaming ${name} to ${to}…`);
      (op === 'clone' ? client.clone(name, to) : client.rename(name, to)).then(
        (vm) => {
          if (op === 'rename') store.remove(name);
          store.upsert(vm);
          dispatch({ type: 'select', name: vm.name, index: 0 });
          say(op === 'clone' ? `cloned ${name} as ${vm.name}; s starts it` : `renamed ${name} to ${vm.name}`);
        },
        (err: unknown) => say(`${name}: ${errorMessage(err)}`, 'error'),
      );
    },
    [client, dispatch, say, store],
  );

  return { act, kill, remove, cloneOrRename };
}
