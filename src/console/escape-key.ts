import { BentoError } from '../vm/errors.js';

/** virsh's rule: `^` followed by one of a-z @ [ \ ] ^ _ (a control character the guest rarely needs). */
export const ESCAPE_RULE = 'must be ^ followed by one of a-z @ [ \\ ] ^ _ (for example ^])';

/** The default escape key, Ctrl-]. */
export const DEFAULT_ESCAPE = '^]';

/** Turns `^]` into the byte the terminal sends for it (0x1d); throws a field error otherwise. */
export function parseEscapeKey(text: string): number {
  const m = /^\^([a-zA-Z@[\\\]^_])$/.exec(text);
  if (!m) throw new BentoError('invalid-input', `escape key "${text}" ${ESCAPE_RULE}`, { fields: [{ field: 'escape', message: ESCAPE_RULE }] });
  return m[1]!.toUpperCase().charCodeAt(0) ^ 0x40;
}

/** How the escape key is shown to people: Ctrl-]. */
export function describeEscapeKey(text: string): string {
  return `Ctrl-${text.slice(1)}`;
}
