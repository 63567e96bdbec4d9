import { defineConfig } from 'vitest/config';

// Unit tests run in parallel; anything that boots a real guest or drives the real TUI runs one file
// at a time, since two TCG guests on a 2-core machine slow each other down past their timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.{ts,tsx}', 'test/unit/**/*.test.{ts,tsx}'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.{ts,tsx}', 'test/faults/**/*.test.{ts,tsx}', 'test/e2e/**/*.test.{ts,tsx}'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
