import type { Readable } from 'node:stream';
import type { BentoClient } from '../api/client.js';

/** The part of the API client the TUI uses; tests and benches pass a fake with the same shape. */
export type UiClient = Pick<
  BentoClient,
  'version' | 'list' | 'get' | 'create' | 'patch' | 'remove' | 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'events'
> & {
  /** Opens a streaming GET (the serial log); the caller destroys it. */
  stream(path: string): Promise<Readable>;
};
