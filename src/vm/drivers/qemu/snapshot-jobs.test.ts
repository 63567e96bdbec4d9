import { describe, expect, it } from 'vitest';
import { buildQemuCommand } from './argv.js';
import { driveId, nodeNamesFor } from './snapshot-jobs.js';
import type { VmSpec } from '../../types.js';

describe('snapshot job node names', () => {
  it('maps the drive ids the command line gives to the node names query-block reports', () => {
    const blocks = [
      { device: 'cd0', inserted: { 'node-name': '#block1' } },
      { device: 'disk0', inserted: { 'node-name': '#block190' } },
      { device: 'disk1', inserted: { 'node-name': '#block300' } },
    ];
    expect(nodeNamesFor(blocks, [1, 0])).toEqual(['#block300', '#block190']);
    expect(() => nodeNamesFor(blocks, [2])).toThrow(/no block node for drive disk2/);
    expect(() => nodeNamesFor({ not: 'a list' }, [0])).toThrow(/disk0/);
  });
  it('names drives as the command line builder does', () => {
    const spec = { name: 'x', cpus: 1, memoryMiB: 256, kernel: null, initrd: null, cmdline: null, iso: null, console: 'serial', network: 'none', publish: [], mounts: [], mac: '52:54:00:00:00:01', disks: [{ path: '/a.qcow2', format: 'qcow2', owned: true, readonly: false }, { path: '/b.qcow2', format: 'qcow2', owned: true, readonly: false }] } as unknown as VmSpec;
    const args = buildQemuCommand(spec, { pid: 'p', qmp: 'q', serialSocket: 's', consoleSocket: 'c' }, 'tcg', { arch: 'x64' }).args.join(' ');
    expect(args).toContain(`id=${driveId(0)},`);
    expect(args).toContain(`drive=${driveId(1)},`);
  });
});
