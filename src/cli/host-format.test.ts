import { describe, expect, it } from 'vitest';
import { fakeVm } from '../ui/fake-client.js';
import type { HostInfo, Vm } from '../vm/types.js';
import { formatInspect, formatVmTable } from './format.js';
import { formatHostEvent, formatHostTable, hostReason, pickHost, showsHosts } from './host-format.js';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();
const host = (name: string, over: Partial<HostInfo> = {}): HostInfo => ({
  name,
  kind: name === 'local' ? 'local' : 'libvirt',
  uri: name === 'local' ? null : `qemu+tcp://10.0.0.1/system`,
  state: 'connected',
  reason: null,
  retryAt: null,
  since: ago(300),
  vms: 0,
  ...over,
});
const libvirtVm = (hostName: string, domain: string, over: Partial<Vm> = {}): Vm =>
  fakeVm(`${hostName}/${domain}`, {
    host: hostName,
    backend: 'libvirt',
    libvirt: { uri: 'qemu+tcp://10.0.0.1/system', uuid: '0b0e1c4e-5f0a-4c39-9a59-4d7d3c1c2b11', domain, id: null, foreign: false, persistent: true },
    ...over,
  });

describe('bento ls with hosts', () => {
  it('only local: no HOST column, as before', () => {
    const out = formatVmTable([fakeVm('web')], NOW, { hosts: showsHosts([host('local')], [fakeVm('web')]) }).split('\n');
    expect(out[0]).toMatch(/^NAME\s+STATE\s+GUEST\s+CPUS/);
    expect(out[1]).toMatch(/^web\s+stopped\s+-/);
  });

  it('with a libvirt host: HOST first, local first, NAME without the host, unreachable VMs say so', () => {
    const vms = [
      libvirtVm('lab2', 'db', { state: 'running', startedAt: ago(60), reachable: false }),
      libvirtVm('lab1', 'web', { state: 'paused', startedAt: ago(120) }),
      fakeVm('web', { state: 'running', startedAt: ago(30) }),
    ];
    const hosts = [host('local'), host('lab1'), host('lab2', { state: 'unreachable' })];
    expect(showsHosts(hosts, vms)).toBe(true);
    const out = formatVmTable(vms, NOW, { hosts: true }).split('\n');
    expect(out).toHaveLength(4);
    expect(out[0]).toMatch(/^HOST\s+NAME\s+STATE\s+GUEST\s+CPUS\s+MEMORY\s+ACCEL\s+UPTIME\s+SSH$/);
    expect(out[1]).toMatch(/^local\s+web\s+running\s+-\s+1\s+512M\s+tcg\s+30s\s+-$/);
    expect(out[2]).toMatch(/^lab1\s+web\s+paused\s+/);
    expect(out[3]).toMatch(/^lab2\s+db\s+unreachable\s+/);
    expect(out.join('\n')).not.toContain('lab1/web');
  });

  it('the HOST column shows once a libvirt host is added, even before it has VMs', () => {
    expect(showsHosts([host('local'), host('lab1')], [])).toBe(true);
    expect(showsHosts([host('local')], [libvirtVm('lab1', 'x')])).toBe(true);
    expect(showsHosts([], [fakeVm('a')])).toBe(false);
  });

  it('--host takes local or a configured host; any other name is an error listing the hosts', () => {
    const hosts = [host('local'), host('lab1'), host('lab2')];
    expect(pickHost('lab1', hosts)).toBe('lab1');
    expect(pickHost('local', [])).toBe('local');
    expect(() => pickHost('lab9', hosts)).toThrow('no host named "lab9"; the hosts are local, lab1, lab2 (bento host add NAME URI adds one)');
  });
});

describe('bento host ls', () => {
  it('NAME KIND URI STATE VMS and how long it has been connected, or why not and when it retries', () => {
    const out = formatHostTable(
      [
        host('local', { vms: 3, since: ago(7200) }),
        host('lab1', { vms: 2 }),
        host('lab2', { state: 'unreachable', reason: 'unable to connect to server at 10.0.0.2:16509: Connection refused', retryAt: new Date(NOW + 3500).toISOString(), vms: 5 }),
        host('lab3', { state: 'reconnecting', reason: 'End of file while reading data', since: ago(2) }),
        host('lab4', { state: 'connecting', since: ago(4) }),
      ],
      NOW,
    ).split('\n');
    expect(out[0]).toMatch(/^NAME\s+KIND\s+URI\s+STATE\s+VMS\s+SINCE\/REASON$/);
    expect(out[1]).toMatch(/^local\s+local\s+-\s+connected\s+3\s+2h0m$/);
    expect(out[2]).toMatch(/^lab1\s+libvirt\s+qemu\+tcp:\/\/10\.0\.0\.1\/system\s+connected\s+2\s+5m$/);
    expect(out[3]).toMatch(/^lab2\s+libvirt\s+\S+\s+unreachable\s+5\s+unable to connect to server at 10\.0\.0\.2:16509: Connection refused \(retry in 4s\)$/);
    expect(out[4]).toMatch(/^lab3\s+libvirt\s+\S+\s+reconnecting\s+0\s+End of file while reading data \(trying again now\)$/);
    expect(out[5]).toMatch(/^lab4\s+libvirt\s+\S+\s+connecting\s+0\s+4s$/);
  });

  it('a retry time in the past reads 0s, not a negative count', () => {
    expect(hostReason({ state: 'unreachable', reason: 'x', retryAt: ago(3) }, NOW)).toBe('x (retry in 0s)');
    expect(hostReason({ state: 'unreachable', reason: null, retryAt: null }, NOW)).toBe('no reason given');
  });
});

describe('bento inspect of a libvirt VM', () => {
  it('says where it lives: host and URI, domain, UUID, whether bento defined it; unreachable keeps the last state', () => {
    const vm = libvirtVm('lab1', 'web', { state: 'running', startedAt: ago(10), reachable: false });
    vm.libvirt = { ...vm.libvirt!, id: 4, foreign: true };
    const out = formatInspect(vm as unknown as Record<string, unknown>);
    expect(out).toMatch(/^Name:\s+lab1\/web$/m);
    expect(out).toMatch(/^State:\s+unreachable \(last known: running\)$/m);
    expect(out).toMatch(/^Host:\s+lab1 \(qemu\+tcp:\/\/10\.0\.0\.1\/system\)$/m);
    expect(out).toMatch(/^Domain:\s+web, id 4$/m);
    expect(out).toMatch(/^UUID:\s+0b0e1c4e-5f0a-4c39-9a59-4d7d3c1c2b11$/m);
    expect(out).toMatch(/^Foreign:\s+yes: defined outside bento/m);
    expect(formatInspect(fakeVm('loc') as unknown as Record<string, unknown>)).not.toMatch(/^(Host|UUID):/m);
  });
});

describe('bento events: host lines', () => {
  it('say when a host connects, is lost (with the reason and the retry) and is removed', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(formatHostEvent({ kind: 'changed', host: host('lab1') }, now)).toBe('2026-11-30T12:00:00.000Z  host lab1 connected');
    expect(formatHostEvent({ kind: 'changed', host: host('lab1', { state: 'unreachable', reason: 'connection lost: libvirtd closed it', retryAt: '2026-11-30T12:00:04Z' }) }, now)).toBe(
      '2026-11-30T12:00:00.000Z  host lab1 unreachable: connection lost: libvirtd closed it (retry in 4s)',
    );
    expect(formatHostEvent({ kind: 'removed', name: 'lab1' }, now)).toBe('2026-11-30T12:00:00.000Z  host lab1 removed');
    expect(formatHostEvent({ kind: 'changed', host: host('lab1', { state: 'unreachable', reason: 'bad\u009bname' }) }, now)).not.toMatch(/[\u0080-\u009f]/);
  });
});
