// @hummingbird/test-support: what the test suites of apps/bridge, packages/e2e and the others share.
export { WaitTimeoutError, p50, waitFor } from './wait.js';
export type { WaitForOptions, WaitOptions } from './wait.js';
export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from './chromium.js';
export type { LaunchChromiumOptions } from './chromium.js';
export { startPageServer } from './page-server.js';
export type { PageServer, PageServerOptions } from './page-server.js';
