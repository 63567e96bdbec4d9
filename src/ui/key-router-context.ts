import { createContext } from 'react';
import type { KeyRouter } from './key-router.js';

/** The App's key router; panes claim the keyboard through useKeys. */
export const KeyRouterContext = createContext<KeyRouter | null>(null);
