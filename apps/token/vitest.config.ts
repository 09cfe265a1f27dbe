import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// vitest runs tests in Vite's server (SSR) environment, where the shared `resolve.conditions`
// does not apply: without this, `@hummingbird/*` imports resolve to a possibly stale dist/.
// The list keeps Vite's default server conditions after ours.
export default mergeConfig(
  shared,
  defineConfig({ ssr: { resolve: { conditions: ['hummingbird-source', 'module', 'node', 'development|production'] } } }),
);
