// The width of text made only of characters that are each a grapheme cluster of their own and no
// emoji: printable ASCII, Latin, Greek, Cyrillic, general punctuation, and the symbol blocks
// U+2100-U+2BFF (arrows, box drawing, shapes) minus Extended_Pictographic. For such text every
// string-width version in the bundle answers the sum of the characters' East Asian widths, without
// an Intl.Segmenter (about 15 ms to create) or its emoji regular expressions (30-60 ms to compile
// the first time, on the TUI's first frame). Anything else returns -1: the caller asks string-width.
// test/unit/string-width-fast.test.ts checks every such character against the real packages.

const EMOJI_LIKE = /\p{Extended_Pictographic}/u;

/** True when the UTF-16 unit `c` is one of the characters described above (ASCII is handled before). */
function plain(c) {
  return (
    (c >= 0xa0 && c <= 0x2ff && c !== 0xad) || // Latin-1 (not the soft hyphen), Latin Extended, IPA, modifier letters
    (c >= 0x370 && c <= 0x482) || // Greek, Cyrillic (before its combining marks)
    (c >= 0x2010 && c <= 0x2027) || // dashes, quotes, bullets, ellipsis
    (c >= 0x2030 && c <= 0x205e) || // per mille, primes, more punctuation (not the invisible operators after it)
    (c >= 0x2070 && c <= 0x20cf) || // super- and subscripts, currency signs (not the combining marks after them)
    (c >= 0x2100 && c <= 0x2bff) // letterlike, arrows, math, technical, box drawing, shapes, symbols
  );
}

/** The width of `input` as string-width computes it with default options, or -1 when only string-width can tell. */
export function plainWidth(input, options, eastAsianWidth) {
  if (typeof input !== 'string' || input.length === 0) return 0;
  if (options && (options.ambiguousIsNarrow === false || options.countAnsiEscapeCodes)) return -1;
  let width = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      width += 1;
      continue;
    }
    if (!plain(c) || EMOJI_LIKE.test(input[i])) return -1;
    width += eastAsianWidth(c);
  }
  return width;
}

/**
 * The grapheme segments of `input` ({segment, index}, as Intl.Segmenter gives them) when every
 * character is printable ASCII, ESC (escape sequences are made of such characters) or one of the
 * characters above, each then a segment of its own; null when only Intl.Segmenter can tell.
 */
export function plainSegments(input) {
  const segments = [];
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (!((c >= 0x20 && c <= 0x7e) || c === 0x1b || (plain(c) && !EMOJI_LIKE.test(input[i])))) return null;
    segments.push({ segment: input[i], index: i });
  }
  return segments;
}
