import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests start real servers (Orthanc, the gateway) and share the two CPU cores; run files one at a time.
    fileParallelism: false,
    globalSetup: ['test/setup/global-setup.ts'],
  },
});
