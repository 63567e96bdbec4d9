import { describe, expect, it } from 'vitest';
import { createSizeProbe } from './size-probe.js';

const BUSYBOX_RESIZE = '\x1b7\x1b[r\x1b[999;999H\x1b[6n';
const XTERM_RESIZE = '\x1b7\x1b[r\x1b[999;999H\x1b[6n';

function answers(chunks: string[], size: { cols: number; rows: number } | null = { cols: 132, rows: 43 }): string[] {
  const probe = createSizeProbe(() => size);
  return chunks.flatMap((c) => probe.scan(Buffer.from(c, 'latin1')).map((b) => b.toString('latin1')));
}

describe('size probe answers', () => {
  it("answers resize's probe with the real terminal's rows and columns", () => {
    expect(answers([BUSYBOX_RESIZE])).toEqual(['\x1b[43;132R']);
    expect(answers([XTERM_RESIZE], { cols: 80, rows: 24 })).toEqual(['\x1b[24;80R']);
  });

  it('finds the probe split across chunks at every byte', () => {
    const all = `# ${BUSYBOX_RESIZE}`;
    for (let i = 1; i < all.length; i++) expect(answers([all.slice(0, i), all.slice(i)]), `split at ${i}`).toEqual(['\x1b[43;132R']);
  });

  it('answers a plain CUP position exactly, clamped to the screen', () => {
    expect(answers(['\x1b[5;7H\x1b[6n'])).toEqual(['\x1b[5;7R']);
    expect(answers(['\x1b[H\x1b[6n'])).toEqual(['\x1b[1;1R']);
    expect(answers(['\x1b[;200f\x1b[6n'])).toEqual(['\x1b[1;132R']);
    expect(answers(['\x1b[99999999999999;0H\x1b[6n'])).toEqual(['\x1b[43;1R']);
    // A second query at the same place is answered again.
    expect(answers(['\x1b[2;2H\x1b[6n\x1b[6n'])).toEqual(['\x1b[2;2R', '\x1b[2;2R']);
  });

  it('leaves the query unanswered when the cursor position is not known for certain', () => {
    // ash asks after every prompt: the column depends on what was printed before.
    expect(answers(['# \x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[999;999Hx\x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[999;999H\r\x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[999;999H\x1b[A\x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[999;999H\x1b8\x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[999;999H\x1b[?6n'])).toEqual([]);
    expect(answers(['\x1b[?999;999H\x1b[6n'])).toEqual([]);
    expect(answers(['\x1b[2;3r\x1b[6n'])).toEqual([]);
    expect(answers([`\x1b[${'1;'.repeat(40)}H\x1b[6n`])).toEqual([]);
    expect(answers([BUSYBOX_RESIZE], null)).toEqual([]);
  });

  it('ignores other queries and status reports', () => {
    expect(answers(['\x1b[999;999H\x1b[5n\x1b[c'])).toEqual([]);
  });
});
