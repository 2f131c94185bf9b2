import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The framework's public entry points as the example app imports them (tsconfig.json maps them too).
  resolve: {
    alias: {
      '@lavendly/framework/knex': fileURLToPath(new URL('./packages/framework/src/knex.ts', import.meta.url)),
      '@lavendly/framework': fileURLToPath(new URL('./packages/framework/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The GitHub-sized generator run is slow; CI turns it on with LAVENDLY_SLOW=1.
    exclude: process.env.LAVENDLY_SLOW ? ['node_modules/**'] : ['node_modules/**', 'test/**/*.slow.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files that spawn ffmpeg or servers must not all run at once.
    maxWorkers: 2,
  },
});
