import { defineConfig } from 'vitest/config';

// Kernel tests each create their own namespaces and cgroups, so files may run in
// parallel; the machine has two cores, so keep the pool small.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
