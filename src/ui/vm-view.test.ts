import { describe, expect, test } from 'vitest';
import { fakeVm } from './fake-client.js';
import { compileFilter, countByState, selectionIndex, stateLabel, stopCountdown, visibleVms } from './vm-view.js';

const vms = [
  fakeVm('web-2', { state: 'stopped', cpus: 2, memoryMiB: 1024 }),
  fakeVm('db', { state: 'running', cpus: 4, memoryMiB: 512, startedAt: '2024-01-01T00:00:00Z' }),
  fakeVm('web-1', { state: 'paused', cpus: 1, memoryMiB: 2048, startedAt: '2024-01-02T00:00:00Z' }),
];
const names = (xs: { name: string }[]): string[] => xs.map((v) => v.name);

describe('visibleVms', () => {
  test('sorts by name, and reverses', () => {
    expect(names(visibleVms(vms, '', { key: 'name', desc: false }))).toEqual(['db', 'web-1', 'web-2']);
    expect(names(visibleVms(vms, '', { key: 'name', desc: true }))).toEqual(['web-2', 'web-1', 'db']);
  });
  test('sorts by state with live VMs first, by cpus, by memory, by uptime', () => {
    expect(names(visibleVms(vms, '', { key: 'state', desc: false }))).toEqual(['db', 'web-1', 'web-2']);
    expect(names(visibleVms(vms, '', { key: 'cpus', desc: true }))).toEqual(['db', 'web-2', 'web-1']);
    expect(names(visibleVms(vms, '', { key: 'memory', desc: false }))).toEqual(['db', 'web-2', 'web-1']);
    // Ascending uptime: stopped (no uptime) first, then the most recently started.
    expect(names(visibleVms(vms, '', { key: 'uptime', desc: false }))).toEqual(['web-2', 'web-1', 'db']);
  });
  test('filters by a case-insensitive substring; ! inverts', () => {
    expect(names(visibleVms(vms, 'WEB', { key: 'name', desc: false }))).toEqual(['web-1', 'web-2']);
    expect(names(visibleVms(vms, '!web', { key: 'name', desc: false }))).toEqual(['db']);
    expect(compileFilter('')).toBeNull();
    expect(compileFilter('!')).toBeNull();
  });
});

test('countByState counts every state', () => {
  const c = countByState(vms);
  expect(c.running).toBe(1);
  expect(c.paused).toBe(1);
  expect(c.stopped).toBe(1);
  expect(c.error).toBe(0);
});

test('the stop countdown runs only while stopping', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  const stopping = fakeVm('a', { state: 'stopping', stopDeadline: '2024-01-01T00:00:27.2Z' });
  expect(stopCountdown(stopping, now)).toBe(28);
  expect(stateLabel(stopping, 0, now)).toBe('⠋ stopping 28s');
  expect(stopCountdown(fakeVm('b', { state: 'running' }), now)).toBeNull();
  expect(stateLabel(fakeVm('b', { state: 'running' }), 3, now)).toBe('● running');
  // A long operation shows its figure; a suspended VM is marked.
  const progress = { op: 'suspend' as const, doneBytes: 125 * 1024 * 1024, totalBytes: null, percent: null, startedAt: '' };
  expect(stateLabel(fakeVm('c', { state: 'saving', progress }), 0, now)).toBe('⠋ saving 125M');
  expect(stateLabel(fakeVm('c', { state: 'restoring', progress: { ...progress, percent: 42 } }), 0, now)).toBe('⠋ restoring 42%');
  expect(stateLabel(fakeVm('c', { savedState: { at: '2024-01-01T00:00:00.000Z', bytes: 1 } }), 0, now)).toBe('○ stopped·saved');
});

test('selectionIndex follows the name, or falls back to the nearest row', () => {
  const rows = visibleVms(vms, '', { key: 'name', desc: false });
  expect(selectionIndex(rows, 'web-1', 0)).toBe(1);
  expect(selectionIndex(rows, 'gone', 7)).toBe(2);
  expect(selectionIndex([], 'web-1', 0)).toBe(-1);
});
