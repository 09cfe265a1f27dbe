import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// vitest runs tests in Vite's server (SSR) environment, where the shared `resolve.conditions` does not
// apply: without this, `@hummingbird/mediasoup-worker` resolves to its (unbuilt) dist/ and the import
// fails. Same fix as apps/focus; it belongs in vitest.shared.ts. Vite's default server conditions
// are kept after ours.
export default mergeConfig(
  shared,
  defineConfig({ ssr: { resolve: { conditions: ['hummingbird-source', 'module', 'node', 'development|production'] } } }),
);
