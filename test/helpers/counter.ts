/** The tick numbers the guest's counter printed in a serial log after `from` characters. */
export function ticks(text: string, from = 0): number[] {
  return [...text.slice(from).matchAll(/^tick (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

/** Starts a counter in guest RAM (a shell variable in a background loop), printing once a second. */
export const COUNTER = 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done &\n';
