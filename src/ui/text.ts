/**
 * Text helpers for the TUI. Anything that came from a guest or from bentod is passed through
 * cleanText before Ink sees it: Ink keeps OSC sequences (clipboard writes, titles) in text, so
 * guest output must never reach a <Text> with its escapes intact.
 */

/* eslint-disable no-control-regex -- these match terminal control bytes on purpose */
// CSI, OSC/DCS/APC/PM/SOS strings (terminated by BEL or ST), then any other two-byte escape.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?/g;
// C0 except TAB, DEL, C1 (8-bit controls that some terminals still act on).
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
/* eslint-enable no-control-regex */

// Every C0 control, DEL and C1: what a one-line label must never send to a terminal.
// eslint-disable-next-line no-control-regex -- these are the bytes it replaces
const LABEL_CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * A one-line label from elsewhere (a libvirt domain's name, a host's message) made safe to print:
 * each control character, C1 included (libvirt accepts U+009B, CSI on some terminals, in a domain
 * name), becomes U+FFFD, so it shows as damaged instead of acting on the terminal or vanishing.
 */
export function printable(s: string): string {
  return s.replace(LABEL_CONTROLS, '\ufffd');
}

/** printable for a message of several lines: each line on its own, the line breaks kept. */
export function printableLines(s: string): string {
  return s.split('\n').map(printable).join('\n');
}

/** Strips every escape sequence and control character; tabs become spaces (to the next 8 column). */
export function cleanText(s: string): string {
  let out = s.replace(ESCAPES, '').replace(CONTROLS, '');
  if (out.includes('\t')) {
    let col = 0;
    let res = '';
    for (const ch of out) {
      if (ch === '\t') {
        const n = 8 - (col % 8);
        res += ' '.repeat(n);
        col += n;
      } else {
        res += ch;
        col++;
      }
    }
    out = res;
  }
  return out;
}

/** Cuts `s` to `width` columns (with … when cut) and pads it to exactly `width`. */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
  return s.padEnd(width);
}

/** Like fit, but cuts from the left, keeping the end (paths): …/vms/web/disk.qcow2. */
export function fitStart(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `…${s.slice(s.length - width + 1)}`;
  return s.padEnd(width);
}

/** Right-aligns `s` in `width` columns, cutting it when longer. */
export function fitRight(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length > width ? s.slice(0, width) : s.padStart(width);
}

/** Word-wraps `s` into lines of at most `width` columns (long words are cut); no leading spaces. */
export function wrapWords(s: string, width: number): string[] {
  const w = Math.max(width, 1);
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    let rest = word;
    while (rest.length > w) {
      if (line) {
        out.push(line);
        line = '';
      }
      out.push(rest.slice(0, w));
      rest = rest.slice(w);
    }
    if (!line) line = rest;
    else if (line.length + 1 + rest.length <= w) line += ` ${rest}`;
    else {
      out.push(line);
      line = rest;
    }
  }
  if (line) out.push(line);
  return out;
}
