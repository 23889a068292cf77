import { defineConfig } from 'vitest/config';

// Tiers a newcomer can tell apart:
// - unit: pure and fast; no root, no loop devices, no dist/, no VM (bash on data files is fine).
// - integration: real tools, root, loop devices, the built CLI (its global setup builds dist/
//   first and says what a non-root run skips).
// - robustness: the built CLI on a generated bad-input corpus and faults (dist/, no VM).
// - e2e (the boot tier): real Debian fixtures, real ISOs booted in QEMU. QEMU under TCG is slow
//   and CPU bound on 2 cores, so these files run one at a time.
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
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 5 * 60_000,
          hookTimeout: 10 * 60_000,
          fileParallelism: false,
          globalSetup: ['test/helpers/integration-setup.ts'],
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
