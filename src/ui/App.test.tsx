import { afterEach, describe, expect, test } from 'vitest';
import { BentoError } from '../vm/errors.js';
import { fakeVm } from './fake-client.js';
import { renderApp, type Harness } from './test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

const running = (name: string, extra = {}) => fakeVm(name, { state: 'running', pid: 100, startedAt: new Date().toISOString(), ...extra });
const calls = (method: string) => h.client.calls.filter((c) => c.method === method);

describe('actions that do not fit the state are refused with a reason, not sent', () => {
  test.each([
    ['s', 'running', 'web is already running', 'start'],
    ['S', 'stopped', 'web is not running', 'stop'],
    ['p', 'stopped', 'only a running VM can be paused (web is stopped)', 'pause'],
    ['r', 'starting', 'web is starting: wait until it settles', 'restart'],
    ['e', 'running', 'web is running: only a stopped VM can be changed (S stops it)', 'patch'],
    ['K', 'stopped', 'web is not running', 'stop'],
    ['a', 'stopped', 'web is not running: s starts it', 'start'],
    ['h', 'stopped', 'web is not running: s starts it', 'start'],
    ['h', 'running', 'web has no SSH port (network nat)', 'start'],
    ['z', 'stopped', 'only a running or paused VM can be suspended (web is stopped)', 'suspend'],
  ])('%s on a %s VM', async (key, state, reason, method) => {
    h = await renderApp([state === 'running' ? running('web') : fakeVm('web', { state: state as 'stopped' })]);
    await h.press(key);
    expect(h.frame()).toContain(`✗ ${reason}`);
    expect(calls(method as string)).toHaveLength(0);
    expect(h.onHandOver).not.toHaveBeenCalled();
    expect(h.frame()).not.toMatch(/Force stop|Edit web/);
  });
});

describe('actions', () => {
  test('s starts, p pauses and resumes, S stops gracefully with a countdown, r restarts', async () => {
    h = await renderApp([fakeVm('web')]);
    await h.press('s');
    await h.waitFor(/web\s+● running/);
    expect(h.frame()).toContain('web is running (pid 4242, tcg)');
    await h.press('p');
    await h.waitFor(/web\s+‖ paused/);
    await h.press('p');
    await h.waitFor(/web\s+● running/);
    expect(calls('pause')).toHaveLength(1);
    expect(calls('resume')).toHaveLength(1);
    await h.press('r');
    await h.waitFor('web restarted');
    h.client.autoStop = false;
    await h.press('S');
    await h.waitFor(/web\s+\S stopping 30s/);
    expect(h.frame()).toContain('forced in 30s');
    expect(h.frame()).toContain('K forces now');
    // A second S while stopping is refused, K is offered.
    await h.press('S');
    expect(h.frame()).toContain('web is already stopping: K forces it off now');
    h.client.finishStop('web');
    await h.waitFor(/web\s+○ stopped/);
    await h.waitFor('web is stopped (guest-shutdown)');
  });

  test('z suspends without asking; the row and the details show the saved state; s resumes from it', async () => {
    h = await renderApp([running('web')]);
    await h.press('z');
    await h.waitFor(/web\s+○ stopped·saved/);
    await h.waitFor('web is saved to disk (537 MB); s resumes it');
    expect(calls('suspend')).toHaveLength(1);
    expect(h.frame()).toMatch(/saved\s+537 MB · saved \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · s resumes it/);
    // A second z is refused: it is saved already.
    await h.press('z');
    expect(h.frame()).toContain('web is already saved to disk: s resumes it');
    await h.press('e');
    expect(h.frame()).toContain('web has a saved state: s resumes it');
    await h.press('s');
    await h.waitFor('web resumed from its saved state: running');
    await h.waitFor(/web\s+● running/);
    expect(h.frame()).not.toContain('·saved');
  });

  test('K asks first; n keeps the VM running, y forces it off', async () => {
    h = await renderApp([running('web')]);
    await h.press('K');
    expect(h.frame()).toContain('Force stop web?');
    expect(h.frame()).toContain('y force stop');
    await h.press('n');
    expect(h.frame()).not.toContain('Force stop web?');
    expect(calls('stop')).toHaveLength(0);
    await h.press('K', 'y');
    await h.waitFor(/web\s+○ stopped/);
    expect(calls('stop')[0]!.args).toEqual(['web', { force: true }]);
    expect(h.frame()).toContain('web is stopped (forced)');
  });

  test('D asks first; Esc cancels, y deletes; a running VM is forced off first', async () => {
    h = await renderApp([fakeVm('db'), running('web')]);
    await h.press('D');
    expect(h.frame()).toContain('Delete db?');
    expect(h.frame()).toContain('cannot be undone');
    await h.press('\x1b');
    await h.waitFor(/^(?![\s\S]*Delete db\?)/);
    expect(calls('remove')).toHaveLength(0);
    await h.press('D', 'y');
    await h.waitFor('deleted db');
    expect(h.frame()).not.toMatch(/db\s+○/);
    expect(calls('remove')[0]!.args).toEqual(['db', { force: false }]);
    await h.press('D');
    expect(h.frame()).toContain('web is running: it is forced off first');
    await h.press('y');
    await h.waitFor('deleted web');
    expect(calls('remove')[1]!.args).toEqual(['web', { force: true }]);
    expect(h.frame()).toContain('No VMs yet');
  });

  test('an error from bentod shows on the status line and the TUI keeps running', async () => {
    h = await renderApp([fakeVm('web')]);
    h.client.failures.set('start', new BentoError('start-failed', 'qemu-system-x86_64: could not open disk'));
    await h.press('s');
    await h.waitFor('✗ web: qemu-system-x86_64: could not open disk');
    await h.press('j');
    expect(h.frame()).toContain('web');
  });

  test('a attaches a running VM; q quits', async () => {
    h = await renderApp([running('web')]);
    await h.press('a');
    expect(h.onHandOver).toHaveBeenCalledWith('console', 'web');
    await h.press('q');
    expect(h.onQuit).toHaveBeenCalled();
  });

  test('h hands the terminal to bento ssh once the host keys are pinned; until then it says the VM is booting', async () => {
    const ssh = { host: '127.0.0.1', port: 2222, user: 'me', identityFile: '/k', knownHostsFile: '/kh', hostKeyAlias: 'bento-web', hostKeysPinned: false };
    h = await renderApp([running('web', { ssh, ready: false })]);
    expect(h.frame()).toMatch(/h ssh/);
    await h.press('h');
    expect(h.frame()).toContain('✗ web is still booting: its SSH host keys are not known yet');
    expect(h.onHandOver).not.toHaveBeenCalled();
    h.client.vms.set('web', { ...h.client.vms.get('web')!, ssh: { ...ssh, hostKeysPinned: true }, ready: true });
    h.client.emitChange({ kind: 'changed', name: 'web', vm: h.client.vms.get('web')! });
    await h.press();
    await h.press('h');
    expect(h.onHandOver).toHaveBeenCalledWith('ssh', 'web');
  });
});

test('? shows every key; any key closes it', async () => {
  h = await renderApp([fakeVm('web')], { rows: 40 });
  await h.press('?');
  const f = h.frame();
  for (const text of ['bento keys', 'force stop now (asks first)', 'filter by name', 'attach full screen (Ctrl-] comes', 'suspend to disk', 'snapshot now / list snapshots', 'SSH session full screen', 'quit (VMs keep running)']) {
    expect(f).toContain(text);
  }
  await h.press('x');
  expect(h.frame()).not.toContain('bento keys');
  expect(calls('start')).toHaveLength(0);
});

test('when bentod goes away the header says so, and the TUI reconnects by itself', async () => {
  h = await renderApp([fakeVm('web')]);
  expect(h.frame()).toContain('● bentod');
  h.client.failures.set('events', new BentoError('daemon-unavailable', 'cannot reach bentod at /s (ENOENT)'));
  h.client.end();
  await h.waitFor('✗ bentod is not running');
  await h.waitFor('cannot reach bentod at /s (ENOENT)');
  // The list stays on screen while bentod is away.
  expect(h.frame()).toMatch(/web\s+○ stopped/);
  await h.waitFor('● bentod', 3000);
  await h.waitFor('connected to bentod again');
});

test('R while bentod is away starts it and reconnects at once', async () => {
  let started = 0;
  h = await renderApp([fakeVm('web')], { props: { startDaemon: async () => void started++ } });
  h.client.failures.set('events', new BentoError('daemon-unavailable', 'gone'));
  h.client.end();
  await h.waitFor('bentod is not running');
  await h.press('R');
  expect(started).toBe(1);
  await h.waitFor('● bentod');
});
