/** Stable error codes shared by the engine, the API and the CLI. */
export type ErrorCode =
  | 'invalid-input'
  | 'invalid-json'
  | 'not-found'
  | 'already-exists'
  | 'already-running'
  | 'not-running'
  | 'invalid-state'
  | 'unsupported'
  | 'busy'
  | 'timeout'
  | 'daemon-unavailable'
  | 'daemon-running'
  | 'forbidden'
  | 'start-failed'
  | 'qmp-error'
  | 'io-error'
  | 'internal'
  | 'download-failed'
  | 'checksum-mismatch'
  | 'image-in-use'
  | 'cancelled'
  | 'host-unreachable'
  | 'libvirt-error';

/** One field that failed validation, with the rule it broke. */
export interface FieldError {
  field: string;
  message: string;
}

/** HTTP status for each error code, used by bentod. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  'invalid-input': 400,
  'invalid-json': 400,
  'not-found': 404,
  'already-exists': 409,
  'already-running': 409,
  'not-running': 409,
  'invalid-state': 409,
  unsupported: 501,
  busy: 409,
  timeout: 504,
  'daemon-unavailable': 503,
  'daemon-running': 409,
  forbidden: 403,
  'start-failed': 500,
  'qmp-error': 500,
  'io-error': 500,
  internal: 500,
  // An image server failed us or sent bytes that do not match its publisher's checksum.
  'download-failed': 502,
  'checksum-mismatch': 502,
  'image-in-use': 409,
  // nginx's "client closed request": the only client that asked went away.
  cancelled: 499,
  // A libvirt host bentod cannot reach right now, and libvirt refusing for a reason of its own.
  'host-unreachable': 503,
  'libvirt-error': 502,
};

/** The one error type bento throws: a stable code, a message with context, optional field errors. */
export class BentoError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldError[] | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; fields?: FieldError[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BentoError';
    this.code = code;
    this.fields = options.fields;
  }

  /** The JSON body bentod sends for this error. */
  toJSON(): { error: { code: ErrorCode; message: string; fields?: FieldError[] } } {
    return { error: { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) } };
  }
}

/** Wraps anything thrown into a BentoError, keeping BentoErrors as they are. */
export function toBentoError(err: unknown, context?: string): BentoError {
  if (err instanceof BentoError) return err;
  // Only decodeURIComponent throws URIError: a malformed path from a client, never a fault in bentod.
  if (err instanceof URIError) return new BentoError('invalid-input', `malformed percent-encoding: ${err.message}`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new BentoError('internal', context ? `${context}: ${msg}` : msg, { cause: err });
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
