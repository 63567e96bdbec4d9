// The vz helper's wire protocol: JSON lines on its control socket (vz.sock, 0600), and one JSON line
// on its stdout when it has started (or failed to). Both ends validate every line they read.
import { z } from 'zod';
import { VM_STATES } from '../../types.js';
import { LineFramer } from '../json-lines.js';
import { vzConfigSchema } from './config.js';

/** Bumped on any incompatible change; the hello carries it so bentod can refuse a helper it cannot drive. */
export const PROTOCOL_VERSION = 1;
/** Longest line either side accepts; a longer one is a broken or hostile peer. */
export const MAX_LINE = 64 * 1024;

const wireErrorSchema = z.object({
  kind: z.enum(['unsupported', 'config', 'state', 'vz', 'exception', 'io', 'binding', 'entitlement', 'protocol', 'internal']),
  message: z.string(),
  domain: z.string().optional(),
  nsCode: z.number().optional(),
  failureReason: z.string().optional(),
  exceptionName: z.string().optional(),
});
const stateSchema = z.enum(VM_STATES);

/** Operations a client may ask of the helper. */
export const HELPER_OPS = ['query', 'inspect', 'pause', 'resume', 'requestStop', 'stop', 'save'] as const;
/** One operation name. */
export type HelperOp = (typeof HELPER_OPS)[number];

/** A client's request: `{"id":1,"op":"pause"}`; save takes an optional file. */
export const requestSchema = z.strictObject({
  id: z.number().int().nonnegative(),
  op: z.enum(HELPER_OPS),
  file: z.string().min(1).optional(),
});
/** A request line after validation. */
export type HelperRequest = z.infer<typeof requestSchema>;

/** Everything the helper sends on the control socket (a plain union: two members share type "reply"). */
export const helperMessageSchema = z.union([
  z.object({
    type: z.literal('hello'),
    protocol: z.number(),
    pid: z.number().int(),
    state: stateSchema,
    vzState: z.string(),
    startedAt: z.string(),
    logOffset: z.number().int().nonnegative(),
    saveRestore: z.boolean(),
  }),
  z.object({ type: z.literal('state'), state: stateSchema, vzState: z.string(), reason: z.string().nullable() }),
  z.object({ type: z.literal('reply'), id: z.number().nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ type: z.literal('reply'), id: z.number().nullable(), ok: z.literal(false), error: wireErrorSchema }),
]);
/** One message from the helper. */
export type HelperMessage = z.infer<typeof helperMessageSchema>;

/** The single line the helper prints on stdout once the VM runs, or when it could not start it. */
export const startupLineSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), pid: z.number().int(), startedAt: z.string(), logOffset: z.number().int().nonnegative(), node: z.string() }),
  z.object({ type: z.literal('failed'), error: wireErrorSchema }),
]);
/** The startup line. */
export type StartupLine = z.infer<typeof startupLineSchema>;

/** The file bentod writes for the helper (vz-helper.json): the VM's native configuration and its files. */
export const helperConfigSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  name: z.string(),
  vz: vzConfigSchema,
  files: z.strictObject({ control: z.string(), console: z.string(), log: z.string(), state: z.string() }),
  /** A saved state to restore instead of booting (macOS 14+). */
  restoreFrom: z.string().nullable(),
});
/** The helper's configuration. */
export type HelperConfig = z.infer<typeof helperConfigSchema>;

/** Splits a byte stream into lines; reports a line over MAX_LINE instead of buffering without end. */
export class LineSplitter {
  private readonly framer: LineFramer;

  constructor(onLine: (line: string) => void, onOverflow: () => void) {
    this.framer = new LineFramer(MAX_LINE, onLine, onOverflow);
  }

  /** Feeds a chunk; calls onLine for each complete, non-empty line. */
  push(chunk: Buffer | string): void {
    this.framer.push(chunk);
  }
}

/** Parses one line against a schema; null when it is not JSON or not that shape. */
export function parseLine<T>(schema: z.ZodType<T>, line: string): T | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const r = schema.safeParse(value);
  return r.success ? r.data : null;
}
