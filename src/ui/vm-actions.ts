/** Which action fits which state, for the TUI: the one table in src/vm/actions.ts, as status-line text. */
import { refusal as vmRefusal, type VmAction } from '../vm/actions.js';
import type { Vm } from '../vm/types.js';

export { pauseAction, type VmAction } from '../vm/actions.js';

/** Why `action` does not fit `vm` right now (the text bentod would answer), or null when it does. */
export function refusal(action: VmAction, vm: Vm): string | null {
  return vmRefusal(action, vm)?.message ?? null;
}
