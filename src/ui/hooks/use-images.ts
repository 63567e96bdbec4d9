import { useEffect, useState } from 'react';
import { errorMessage } from '../../vm/errors.js';
import type { ImageList } from '../image-api.js';
import type { UiClient } from '../ui-client.js';

/** The image list as the new-VM form knows it. */
export type ImagesState = { status: 'loading' } | { status: 'ready'; list: ImageList } | { status: 'failed'; message: string };

/** The cached images and the catalog, asked for each time `isActive` turns on (the form opens). */
export function useImages(client: UiClient, { isActive }: { isActive: boolean }): ImagesState {
  const [state, setState] = useState<ImagesState>({ status: 'loading' });
  useEffect(() => {
    if (!isActive) return;
    let live = true;
    // A list from before stays up while the fresh one is on its way.
    setState((s) => (s.status === 'ready' ? s : { status: 'loading' }));
    // Through a promise, so a client without the call yet fails here like a request would.
    Promise.resolve()
      .then(() => client.images())
      .then(
        (list) => live && setState({ status: 'ready', list }),
        (err: unknown) => live && setState({ status: 'failed', message: errorMessage(err) }),
      );
    return () => {
      live = false;
    };
  }, [client, isActive]);
  return state;
}
