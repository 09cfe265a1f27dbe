import { defineConfig } from 'vitest/config';

import shared from '../../vitest.shared.ts';

// The shared config (its default and json reporters), plus the reporter that prints the run's first-frame
// summary (test/support/first-frame.ts).
export default defineConfig({
  ...shared,
  test: { ...shared.test, reporters: ['default', 'json', './test/support/first-frame-reporter.ts'] },
});
