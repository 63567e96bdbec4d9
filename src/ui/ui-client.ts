import type { Readable } from 'node:stream';
import type { BentoClient } from '../api/client.js';
import type { Disposer } from '../vm/types.js';
import type { ImageApi, UiEventHandlers } from './image-api.js';

/** The part of the API client the TUI uses; tests and benches pass a fake with the same shape. */
export type UiClient = Pick<
  BentoClient,
  'version' | 'list' | 'get' | 'hosts' | 'create' | 'patch' | 'remove' | 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'suspend' | 'clone' | 'rename' | 'snapshots' | 'snapshot' | 'restoreSnapshot' | 'removeSnapshot'
> &
  ImageApi & {
    /** Subscribes to /api/events; the handlers may take image pull progress too. */
    events(handlers: UiEventHandlers, opts?: { snapshot?: boolean; stats?: boolean }): Promise<Disposer>;
    /** Opens a streaming GET (the serial log); the caller destroys it. */
    stream(path: string): Promise<Readable>;
  };
