import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The browser tests (media, constraints) each run three Chromium peers with simulcast encoders; on a 2-core
// machine two such files at once starve each other's encoders. Files run one after the other (≈ 1 min total).
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
