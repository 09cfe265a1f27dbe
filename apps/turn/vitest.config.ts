import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

// The interop tests compare our relay's loss with coturn's in the same run (turnutils_uclient) and hold
// relay-only Chromium calls; sharing the 2 cores with the 100,000-packet fuzz file or a browser file at
// the same time makes that comparison measure the scheduler instead of the relays. Files run one after
// the other.
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
