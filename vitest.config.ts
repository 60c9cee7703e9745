import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // FUSE and registry tests share mount points and ports: run files one at a time.
    fileParallelism: false,
  },
});
