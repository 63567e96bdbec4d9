// The libvirt binding itself (native/src/libvirt), against libvirt's in-process test driver
// (test:///default: no daemon, one running domain named 'test'). The binding must be built: this
// machine has libvirt-dev, and a missing binding fails here with the loader's reason, never skips.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BENTO_XMLNS,
  isLibvirtError,
  libvirtCandidatePaths,
  loadLibvirt,
  loadLibvirtFrom,
  type DomainEvent,
  type LibvirtBinding,
  type LibvirtConnection,
  type LibvirtError,
} from './binding.js';

const URI = 'test:///default';
// libvirt's numbers (libvirt-domain.h, virterror.h), spelled out here so the test checks the
// binding against libvirt, not against constants the same author wrote.
const STATE = { RUNNING: 1, PAUSED: 3, SHUTOFF: 5 } as const;
const EVENT = { DEFINED: 0, UNDEFINED: 1, STARTED: 2, SUSPENDED: 3, RESUMED: 4, STOPPED: 5 } as const;
const DETAIL = { DEFINED_ADDED: 0, UNDEFINED_REMOVED: 0, STARTED_BOOTED: 0, SUSPENDED_PAUSED: 0, RESUMED_UNPAUSED: 0, STOPPED_DESTROYED: 1 } as const;
const ERR = { NO_SUPPORT: 3, OPERATION_DENIED: 29, NO_DOMAIN: 42, OPERATION_INVALID: 55 } as const;
const MISSING_UUID = '00000000-0000-4000-8000-000000000000';

function requireBinding(): LibvirtBinding {
  const loaded = loadLibvirt();
  if (!loaded.ok) throw new Error(`the libvirt binding must be built for these tests: ${loaded.reason}`);
  return loaded.binding;
}

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<LibvirtError> {
  try {
    await p;
  } catch (err) {
    return err as LibvirtError;
  }
  throw new Error('expected the promise to reject');
}

/** The error `fn` throws synchronously, which it must. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a synchronous throw');
}

/** Collects a connection's lifecycle events; waitFor resolves with the first matching one. */
function eventLog(conn: LibvirtConnection) {
  const events: DomainEvent[] = [];
  const waiters: { match: (e: DomainEvent) => boolean; resolve: (e: DomainEvent) => void }[] = [];
  conn.onDomainEvent((ev) => {
    events.push(ev);
    for (const w of waiters.splice(0)) {
      if (w.match(ev)) w.resolve(ev);
      else waiters.push(w);
    }
  });
  return {
    events,
    waitFor(uuid: string, event: number, timeoutMs = 5000): Promise<DomainEvent> {
      const match = (e: DomainEvent) => e.uuid === uuid && e.event === event;
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event ${event} for ${uuid} within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
  };
}

function domainXml(name: string, metadata: string): string {
  return `<domain type='test'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
  <metadata><bento:vm xmlns:bento="${BENTO_XMLNS}">${metadata}</bento:vm></metadata>
</domain>`;
}

let binding: LibvirtBinding;
let conn: LibvirtConnection;
const defined: string[] = [];

beforeAll(async () => {
  binding = requireBinding();
  conn = await binding.open(URI);
});

afterEach(async () => {
  // Domains a failed test left behind (the test driver's state is shared by this process's connections).
  for (const uuid of defined.splice(0)) {
    await conn.destroy(uuid).catch(() => undefined);
    await conn.undefine(uuid).catch(() => undefined);
  }
});

afterAll(async () => {
  await conn?.close();
});

async function define(name: string, metadata = '{"spec":1}') {
  const info = await conn.defineXML(domainXml(`${name}-${process.pid}-${Date.now()}`, metadata));
  defined.push(info.uuid);
  return info;
}

describe('loading', () => {
  it('loads the built binding and reports libvirt version', () => {
    const loaded = loadLibvirt();
    expect(loaded.ok, loaded.ok ? '' : loaded.reason).toBe(true);
    expect(binding.version()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says the binding is not built, and how to build it, when no candidate exists', () => {
    const r = loadLibvirtFrom(['/nonexistent/build/Release/bento_libvirt.node']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/is not built .*libvirt-dev.*; install libvirt-dev .*run node scripts\/build-native\.mjs/);
  });

  it("quotes the build script's reason for not building it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-libvirt-status-'));
    try {
      fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
      const candidate = path.join(dir, 'build', 'Release', 'bento_libvirt.node');
      fs.writeFileSync(path.join(dir, 'build', 'bento_libvirt.status'), "libvirt's development files (libvirt-dev) were not installed when bento was built\n");
      expect(loadLibvirtFrom([candidate])).toEqual({
        ok: false,
        reason:
          "the libvirt binding (bento_libvirt.node) was not built: libvirt's development files (libvirt-dev) were not installed when bento was built; " +
          'install libvirt-dev (and pkg-config) and run node scripts/build-native.mjs (or npm rebuild bento)',
      });
      fs.writeFileSync(path.join(dir, 'build', 'bento_libvirt.status'), 'its build failed (node-gyp exited with status 1)\n');
      const failed = loadLibvirtFrom([candidate]);
      expect(failed.ok).toBe(false);
      if (!failed.ok) expect(failed.reason).toMatch(/was not built: its build failed .*; run node scripts\/build-native\.mjs to see the errors/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a file that is not the binding instead of throwing', () => {
    const native = libvirtCandidatePaths()[0]!.replace('bento_libvirt.node', 'bento_native.node');
    expect(fs.existsSync(native)).toBe(true);
    const r = loadLibvirtFrom([native]);
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('not the libvirt binding') as string });
  });
});

describe('a connection to test:///default', () => {
  it('knows its URI, host name and capabilities', async () => {
    expect(conn.uri).toBe(URI);
    expect(conn.closed).toBe(false);
    expect((await conn.hostname()).length).toBeGreaterThan(0);
    expect(await conn.capabilities()).toContain('<capabilities>');
  });

  it('lists the test domain with every DomainInfo field, and looks it up by uuid and name', async () => {
    const list = await conn.listDomains();
    const test = list.find((d) => d.name === 'test');
    expect(test).toBeDefined();
    expect(test).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/) as string,
      name: 'test',
      id: expect.any(Number) as number,
      state: expect.any(Number) as number,
      reason: expect.any(Number) as number,
      maxMemKiB: 8388608,
      memKiB: 2097152,
      vcpus: 2,
      cpuTimeNs: expect.any(Number) as number,
      persistent: true,
      autostart: false,
      metadata: null,
    });
    const byUuid = await conn.lookup(test!.uuid);
    const byName = await conn.lookupByName('test');
    expect(byUuid.name).toBe('test');
    expect(byName.uuid).toBe(test!.uuid);
  });

  it('defines a domain with bento metadata, reads it back, and undefines it (with events)', async () => {
    const log = eventLog(conn);
    const info = await define('bento-meta', '{"name":"vm1","cpus":2}');
    expect(info.state).toBe(STATE.SHUTOFF);
    expect(info.id).toBe(-1);
    expect(info.persistent).toBe(true);
    expect(info.maxMemKiB).toBe(131072);
    expect(info.vcpus).toBe(2);
    // libvirt hands the element back without the prefix and namespace it was defined with.
    expect(info.metadata).toBe('<vm>{"name":"vm1","cpus":2}</vm>');
    expect((await conn.lookup(info.uuid)).metadata).toBe(info.metadata);
    expect(await conn.xmlDesc(info.uuid)).toContain(BENTO_XMLNS);
    expect(await log.waitFor(info.uuid, EVENT.DEFINED)).toMatchObject({ name: info.name, id: -1, detail: DETAIL.DEFINED_ADDED });

    await conn.undefine(info.uuid);
    expect(await log.waitFor(info.uuid, EVENT.UNDEFINED)).toMatchObject({ detail: DETAIL.UNDEFINED_REMOVED });
    const err = await rejection(conn.lookup(info.uuid));
    expect(err).toMatchObject({ name: 'LibvirtError', code: ERR.NO_DOMAIN, codeName: 'VIR_ERR_NO_DOMAIN' });
  });

  it('starts, suspends, resumes and destroys a domain, with a lifecycle event for each', async () => {
    const log = eventLog(conn);
    const { uuid } = await define('bento-life');

    await conn.create(uuid);
    const started = await log.waitFor(uuid, EVENT.STARTED);
    expect(started.detail).toBe(DETAIL.STARTED_BOOTED);
    expect(started.id).toBeGreaterThan(0);
    const running = await conn.lookup(uuid);
    expect(running.state).toBe(STATE.RUNNING);
    expect(running.id).toBe(started.id);

    await conn.suspend(uuid);
    expect((await log.waitFor(uuid, EVENT.SUSPENDED)).detail).toBe(DETAIL.SUSPENDED_PAUSED);
    expect((await conn.lookup(uuid)).state).toBe(STATE.PAUSED);

    await conn.resume(uuid);
    expect((await log.waitFor(uuid, EVENT.RESUMED)).detail).toBe(DETAIL.RESUMED_UNPAUSED);
    expect((await conn.lookup(uuid)).state).toBe(STATE.RUNNING);

    await conn.destroy(uuid);
    expect((await log.waitFor(uuid, EVENT.STOPPED)).detail).toBe(DETAIL.STOPPED_DESTROYED);
    const stopped = await conn.lookup(uuid);
    expect(stopped.state).toBe(STATE.SHUTOFF);
    expect(stopped.id).toBe(-1);
  });

  it('runs reboot, reset and shutdown on a running domain', async () => {
    const { uuid } = await define('bento-power');
    await conn.create(uuid);
    await conn.reboot(uuid);
    await conn.reset(uuid);
    expect((await conn.lookup(uuid)).state).toBe(STATE.RUNNING);
    await conn.shutdown(uuid);
    expect((await conn.lookup(uuid)).state).toBe(STATE.SHUTOFF);
  });

  it('replaces the event listener on a second onDomainEvent', async () => {
    const first: DomainEvent[] = [];
    conn.onDomainEvent((ev) => first.push(ev));
    const log = eventLog(conn);
    const { uuid } = await define('bento-replace');
    await log.waitFor(uuid, EVENT.DEFINED);
    expect(first.filter((e) => e.uuid === uuid)).toEqual([]);
  });
});

describe('libvirt errors', () => {
  it('rejects a missing domain with VIR_ERR_NO_DOMAIN and every error field', async () => {
    const err = await rejection(conn.lookup(MISSING_UUID));
    expect(err).toBeInstanceOf(Error);
    expect(isLibvirtError(err)).toBe(true);
    expect(err.name).toBe('LibvirtError');
    expect(err.code).toBe(ERR.NO_DOMAIN);
    expect(err.codeName).toBe('VIR_ERR_NO_DOMAIN');
    expect(err.domain).toEqual(expect.any(Number));
    expect(err.level).toBe(2); // VIR_ERR_ERROR
    expect(err.message).toMatch(/domain/i);
    for (const op of ['create', 'destroy', 'suspend', 'resume', 'shutdown', 'reboot', 'reset', 'undefine', 'xmlDesc'] as const) {
      expect(await rejection(conn[op](MISSING_UUID)), op).toMatchObject({ code: ERR.NO_DOMAIN });
    }
    expect(await rejection(conn.lookupByName('no-such-domain-here'))).toMatchObject({ code: ERR.NO_DOMAIN });
  });

  it('rejects an operation the domain state does not allow', async () => {
    const { uuid } = await define('bento-invalid');
    // Destroying a stopped domain: libvirt's "domain is not running".
    const err = await rejection(conn.destroy(uuid));
    expect(err).toMatchObject({ name: 'LibvirtError', code: ERR.OPERATION_INVALID, codeName: 'VIR_ERR_OPERATION_INVALID' });
    expect(err.message).toMatch(/not running/);
    // The test driver reports suspending a stopped domain as an internal error: still a LibvirtError.
    const suspend = await rejection(conn.suspend(uuid));
    expect(isLibvirtError(suspend)).toBe(true);
    expect(suspend.codeName).toMatch(/^VIR_ERR_[A-Z_]+$/);
    expect(suspend.message).toMatch(/not running/);
  });

  it('rejects bad XML, unknown flags and writes on a read-only connection', async () => {
    expect(await rejection(conn.defineXML('<domain>'))).toMatchObject({ name: 'LibvirtError', codeName: expect.stringMatching(/^VIR_ERR_XML/) as string });
    const test = await conn.lookupByName('test');
    expect(await rejection(conn.undefine(test.uuid, 0x80000000))).toMatchObject({ codeName: 'VIR_ERR_INVALID_ARG' });
    const ro = await binding.open(URI, { readOnly: true });
    try {
      expect((await ro.listDomains()).length).toBeGreaterThan(0);
      expect(await rejection(ro.defineXML(domainXml('bento-ro', '{}')))).toMatchObject({ code: ERR.OPERATION_DENIED, codeName: 'VIR_ERR_OPERATION_DENIED' });
    } finally {
      await ro.close();
    }
  });

  it('rejects a URI libvirt cannot open', async () => {
    const err = await rejection(binding.open('bento-no-such-driver:///x'));
    expect(isLibvirtError(err)).toBe(true);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it('rejects openConsole where the driver has no consoles (test driver), and for a missing domain', async () => {
    const test = await conn.lookupByName('test');
    const ends: unknown[] = [];
    const opts = { onData: () => undefined, onEnd: (e: Error | null) => ends.push(e) };
    expect(await rejection(conn.openConsole(test.uuid, opts))).toMatchObject({ code: ERR.NO_SUPPORT, codeName: 'VIR_ERR_NO_SUPPORT' });
    expect(await rejection(conn.openConsole(MISSING_UUID, { ...opts, device: 'serial0', force: true }))).toMatchObject({ code: ERR.NO_DOMAIN });
    expect(ends).toEqual([]);
  });
});

describe('argument checks', () => {
  const uuid = MISSING_UUID;
  const fn = () => undefined;
  type Call = [string, () => unknown, RegExp];
  const calls = (): Call[] => {
    const c = conn as unknown as Record<string, (...args: unknown[]) => unknown>;
    const b = binding as unknown as Record<string, (...args: unknown[]) => unknown>;
    const cases: Call[] = [
      ['open()', () => b.open!(), /uri must be a non-empty string, got undefined/],
      ['open(42)', () => b.open!(42), /uri must be a non-empty string, got a number/],
      ["open('')", () => b.open!(''), /uri must be a non-empty string/],
      ['open(uri, 42)', () => b.open!(URI, 42), /opts must be an object when given, got a number/],
      ['open(uri, null)', () => b.open!(URI, null), /opts must be an object when given, got null/],
      ['keepaliveIntervalS -1', () => b.open!(URI, { keepaliveIntervalS: -1 }), /opts\.keepaliveIntervalS must be an integer from 0/],
      ['keepaliveIntervalS 1.5', () => b.open!(URI, { keepaliveIntervalS: 1.5 }), /opts\.keepaliveIntervalS must be an integer/],
      ["keepaliveIntervalS '2'", () => b.open!(URI, { keepaliveIntervalS: '2' }), /opts\.keepaliveIntervalS must be .*got a string/],
      ['keepaliveCount NaN', () => b.open!(URI, { keepaliveCount: NaN }), /opts\.keepaliveCount must be an integer/],
      ["readOnly 'yes'", () => b.open!(URI, { readOnly: 'yes' }), /opts\.readOnly must be a boolean, got a string/],
    ];
    for (const m of ['lookup', 'create', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'reset', 'undefine', 'xmlDesc']) {
      cases.push([`${m}()`, () => c[m]!(), /uuid must be a string of 36 characters/]);
      cases.push([`${m}(42)`, () => c[m]!(42), /uuid must be a string of 36 characters.*got a number/]);
      cases.push([`${m}('test')`, () => c[m]!('test'), /uuid must be a string of 36 characters.*got 'test'/]);
      cases.push([`${m}(36 chars, not hex)`, () => c[m]!('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'), /uuid must be a string of 36 characters/]);
    }
    for (const m of ['undefine', 'xmlDesc']) {
      cases.push([`${m}(uuid, -1)`, () => c[m]!(uuid, -1), /flags must be >= 0/]);
      cases.push([`${m}(uuid, 1.5)`, () => c[m]!(uuid, 1.5), /flags must be an integer/]);
      cases.push([`${m}(uuid, 2**32)`, () => c[m]!(uuid, 2 ** 32), /flags is out of range/]);
      cases.push([`${m}(uuid, '1')`, () => c[m]!(uuid, '1'), /flags must be a number/]);
    }
    cases.push(
      ["lookupByName('')", () => c.lookupByName!(''), /name must be a non-empty string/],
      ['lookupByName(1)', () => c.lookupByName!(1), /name must be a non-empty string, got a number/],
      ['defineXML()', () => c.defineXML!(), /xml must be a non-empty string, got undefined/],
      ["defineXML('a\\0b')", () => c.defineXML!('a\0b'), /xml must not contain NUL/],
      ['onDomainEvent()', () => c.onDomainEvent!(), /cb must be a function, got undefined/],
      ["onClosed('x')", () => c.onClosed!('x'), /cb must be a function, got a string/],
      ['openConsole(uuid)', () => c.openConsole!(uuid), /opts must be an object, got undefined/],
      ['openConsole(bad uuid)', () => c.openConsole!('x', { onData: fn, onEnd: fn }), /uuid must be a string of 36 characters/],
      ['openConsole no onData', () => c.openConsole!(uuid, { onEnd: fn }), /opts\.onData must be a function, got undefined/],
      ['openConsole no onEnd', () => c.openConsole!(uuid, { onData: fn }), /opts\.onEnd must be a function, got undefined/],
      ['openConsole device 42', () => c.openConsole!(uuid, { onData: fn, onEnd: fn, device: 42 }), /opts\.device must be a non-empty string or null, got a number/],
      ["openConsole device ''", () => c.openConsole!(uuid, { onData: fn, onEnd: fn, device: '' }), /opts\.device must be a non-empty string/],
      ["openConsole force 'yes'", () => c.openConsole!(uuid, { onData: fn, onEnd: fn, force: 'yes' }), /opts\.force must be a boolean/],
    );
    return cases;
  };

  it('throws a TypeError naming the argument and the rule, synchronously, for every method', () => {
    for (const [label, call, message] of calls()) {
      const err = thrown(call);
      expect(err, label).toBeInstanceOf(TypeError);
      expect(err.message, label).toMatch(message);
    }
  });

  it('still works after all those refusals', async () => {
    expect((await conn.lookupByName('test')).name).toBe('test');
  });

  it('cannot be constructed from JS', () => {
    const ctor = Object.getPrototypeOf(conn).constructor as new (...args: unknown[]) => unknown;
    expect(() => new ctor()).toThrow(/made by open/);
    expect(() => new ctor({})).toThrow(TypeError);
  });
});

describe('closing', () => {
  it('fails every call on a closed connection with BENTO_CLOSED, synchronously; close is idempotent', async () => {
    const c = await binding.open(URI);
    const test = await c.lookupByName('test');
    // A call in flight when close() comes still completes: it holds its own reference.
    const inflight = c.listDomains();
    const closing = c.close();
    expect(c.closed).toBe(true);
    const second = c.close();
    await Promise.all([closing, second]);
    expect((await inflight).some((d) => d.name === 'test')).toBe(true);
    await c.close();

    const ops: [string, () => unknown][] = [
      ['hostname', () => c.hostname()],
      ['capabilities', () => c.capabilities()],
      ['listDomains', () => c.listDomains()],
      ['lookup', () => c.lookup(test.uuid)],
      ['lookupByName', () => c.lookupByName('test')],
      ['defineXML', () => c.defineXML('<domain/>')],
      ['undefine', () => c.undefine(test.uuid)],
      ['create', () => c.create(test.uuid)],
      ['shutdown', () => c.shutdown(test.uuid)],
      ['destroy', () => c.destroy(test.uuid)],
      ['suspend', () => c.suspend(test.uuid)],
      ['resume', () => c.resume(test.uuid)],
      ['reboot', () => c.reboot(test.uuid)],
      ['reset', () => c.reset(test.uuid)],
      ['xmlDesc', () => c.xmlDesc(test.uuid)],
      ['openConsole', () => c.openConsole(test.uuid, { onData: () => undefined, onEnd: () => undefined })],
    ];
    for (const [label, op] of ops) {
      const err = thrown(op) as LibvirtError;
      expect(err, label).toMatchObject({ name: 'LibvirtError', code: -1, codeName: 'BENTO_CLOSED', message: `libvirt connection to ${URI} is closed` });
    }
    // Listeners are accepted (and never called) rather than thrown at.
    expect(() => c.onDomainEvent(() => undefined)).not.toThrow();
    expect(() => c.onClosed(() => undefined)).not.toThrow();
    // The shared connection still works.
    expect((await conn.lookup(test.uuid)).name).toBe('test');
  });

  it('delivers no event to a closed connection', async () => {
    const c = await binding.open(URI);
    const seen: DomainEvent[] = [];
    c.onDomainEvent((ev) => seen.push(ev));
    await c.close();
    const log = eventLog(conn);
    const { uuid } = await define('bento-after-close');
    await log.waitFor(uuid, EVENT.DEFINED);
    expect(seen).toEqual([]);
  });
});

/** Runs `script` in a child node with the binding's path as argv[2]; resolves with its exit. */
function runChild(script: string, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; timedOut: boolean }> {
  const addon = libvirtCandidatePaths().find((p) => fs.existsSync(p));
  if (addon === undefined) throw new Error('the libvirt binding is not built');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script, addon], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, timedOut });
    });
  });
}

describe('the process', () => {
  it('exits by itself after opening, using and closing connections', async () => {
    const script = `
      const b = require(process.argv[1]);
      (async () => {
        const c = await b.open('test:///default');
        c.onDomainEvent(() => {});
        c.onClosed(() => {});
        const list = await c.listDomains();
        const ro = await b.open('test:///default', { readOnly: true });
        await Promise.all([c.close(), ro.close()]);
        console.log('listed', list.length);
      })().catch((e) => { console.error(e); process.exit(3); });`;
    const r = await runChild(script, 8000);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/listed [1-9]/);
  });

  it('exits by itself after a failed open', async () => {
    const script = `
      const b = require(process.argv[1]);
      b.open('bento-no-such-driver:///x').then(() => process.exit(4), (e) => console.log('refused', e.name));`;
    const r = await runChild(script, 8000);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('refused LibvirtError');
  });

  it('stays alive while a connection is open, as with a socket', async () => {
    const script = `
      const b = require(process.argv[1]);
      b.open('test:///default').then(() => console.log('open'));`;
    const r = await runChild(script, 1500);
    expect(r.out).toContain('open');
    expect(r.timedOut).toBe(true);
  });
});
