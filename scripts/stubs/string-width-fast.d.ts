/** The width of `input` as string-width computes it with default options, or -1 when only string-width can tell. */
export function plainWidth(input: unknown, options: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean } | undefined, eastAsianWidth: (codePoint: number) => number): number;
/** The grapheme segments of `input` as Intl.Segmenter gives them, when each character is its own segment; null otherwise. */
export function plainSegments(input: string): { segment: string; index: number }[] | null;
