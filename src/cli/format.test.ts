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
