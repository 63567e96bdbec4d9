import type { IncomingMessage, ServerResponse } from 'node:http';
import { BentoError, HTTP_STATUS, toBentoError } from '../vm/errors.js';

/** Largest request body bentod reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Sends a JSON reply. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends an error as `{error:{code,message,fields?}}` with the code's HTTP status. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = toBentoError(err);
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  sendJson(res, HTTP_STATUS[e.code], e.toJSON());
}

/** Reads and parses a JSON body; an empty body is `{}`. Malformed JSON is a 400 `invalid-json`. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BentoError('invalid-input', `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BentoError('invalid-json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}
