import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';

/** An event the fake sends; it adds the timestamp QEMU always includes. */
export interface FakeEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** One expected command and how the fake answers it. */
export interface FakeStep {
  /** The command the client must send at this point of the script. */
  expect: string;
  /** When set, the command's arguments must equal this. */
  args?: Record<string, unknown>;
  /** The reply's `return` value (default `{}`). */
  return?: unknown;
  /** Answer with this error instead of a return value. */
  error?: { class: string; desc: string };
  /** Events sent after the reply (before it with `eventsFirst`, as QEMU does for stop and cont). */
  events?: FakeEvent[];
  eventsFirst?: boolean;
  /** Lines that are not JSON, sent just before the reply. */
  garbage?: string[];
  /** Send everything this step produces (garbage, held replies, reply, events) in a single write. */
  oneChunk?: boolean;
  /** Write the reply line in this many pieces, a few ms apart. */
  splitReply?: number;
  /** Keep this reply back and send it after the next step's reply (out-of-order replies). */
  hold?: boolean;
  /** Wait this long before answering; later steps wait behind it. */
  delayMs?: number;
  /** Never answer. */
  noReply?: boolean;
  /** Close the connection instead of answering, or right after the answer. */
  close?: 'instead-of-reply' | 'after-reply';
}

/** The whole conversation: the greeting and the commands in the order they must come. */
export interface FakeScript {
  steps: FakeStep[];
  /** The greeting's `QMP` object (default: like QEMU 7.2's). */
  greeting?: unknown;
  /** Raw text sent instead of the greeting. */
  rawGreeting?: string;
  /** Send no greeting at all. */
  noGreeting?: boolean;
  /** Write the greeting in this many pieces, a few ms apart. */
  greetingChunks?: number;
}

/** A command as the fake received it. */
export interface ReceivedCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

/** A running fake QMP server. */
export interface FakeQmp {
  readonly path: string;
  /** Every command received, expected or not. */
  readonly received: ReceivedCommand[];
  /** What went against the script: unexpected commands, wrong arguments, unparseable input. */
  readonly failures: string[];
  /** Steps not reached yet. */
  readonly remaining: number;
  /** Sends an event on every open connection, after whatever the script is still writing. */
  emit(ev: FakeEvent): Promise<void>;
  /** Writes raw text on every open connection (partial lines, oversized lines, junk). */
  sendRaw(text: string): Promise<void>;
  /** Ends every open connection (QEMU going away) but keeps listening. */
  drop(): void;
  /** Ends every connection and stops listening. */
  close(): Promise<void>;
}

/** A capabilities step that succeeds; most scripts start with it. */
export const CAPABILITIES: FakeStep = { expect: 'qmp_capabilities', return: {} };

const DEFAULT_GREETING = {
  version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'fake-qmp' },
  capabilities: ['oob'],
};
/** Gap between the pieces of a split write, long enough that the reader sees them apart. */
const PIECE_GAP_MS = 5;

/** Starts a fake QMP server on a Unix socket that follows `script`, libvirt's qemumonitortestutils style. */
export async function startFakeQmp(path: string, script: FakeScript): Promise<FakeQmp> {
  const received: ReceivedCommand[] = [];
  const failures: string[] = [];
  const conns = new Map<net.Socket, { chain: Promise<void> }>();
  let cursor = 0;
  let held: string[] = [];

  const line = (msg: unknown): string => `${JSON.stringify(msg)}\r\n`;
  const stamp = (ev: FakeEvent): string => {
    const now = Date.now();
    return line({ timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 }, ...ev });
  };
  // QEMU answers a command in order on one connection; a chain per socket keeps our writes in order too.
  const enqueue = (sock: net.Socket, job: () => Promise<void>): Promise<void> => {
    const c = conns.get(sock);
    if (!c) return Promise.resolve();
    c.chain = c.chain.then(job).catch((err: unknown) => void failures.push(`fake-qmp write failed: ${String(err)}`));
    return c.chain;
  };
  const write = async (sock: net.Socket, text: string, pieces = 1): Promise<void> => {
    const size = Math.ceil(text.length / pieces);
    for (let at = 0; at < text.length; at += size) {
      if (sock.destroyed) return;
      if (at > 0) await sleep(PIECE_GAP_MS);
      sock.write(text.slice(at, at + size));
    }
  };

  const answer = async (sock: net.Socket, cmd: ReceivedCommand, step: FakeStep): Promise<void> => {
    if (step.delayMs) await sleep(step.delayMs);
    if (step.close === 'instead-of-reply') return void sock.end();
    if (step.noReply) return;
    const reply = line(step.error ? { error: step.error, id: cmd.id } : { return: step.return ?? {}, id: cmd.id });
    if (step.hold) return void held.push(reply);
    const events = (step.events ?? []).map(stamp);
    const parts = [
      ...(step.garbage ?? []).map((g) => `${g}\r\n`),
      ...(step.eventsFirst ? events : []),
      reply,
      ...held,
      ...(step.eventsFirst ? [] : events),
    ];
    held = [];
    if (step.oneChunk) await write(sock, parts.join(''));
    else for (const p of parts) await write(sock, p, p === reply ? (step.splitReply ?? 1) : 1);
    if (step.close === 'after-reply') sock.end();
  };

  const onCommand = (sock: net.Socket, raw: string): void => {
    let cmd: ReceivedCommand;
    try {
      cmd = JSON.parse(raw) as ReceivedCommand;
    } catch {
      failures.push(`unparseable input: ${raw}`);
      return;
    }
    received.push(cmd);
    const step = script.steps[cursor];
    let problem: string | null = null;
    if (!step) problem = `unexpected command ${cmd.execute}: the script has ended`;
    else if (cmd.execute !== step.expect) problem = `unexpected command ${cmd.execute} at step ${cursor}: expected ${step.expect}`;
    else if (step.args !== undefined && !isDeepStrictEqual(cmd.arguments, step.args)) {
      problem = `${cmd.execute} at step ${cursor}: arguments ${JSON.stringify(cmd.arguments)}, expected ${JSON.stringify(step.args)}`;
    }
    if (problem || !step) {
      failures.push(problem ?? 'no step');
      void enqueue(sock, () => write(sock, line({ error: { class: 'CommandNotFound', desc: `fake-qmp: ${problem}` }, id: cmd.id })));
      return;
    }
    cursor++;
    void enqueue(sock, () => answer(sock, cmd, step));
  };

  const server = net.createServer((sock) => {
    conns.set(sock, { chain: Promise.resolve() });
    sock.setEncoding('utf8');
    let buf = '';
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (raw) onCommand(sock, raw);
      }
    });
    // The client may go away at any moment; that is not the fake's failure.
    sock.on('error', () => undefined);
    sock.on('close', () => conns.delete(sock));
    if (script.noGreeting) return;
    const greeting = script.rawGreeting ?? line({ QMP: script.greeting ?? DEFAULT_GREETING });
    void enqueue(sock, () => write(sock, greeting, script.greetingChunks ?? 1));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });

  return {
    path,
    received,
    failures,
    get remaining() {
      return script.steps.length - cursor;
    },
    async emit(ev) {
      await Promise.all([...conns.keys()].map((sock) => enqueue(sock, () => write(sock, stamp(ev)))));
    },
    async sendRaw(text) {
      await Promise.all([...conns.keys()].map((sock) => enqueue(sock, () => write(sock, text))));
    },
    drop() {
      for (const sock of conns.keys()) sock.end();
    },
    async close() {
      for (const sock of conns.keys()) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
