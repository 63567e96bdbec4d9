/** The width of `input` as string-width computes it with default options, or -1 when only string-width can tell. */
export function plainWidth(input: unknown, options: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean } | undefined, eastAsianWidth: (codePoint: number) => number): number;
