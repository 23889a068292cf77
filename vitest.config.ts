import { defineConfig } from 'vitest/config';

// Three projects: `unit` (fast, no VM), `robustness` (the built CLI on bad inputs and faults) and
// `e2e` (real fixtures, real xorriso, QEMU boots).
// QEMU under TCG is slow and CPU bound on 2 cores, so e2e files run one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // the bad-input corpus and the fault tests: the built CLI (dist/), no VM; cases run concurrently
        test: {
          name: 'robustness',
          include: ['test/robustness/**/*.test.ts'],
          testTimeout: 120_000,
          maxConcurrency: 6,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
          fileParallelism: false,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
