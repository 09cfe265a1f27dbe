import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under the `hummingbird-source` condition,
// so tests run against source without a build step (STYLE.md: Turborepo monorepos).
export default defineConfig({
  resolve: { conditions: ['hummingbird-source'] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
