import { describe, expect, it } from 'vitest';
import { corruptView } from '../vm/corrupt.js';
import { formatVmTable } from './format.js';

describe('formatVmTable', () => {
  it('shows a VM with a broken vm.json as error, without made-up sizes, and says why under the table', () => {
    const vm = corruptView({ name: 'bad', dir: '/h/vms/bad', reason: 'corrupt-spec: /h/vms/bad/vm.json: not JSON', partial: {} });
    const out = formatVmTable([vm]).split('\n');
    expect(out[1]).toMatch(/^bad\s+error\s+-\s+-\s+-\s+-\s+-\s+-$/);
    expect(out[2]).toBe('bad: corrupt-spec: /h/vms/bad/vm.json: not JSON (bento rm bad, or PATCH a complete definition)');
  });
});

describe('names from a libvirt host', () => {
  it('never print a control character: a C1 CSI in a domain name shows as U+FFFD in ls, inspect and events', async () => {
    const { fakeLibvirtVm } = await import('../ui/fake-client.js');
    const { formatEvent, formatInspect } = await import('./format.js');
    const vm = fakeLibvirtVm('lab1', 'ev\u009b2Jil');
    const table = formatVmTable([vm], Date.now(), { hosts: true });
    const inspect = formatInspect(vm as unknown as Record<string, unknown>);
    const event = formatEvent({ name: vm.name, state: 'running', previous: 'stopped', reason: null, at: '2026-11-30T00:00:00Z' });
    for (const out of [table, inspect, event]) {
      expect(out).not.toMatch(/[\u0080-\u009f]/);
      expect(out).toContain('ev\ufffd2Jil');
    }
  });
});
