import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

/** A terminal size in cells. */
export interface Size {
  cols: number;
  rows: number;
}

/** The terminal's size, following resizes; `fixed` pins it (tests, benches). */
export function useTerminalSize(fixed?: Size): Size {
  const { stdout } = useStdout();
  const [size, setSize] = useState<Size>(() => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 }));
  useEffect(() => {
    if (fixed) return;
    const onResize = (): void => setSize({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}
