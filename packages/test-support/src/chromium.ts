// Headless Chromium for the real-browser tests: the Debian binary driven by playwright-core (never a downloaded
// browser), with the flags of jitsi-client-protocol.md §9.2.
import { chromium, type Browser } from 'playwright-core';

/** The Chromium every real-browser test drives; `CHROMIUM_PATH` points to another binary. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** The flags every suite launches with (playwright adds headless and its own pipe and profile flags). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // §9.2: without it Chrome gathers no 127.0.0.1 candidates, and the test servers only listen on loopback.
  '--allow-loopback-in-peer-connection',
];

export interface LaunchChromiumOptions {
  /** Flags after CHROMIUM_ARGS, for a suite that needs one more (e.g. a field trial). */
  extraArgs?: readonly string[];
}

export function launchChromium(options: LaunchChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])] });
}
