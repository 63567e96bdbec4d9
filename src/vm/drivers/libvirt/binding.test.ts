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
  checkedBinding,
  isLibvirtError,
  LIBVIRT_ARG_LIMITS,
  libvirtCandidatePaths,
  loadLibvirt,
  loadLibvirtFrom,
  loadLibvirtRaw,
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

/** A stand-in for the addon that records every call it gets, for the checked wrapper to sit on. */
function recordingFake() {
  const calls: [string, unknown[]][] = [];
  const rec =
    (name: string, result: () => unknown) =>
    (...args: unknown[]) => {
      calls.push([name, args]);
      return result();
    };
  const info = { uuid: MISSING_UUID, name: 'fake' };
  const stream = { closed: false, write: rec('write', () => true), onDrain: rec('onDrain', () => undefined), close: rec('streamClose', () => undefined) };
  const connection: Record<string, unknown> = { uri: URI, closed: false };
  for (const m of ['close', 'onClosed', 'onDomainEvent', 'undefine', 'create', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'reset']) {
    connection[m] = rec(m, () => (m.startsWith('on') ? undefined : Promise.resolve()));
  }
  for (const m of ['hostname', 'capabilities', 'xmlDesc']) connection[m] = rec(m, () => Promise.resolve('text'));
  for (const m of ['lookup', 'lookupByName', 'defineXML']) connection[m] = rec(m, () => Promise.resolve(info));
  connection.listDomains = rec('listDomains', () => Promise.resolve([info]));
  connection.openConsole = rec('openConsole', () => Promise.resolve(stream));
  const raw = { version: rec('version', () => '0.0.0'), open: rec('open', () => Promise.resolve(connection)) };
  return { raw: raw as unknown as LibvirtBinding, calls };
}

type Fns = Record<string, (...args: unknown[]) => unknown>;
/** What a case calls: a binding, one of its connections and (where there is one) a console stream. */
interface Targets {
  b: Fns;
  c: Fns;
  s?: Fns;
}
interface Case {
  label: string;
  call: (t: Targets) => unknown;
  message: RegExp;
  /** Needs a console stream, which the test driver cannot open: checked in the TS layer only. */
  console?: true;
}

describe('argument checks', () => {
  const uuid = MISSING_UUID;
  const fn = () => undefined;
  const { uriMaxBytes, nameMaxBytes, xmlMaxBytes, deviceMaxBytes } = LIBVIRT_ARG_LIMITS;
  const cases = (): Case[] => {
    const c = (label: string, call: (t: Targets) => unknown, message: RegExp): Case => ({ label, call, message });
    const list: Case[] = [
      c('open()', (t) => t.b.open!(), /^open\(uri, opts\): uri must be a non-empty string, got undefined$/),
      c('open(42)', (t) => t.b.open!(42), /uri must be a non-empty string, got a number/),
      c("open('')", (t) => t.b.open!(''), /uri must be a non-empty string/),
      c('open(uri with NUL)', (t) => t.b.open!('test:///default\0x'), /uri must not contain NUL characters/),
      c('open(uri too long)', (t) => t.b.open!(`test:///${'a'.repeat(uriMaxBytes)}`), new RegExp(`uri must be at most ${uriMaxBytes} bytes in UTF-8, got ${uriMaxBytes + 8}`)),
      c('open(uri, 42)', (t) => t.b.open!(URI, 42), /opts must be an object when given, got a number/),
      c('open(uri, null)', (t) => t.b.open!(URI, null), /opts must be an object when given, got null/),
      c('open(uri, [])', (t) => t.b.open!(URI, []), /opts must be an object when given, got an object/),
      c('open(uri, Buffer)', (t) => t.b.open!(URI, Buffer.alloc(1)), /opts must be an object when given/),
      c('open(uri, DataView)', (t) => t.b.open!(URI, new DataView(new ArrayBuffer(1))), /opts must be an object when given/),
      c('open(uri, fn)', (t) => t.b.open!(URI, fn), /opts must be an object when given, got a function/),
      c('keepaliveIntervalS -1', (t) => t.b.open!(URI, { keepaliveIntervalS: -1 }), /opts\.keepaliveIntervalS must be an integer from 0 \(keepalive off\) to 3600, got -1/),
      c('keepaliveIntervalS 3601', (t) => t.b.open!(URI, { keepaliveIntervalS: 3601 }), /opts\.keepaliveIntervalS must be an integer from 0/),
      c('keepaliveIntervalS 1.5', (t) => t.b.open!(URI, { keepaliveIntervalS: 1.5 }), /opts\.keepaliveIntervalS must be an integer/),
      c("keepaliveIntervalS '2'", (t) => t.b.open!(URI, { keepaliveIntervalS: '2' }), /opts\.keepaliveIntervalS must be .*got a string/),
      c('keepaliveCount NaN', (t) => t.b.open!(URI, { keepaliveCount: NaN }), /opts\.keepaliveCount must be an integer from 0 to 1000, got NaN/),
      c('keepaliveCount 1001', (t) => t.b.open!(URI, { keepaliveCount: 1001 }), /opts\.keepaliveCount must be an integer from 0 to 1000, got 1001/),
      c('keepaliveCount Infinity', (t) => t.b.open!(URI, { keepaliveCount: Infinity }), /got Infinity/),
      c("readOnly 'yes'", (t) => t.b.open!(URI, { readOnly: 'yes' }), /opts\.readOnly must be a boolean, got a string/),
    ];
    for (const m of ['lookup', 'create', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'reset', 'undefine', 'xmlDesc']) {
      list.push(
        c(`${m}()`, (t) => t.c[m]!(), /uuid must be a string of 36 characters \(8-4-4-4-12 hex digits\), got undefined/),
        c(`${m}(42)`, (t) => t.c[m]!(42), /uuid must be a string of 36 characters.*got a number/),
        c(`${m}('test')`, (t) => t.c[m]!('test'), /uuid must be a string of 36 characters.*got 'test'$/),
        c(`${m}(36 chars, not hex)`, (t) => t.c[m]!('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'), /uuid must be a string of 36 characters/),
        c(`${m}(dashes misplaced)`, (t) => t.c[m]!('000000000-000-4000-8000-000000000000'), /uuid must be a string of 36 characters/),
      );
    }
    const sig = (m: string) => (m === 'undefine' || m === 'xmlDesc' ? `${m}(uuid, flags)` : `${m}(uuid)`);
    list.push(
      c("lookup(100 x's) quotes 60", (t) => t.c.lookup!('x'.repeat(100)), new RegExp(`^lookup\\(uuid\\): .*got '${'x'.repeat(60)}'$`)),
      c('lookup(non-ASCII)', (t) => t.c.lookup!('é'.repeat(70)), new RegExp(`got '${'é'.repeat(60)}'$`)),
      c('lookup(36 bytes, not ASCII)', (t) => t.c.lookup!(`${'é'.repeat(4)}-0000-4000-8000-000000000000`), /uuid must be a string of 36 characters/),
      c('create(new String(uuid))', (t) => t.c.create!(new String(uuid)), new RegExp(`^${sig('create').replace(/[()]/g, '\\$&')}: uuid .*got an object$`)),
    );
    for (const m of ['undefine', 'xmlDesc']) {
      list.push(
        c(`${m}(uuid, -1)`, (t) => t.c[m]!(uuid, -1), /^\w+\(uuid, flags\): flags must be >= 0, got -1$/),
        c(`${m}(uuid, 1.5)`, (t) => t.c[m]!(uuid, 1.5), /flags must be an integer, got 1.5/),
        c(`${m}(uuid, NaN)`, (t) => t.c[m]!(uuid, NaN), /flags must be an integer, got NaN/),
        c(`${m}(uuid, 2**32)`, (t) => t.c[m]!(uuid, 2 ** 32), /flags is out of range, got 4294967296/),
        c(`${m}(uuid, '1')`, (t) => t.c[m]!(uuid, '1'), /flags must be a number, got a string/),
        c(`${m}(uuid, null)`, (t) => t.c[m]!(uuid, null), /flags must be a number, got null/),
      );
    }
    list.push(
      c("lookupByName('')", (t) => t.c.lookupByName!(''), /^lookupByName\(name\): name must be a non-empty string, got ''$/),
      c('lookupByName(1)', (t) => t.c.lookupByName!(1), /name must be a non-empty string, got a number/),
      c('lookupByName(NUL)', (t) => t.c.lookupByName!('a\0'), /name must not contain NUL characters/),
      // Counted in UTF-8 bytes on both sides: 513 characters, 1026 bytes.
      c('lookupByName(too long)', (t) => t.c.lookupByName!('é'.repeat(nameMaxBytes / 2 + 1)), new RegExp(`name must be at most ${nameMaxBytes} bytes in UTF-8, got ${nameMaxBytes + 2}`)),
      c('defineXML()', (t) => t.c.defineXML!(), /xml must be a non-empty string, got undefined/),
      c("defineXML('a\\0b')", (t) => t.c.defineXML!('a\0b'), /xml must not contain NUL/),
      c('defineXML(too long)', (t) => t.c.defineXML!('x'.repeat(xmlMaxBytes + 1)), new RegExp(`^defineXML\\(xml\\): xml must be at most ${xmlMaxBytes} bytes in UTF-8, got ${xmlMaxBytes + 1}$`)),
      c('onDomainEvent()', (t) => t.c.onDomainEvent!(), /^onDomainEvent\(cb\): cb must be a function, got undefined$/),
      c("onClosed('x')", (t) => t.c.onClosed!('x'), /^onClosed\(cb\): cb must be a function, got a string$/),
      c('openConsole(uuid)', (t) => t.c.openConsole!(uuid), /^openConsole\(uuid, opts\): opts must be an object, got undefined$/),
      c('openConsole(uuid, [])', (t) => t.c.openConsole!(uuid, []), /opts must be an object, got an object/),
      c('openConsole(bad uuid)', (t) => t.c.openConsole!('x', { onData: fn, onEnd: fn }), /uuid must be a string of 36 characters/),
      c('openConsole no onData', (t) => t.c.openConsole!(uuid, { onEnd: fn }), /opts\.onData must be a function, got undefined/),
      c('openConsole no onEnd', (t) => t.c.openConsole!(uuid, { onData: fn }), /opts\.onEnd must be a function, got undefined/),
      c('openConsole device 42', (t) => t.c.openConsole!(uuid, { onData: fn, onEnd: fn, device: 42 }), /opts\.device must be a non-empty string or null, got a number/),
      c("openConsole device ''", (t) => t.c.openConsole!(uuid, { onData: fn, onEnd: fn, device: '' }), /opts\.device must be a non-empty string without NUL characters, or null$/),
      c('openConsole device NUL', (t) => t.c.openConsole!(uuid, { onData: fn, onEnd: fn, device: 'a\0' }), /opts\.device must be a non-empty string without NUL/),
      c('openConsole device too long', (t) => t.c.openConsole!(uuid, { onData: fn, onEnd: fn, device: 'd'.repeat(deviceMaxBytes + 1) }), new RegExp(`opts\\.device must be at most ${deviceMaxBytes} bytes in UTF-8`)),
      c("openConsole force 'yes'", (t) => t.c.openConsole!(uuid, { onData: fn, onEnd: fn, force: 'yes' }), /opts\.force must be a boolean, got a string/),
      // The fields are checked in order: device before force before onData.
      c('openConsole two bad fields', (t) => t.c.openConsole!(uuid, { onEnd: 1, force: 1, device: 1 }), /opts\.device must be/),
    );
    const s = (label: string, call: (t: Targets) => unknown, message: RegExp): Case => ({ label, call, message, console: true });
    list.push(
      s('write()', (t) => t.s!.write!(), /^write\(data\): data must be a Buffer or Uint8Array, got undefined$/),
      s("write('x')", (t) => t.s!.write!('x'), /data must be a Buffer or Uint8Array, got a string/),
      s('write(Uint16Array)', (t) => t.s!.write!(new Uint16Array(2)), /data must be a Buffer or Uint8Array, got an object/),
      s('write(Uint8ClampedArray)', (t) => t.s!.write!(new Uint8ClampedArray(2)), /data must be a Buffer or Uint8Array/),
      s('write(ArrayBuffer)', (t) => t.s!.write!(new ArrayBuffer(2)), /data must be a Buffer or Uint8Array/),
      s('write([1])', (t) => t.s!.write!([1]), /data must be a Buffer or Uint8Array/),
      s('onDrain(1)', (t) => t.s!.onDrain!(1), /^onDrain\(cb\): cb must be a function, got a number$/),
    );
    return list;
  };

  /** The checked wrapper over a recording fake, with a connection and a console stream from it. */
  async function checkedFake() {
    const fake = recordingFake();
    const b = checkedBinding(fake.raw);
    const c = await b.open(URI);
    const s = await c.openConsole(uuid, { onData: fn, onEnd: fn });
    fake.calls.length = 0;
    const t = { b, c, s } as unknown as Targets;
    return { fake, t };
  }

  let raw: LibvirtBinding;
  let rawConn: LibvirtConnection;
  beforeAll(async () => {
    const loaded = loadLibvirtRaw();
    if (!loaded.ok) throw new Error(`the libvirt binding must be built for these tests: ${loaded.reason}`);
    raw = loaded.binding;
    rawConn = await raw.open(URI);
  });
  afterAll(async () => {
    await rawConn?.close();
  });
  const rawTargets = (): Targets => ({ b: raw as unknown as Fns, c: rawConn as unknown as Fns });

  it('loadLibvirt hands out the checked wrapper, not the raw addon', () => {
    expect(binding).not.toBe(raw);
    expect(Object.getPrototypeOf(conn)).not.toBe(Object.getPrototypeOf(rawConn));
    expect(binding.version()).toBe(raw.version());
  });

  it('the TS layer refuses every bad argument with a TypeError before the native call (a recording fake)', async () => {
    const { fake, t } = await checkedFake();
    for (const { label, call, message } of cases()) {
      const err = thrown(() => call(t)) as TypeError & { code?: unknown };
      expect(err, label).toBeInstanceOf(TypeError);
      expect(err.message, label).toMatch(message);
      expect(err.code, label).toMatch(/^ERR_INVALID_ARG_(TYPE|VALUE)$/);
      expect(fake.calls, label).toEqual([]);
    }
  });

  it('the TS layer passes good arguments through unchanged, and wraps what open and openConsole return', async () => {
    const { fake, t } = await checkedFake();
    const data = Buffer.from('hi');
    const onDrain = () => undefined;
    await t.c.undefine!(uuid, 3);
    await t.c.xmlDesc!(uuid);
    await t.c.lookupByName!('é'.repeat(nameMaxBytes / 2));
    await t.c.defineXML!('x'.repeat(xmlMaxBytes));
    expect(t.s!.write!(data)).toBe(true);
    t.s!.write!(new Uint8Array(1));
    t.s!.onDrain!(onDrain);
    await t.b.open!(URI, { keepaliveIntervalS: 0, keepaliveCount: 1000, readOnly: false });
    await t.c.openConsole!(uuid, { device: null, force: true, onData: fn, onEnd: fn });
    expect(fake.calls.map(([name]) => name)).toEqual(['undefine', 'xmlDesc', 'lookupByName', 'defineXML', 'write', 'write', 'onDrain', 'open', 'openConsole']);
    expect(fake.calls[0]![1]).toEqual([uuid, 3]);
    expect(fake.calls[4]![1][0]).toBe(data);
    expect(fake.calls[6]![1][0]).toBe(onDrain);
    // The getters read through to the native object.
    expect((t.c as unknown as LibvirtConnection).uri).toBe(URI);
    expect((t.c as unknown as LibvirtConnection).closed).toBe(false);
    expect((t.s as unknown as { closed: boolean }).closed).toBe(false);
  });

  it('the raw addon still refuses the same arguments in C++ with the same TypeError, code and message', async () => {
    const { t } = await checkedFake();
    const nativeCases = cases().filter((c) => !c.console);
    expect(nativeCases.length).toBeGreaterThan(80);
    for (const { label, call, message } of nativeCases) {
      const native = thrown(() => call(rawTargets())) as TypeError & { code?: unknown };
      const ts = thrown(() => call(t)) as TypeError & { code?: unknown };
      expect(native, label).toBeInstanceOf(TypeError);
      expect(native.message, label).toMatch(message);
      expect({ message: ts.message, code: ts.code }, label).toEqual({ message: native.message, code: native.code });
    }
    // No crash, and the raw connection still works.
    expect((await rawConn.lookupByName('test')).name).toBe('test');
  });

  it('throws a TypeError naming the argument and the rule, synchronously, for every method (checked binding, real addon)', () => {
    const t = { b: binding as unknown as Fns, c: conn as unknown as Fns };
    for (const { label, call, message } of cases().filter((c) => !c.console)) {
      const err = thrown(() => call(t));
      expect(err, label).toBeInstanceOf(TypeError);
      expect(err.message, label).toMatch(message);
    }
  });

  it('still works after all those refusals', async () => {
    expect((await conn.lookupByName('test')).name).toBe('test');
  });

  it('cannot be constructed from JS', () => {
    const ctor = Object.getPrototypeOf(rawConn).constructor as new (...args: unknown[]) => unknown;
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
