import { WebSocket } from 'ws';
import { enterRaw, type RawHandle } from '../native/termios.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { createSanitizer } from './sanitize.js';
import { createSizeProbe } from './size-probe.js';
import { TERMINAL_RESTORE } from './sanitize-policy.js';

/** Why an attach session ended. */
export type AttachEnd = 'detached' | 'closed' | 'daemon-lost' | 'signal';

/** What attachConsole needs. */
export interface AttachOptions {
  socket: string;
  name: string;
  /** The byte that detaches (Ctrl-] = 0x1d); it never reaches the guest. */
  escape: number;
  escapeLabel: string;
  force?: boolean;
  readOnly?: boolean;
  scrollback?: number;
  /** Replay everything the current run printed (for `start --console`). */
  fromBoot?: boolean;
  /**
   * Pass guest output through unfiltered. Only for the TUI's pane, whose terminal is a headless one
   * that draws cells and never acts on the host: there the guest's queries (CSI 6n) get answers.
   */
  unfiltered?: boolean;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  /** How long bentod gets to accept the console (default 10 s), and the error to give when it does not. */
  handshakeTimeoutMs?: number;
  timeoutError?: (ms: number) => BentoError;
}

/** The result of an attach session: how it ended and the message shown to the user. */
export interface AttachResult {
  end: AttachEnd;
  message: string;
  signal?: NodeJS.Signals;
}

/**
 * Attaches the terminal to a VM's console through bentod: full raw mode (cfmakeraw: Ctrl-C, Ctrl-Z,
 * Ctrl-\ go to the guest, and no output processing, so the guest's bytes reach the terminal as sent),
 * guest output sanitised before it reaches the terminal, the escape key detaches. The terminal's exact
 * modes are restored on every exit path: detach, the VM stopping, bentod going away, SIGTERM, SIGHUP,
 * and a process exit nobody planned.
 */
export function attachConsole(opts: AttachOptions): Promise<AttachResult> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const params = new URLSearchParams();
  if (opts.force) params.set('force', '1');
  if (opts.readOnly) params.set('readonly', '1');
  if (opts.scrollback !== undefined) params.set('scrollback', String(opts.scrollback));
  if (opts.fromBoot) params.set('from', 'boot');
  const url = `ws+unix://${opts.socket}:/api/vms/${encodeURIComponent(opts.name)}/console?${params}`;

  return new Promise((resolve, reject) => {
    const handshakeMs = opts.handshakeTimeoutMs ?? 10_000;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: handshakeMs });
    const clean = opts.unfiltered ? { push: (b: Buffer) => b, flush: () => Buffer.alloc(0) } : createSanitizer();
    let raw: RawHandle | null = null;
    // The sanitiser drops the guest's CSI 6n (the host terminal would answer it); a resize-style size
    // probe is answered here instead, from the real terminal's size. The pane's headless terminal
    // answers queries itself, and a reader's keys are not sent, so only the input holder answers.
    // Only after this viewer has typed: the probe follows a command typed here, and the replayed
    // scrollback that comes first may hold an old probe no program is waiting on any more.
    let holdsInput = !opts.readOnly;
    let typed = false;
    const probe = opts.unfiltered
      ? null
      : createSizeProbe(() => (stdout.isTTY && stdout.columns > 0 && stdout.rows > 0 ? { cols: stdout.columns, rows: stdout.rows } : null));
    let done = false;
    let closedReason: string | null = null;
    let opened = false;
    // A stopped (SIGSTOP) or wedged bentod keeps the socket open and says nothing: ping it, and
    // give up once neither a pong nor any output has come for LIVENESS_MS.
    let lastHeard = Date.now();
    let liveness: NodeJS.Timeout | null = null;

    const finish = (res: AttachResult): void => {
      if (done) return;
      done = true;
      if (liveness) clearInterval(liveness);
      stdin.off('data', onKey);
      for (const s of SIGNALS) process.off(s, onSignal[s]);
      process.off('exit', restoreOnExit);
      stdout.write(clean.flush());
      if (raw) {
        if (!opts.unfiltered) stdout.write(TERMINAL_RESTORE);
        // After output drains (TCSADRAIN), so what was written above is shown in raw mode as sent.
        raw.restore();
      }
      stdin.pause();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      stderr.write(`\r\n[bento] ${res.message}\r\n`);
      resolve(res);
    };
    const onKey = (chunk: Buffer): void => {
      const i = chunk.indexOf(opts.escape);
      const send = i >= 0 ? chunk.subarray(0, i) : chunk;
      if (send.length && ws.readyState === ws.OPEN) {
        ws.send(send, { binary: true });
        typed = true;
      }
      if (i >= 0) finish({ end: 'detached', message: `detached from ${opts.name}` });
    };
    // An exception or process.exit elsewhere must not leave the user's terminal raw.
    const restoreOnExit = (): void => {
      raw?.restore();
    };
    const onSignal = Object.fromEntries(
      SIGNALS.map((s) => [s, () => finish({ end: 'signal', signal: s, message: `${s}: detached from ${opts.name}` })]),
    ) as Record<NodeJS.Signals, () => void>;

    ws.on('upgrade', () => {
      opened = true;
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        let err: BentoError;
        try {
          const e = (JSON.parse(body) as { error: { code: 'not-running'; message: string } }).error;
          err = new BentoError(e.code, e.message);
        } catch {
          err = new BentoError('internal', `bentod refused the console (${res.statusCode})`);
        }
        reject(err);
      });
    });
    ws.on('error', (err) => {
      // ws reports its own handshake deadline as an error with this text.
      if (!opened && /handshake has timed out/.test(err.message)) {
        reject(opts.timeoutError?.(handshakeMs) ?? new BentoError('timeout', `bentod did not answer in ${handshakeMs / 1000} s`));
      } else if (!opened) reject(new BentoError('daemon-unavailable', `cannot reach bentod at ${opts.socket}: ${err.message}`));
    });
    ws.on('open', () => {
      stderr.write(`[bento] connected to ${opts.name} (${opts.escapeLabel} to detach)\r\n`);
      if (stdin.isTTY) {
        const fd = (stdin as { fd?: unknown }).fd;
        try {
          if (typeof fd !== 'number') throw new BentoError('unsupported', 'the terminal stream has no file descriptor');
          raw = enterRaw(fd, stdin);
        } catch (err) {
          // Nothing was changed (enterRaw puts back what it touched): say why and do not attach half raw.
          done = true;
          ws.terminate();
          reject(new BentoError('io-error', `cannot put the terminal in raw mode: ${errorMessage(err)}`, { cause: err }));
          return;
        }
        process.on('exit', restoreOnExit);
      }
      stdin.on('data', onKey);
      stdin.resume();
      for (const s of SIGNALS) process.on(s, onSignal[s]);
      lastHeard = Date.now();
      liveness = setInterval(() => {
        if (Date.now() - lastHeard > LIVENESS_MS) {
          finish({ end: 'daemon-lost', message: `bentod stopped answering (nothing for ${LIVENESS_MS / 1000} s); ${opts.name} keeps running` });
        } else if (ws.readyState === ws.OPEN) ws.ping();
      }, PING_EVERY_MS);
    });
    ws.on('pong', () => (lastHeard = Date.now()));
    ws.on('message', (data, isBinary) => {
      lastHeard = Date.now();
      if (isBinary) {
        if (probe) {
          for (const answer of probe.scan(data as Buffer)) {
            if (typed && holdsInput && ws.readyState === ws.OPEN) ws.send(answer, { binary: true });
          }
        }
        stdout.write(clean.push(data as Buffer));
        return;
      }
      const msg = JSON.parse(String(data)) as { type: string; role?: string; message?: string; reason?: string };
      if ((msg.type === 'hello' || msg.type === 'role') && msg.role) holdsInput = msg.role !== 'reader';
      if (msg.type === 'hello' && msg.role === 'reader') stderr.write(`[bento] read-only: another viewer holds the input\r\n`);
      if (msg.type === 'role' && msg.role === 'reader') stderr.write(`\r\n[bento] read-only now: ${msg.reason}\r\n`);
      if (msg.type === 'notice') stderr.write(`\r\n[bento] ${msg.message}\r\n`);
      if (msg.type === 'closed') closedReason = msg.reason ?? 'console closed';
    });
    ws.on('close', () => {
      if (!opened) return;
      if (closedReason) finish({ end: 'closed', message: closedReason });
      else finish({ end: 'daemon-lost', message: `lost the connection to bentod; ${opts.name} keeps running` });
    });
  });
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
/** How often an attached console pings bentod. */
const PING_EVERY_MS = 5_000;
/** Silence from bentod (no pong, no output) after which the attach ends as daemon-lost. */
const LIVENESS_MS = 20_000;
