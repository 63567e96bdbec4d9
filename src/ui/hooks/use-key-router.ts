import { useStdin } from 'ink';
import { useEffect, useState } from 'react';
import { KeyRouter } from '../key-router.js';

/** Creates the App's key router and feeds it what Ink reads, keeping the terminal in raw mode. */
export function useKeyRouter({ isActive }: { isActive: boolean }): KeyRouter {
  const { internal_eventEmitter: events, setRawMode } = useStdin();
  const [router] = useState(() => new KeyRouter());
  useEffect(() => {
    if (!isActive) return;
    setRawMode(true);
    const onInput = (data: string): void => router.push(data);
    events.on('input', onInput);
    return () => {
      events.off('input', onInput);
      setRawMode(false);
    };
  }, [isActive, events, setRawMode, router]);
  return router;
}
