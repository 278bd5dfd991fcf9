import { defineConfig } from 'vitest/config';

// Unit and contract tests run in parallel. Integration tests each start their own emulators (two JVMs
// per file), so on two cores they run one file at a time: in parallel they starve each other.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 90_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
