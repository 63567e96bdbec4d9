import { describe, expect, it } from 'vitest';
import { cpuSparkline, formatBytes, formatCpu, formatRate, sparkFromAscii, sparkToAscii, sparkline } from './stats-format.js';
import type { VmSample } from '../vm/types.js';

describe('sparkline', () => {
  it('scales to the given top, newest on the right, exactly `width` cells', () => {
    expect(sparkline([0, 50, 100], 3, 100)).toBe('▁▅█');
    expect(sparkline([100], 4, 100)).toBe('   █');
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4, 10)).toBe('▆▇▇█');
    expect(sparkline([200], 1, 100)).toBe('█'); // clamped
  });

  it('scales to the largest value without a top, and leaves missing samples blank', () => {
    expect(sparkline([2, null, 4], 3)).toBe('▅ █');
    expect(sparkline([0, 0], 2)).toBe('▁▁');
    expect(sparkline([], 0)).toBe('');
  });

  it('draws CPU against one core unless it went above', () => {
    const h = (xs: number[]): VmSample[] => xs.map((cpuPercent) => ({ cpuPercent }) as VmSample);
    expect(cpuSparkline(h([0, 100]), 2)).toBe('▁█');
    expect(cpuSparkline(h([100, 200]), 2)).toBe('▅█');
  });
});

describe('figures', () => {
  it('formats bytes, rates and CPU', () => {
    expect(formatBytes(512)).toBe('512B');
    expect(formatBytes(1536)).toBe('1.5K');
    expect(formatBytes(230 * 1024 * 1024)).toBe('230M');
    expect(formatBytes(null)).toBe('-');
    expect(formatRate(0)).toBe('0');
    expect(formatRate(3.4 * 1024 * 1024)).toBe('3.4M/s');
    expect(formatRate(null)).toBe('-');
    expect(formatCpu(97.4)).toBe('97%');
    expect(formatCpu(3.46)).toBe('3.5%');
    expect(formatCpu(null)).toBe('-');
  });
});

describe('sparkToAscii / sparkFromAscii', () => {
  it('spells a CPU cell in printable ASCII of the same length and draws it back unchanged', () => {
    const cell = `  12% ${sparkline([0, 10, 25, 40, 55, 70, 85, 100], 8, 100)}`;
    const ascii = sparkToAscii(cell);
    expect(ascii).toMatch(/^[\x20-\x7e]*$/);
    expect(ascii).toHaveLength(cell.length);
    expect(sparkFromAscii(ascii)).toBe(cell);
  });

  it('leaves figures and SGR escapes alone on the way back', () => {
    const styled = `\u001b[7m  9.5%  - ${sparkToAscii('▁█')}\u001b[27m`;
    expect(sparkFromAscii(styled)).toBe('\u001b[7m  9.5%  - ▁█\u001b[27m');
  });
});
