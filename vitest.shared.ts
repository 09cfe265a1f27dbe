import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under the `hummingbird-source` condition,
// so tests run against source without a build step (STYLE.md: Turborepo monorepos). Tests run
// on Node, which Vite resolves as SSR: the condition goes into ssr.resolve, next to Vite's
// defaults for Node.
const conditions = ['hummingbird-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['hummingbird-source', 'node'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
