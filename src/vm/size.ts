import { BentoError } from './errors.js';

const UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
const SIZE_RE = /^(\d+)(?:\.(\d+))?([KMGT])?(?:i?B)?$/i;

/** The rule a size string must follow, for error messages. */
export const SIZE_RULE = 'a whole number of MiB or a size like 512M, 1.5G, 2GiB';

/**
 * Parses a size (`512M`, `1.5G`, `2GiB`, a bare number of MiB) into whole MiB.
 * Returns null when the text does not follow SIZE_RULE or is not a whole number of MiB.
 */
export function parseSizeMiB(input: string | number): number | null {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : null;
  const m = SIZE_RE.exec(input.trim());
  if (!m) return null;
  const unit = UNITS[(m[3] ?? 'M').toUpperCase()];
  if (unit === undefined) return null;
  const value = Number(`${m[1]}.${m[2] ?? '0'}`) * unit;
  if (!Number.isFinite(value)) return null;
  // 1.5G is fine (1536 MiB); 0.3M is not a whole MiB and would surprise the user once rounded.
  const rounded = Math.round(value);
  return Math.abs(rounded - value) < 1e-9 && Number.isSafeInteger(rounded) ? rounded : null;
}

/** Like parseSizeMiB, but throws a field error naming `field`. */
export function requireSizeMiB(input: string | number, field: string): number {
  const v = parseSizeMiB(input);
  if (v === null) {
    throw new BentoError('invalid-input', `${field}: "${input}" is not ${SIZE_RULE}`, {
      fields: [{ field, message: `must be ${SIZE_RULE}` }],
    });
  }
  return v;
}

/** Formats MiB for people: 512M, 2G, 1.5G. */
export function formatMiB(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024}G`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1).replace(/\.0$/, '')}G`;
  return `${mib}M`;
}
