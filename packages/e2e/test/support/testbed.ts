// One e2e test bed: the whole stack from startStack() (Prosody, token, turn, bridges, focus as child processes),
// one headless Chromium, the pages the participants run in, and the teardown of all of it. Every scenario file
// starts one with `useTestbed({ … })` (vitest hooks) or `await testbed({ … })`, then opens participants on it:
//   - `join(label)`: the Hummingbird test client (@hummingbird/client) in its own browser context;
//   - `openLegacy(label)`: the legacy lib-jitsi-meet client (`legacy/`), when started with `legacy: <bundle>`;
//   - `openPage(label)`: a person in front of the stack's meeting page.
// Whatever was opened is closed by `close()`, even when a scenario failed half way.
import { startStack, type Stack, type StartStackOptions } from '@hummingbird/stack';
import { launchChromium } from '@hummingbird/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

import { LegacyClient } from '../../legacy/client.ts';
import { startPageServer as startLegacyServer, type LjmBundle, type PageServer as LegacyServer } from '../../legacy/server.ts';
import type { LjmStartOptions } from '../../legacy/types.ts';
import { Participant, startClientServer, type JoinOptions } from './client-page.ts';
import { PageUser } from './meeting-page.ts';

/** Starting Prosody, four apps and a Chromium on a loaded 2-core machine. */
const START_TIMEOUT_MS = 240_000;
const CLOSE_TIMEOUT_MS = 60_000;
/** The most app log lines kept in memory (the oldest go first). */
const MAX_LOG_LINES = 5_000;

export interface TestbedOptions extends Pick<StartStackOptions, 'auth' | 'bridges' | 'env'> {
  /** The room name starts with this; a time suffix makes it unique. */
  room: string;
  /** Keep the apps' log lines in `logs`, for what a failing scenario prints. Otherwise the stack is quiet. */
  keepLogs?: boolean;
  /** Serve the Hummingbird test client, for `open()`/`join()`. Default true. */
  client?: boolean;
  /** Serve this lib-jitsi-meet bundle too, for `openLegacy()`. */
  legacy?: LjmBundle;
}

export class Testbed {
  readonly logs: string[] = [];
  readonly room: string;
  #stack: Stack | undefined;
  #browser: Browser | undefined;
  #clientServer: { url: string; close: () => Promise<void> } | undefined;
  #legacyServer: LegacyServer | undefined;
  readonly #opened: { close(): Promise<void> }[] = [];
  #closed = false;

  private constructor(readonly options: TestbedOptions) {
    this.room = `${options.room}-${Date.now().toString(36)}`;
  }

  /** Starts everything at once; on a failure stops what did start, then throws. */
  static async start(options: TestbedOptions): Promise<Testbed> {
    const bed = new Testbed(options);
    const keep = (app: string, line: string): void => {
      bed.logs.push(`[${app}] ${line}`);
      if (bed.logs.length > MAX_LOG_LINES) bed.logs.splice(0, MAX_LOG_LINES / 5);
    };
    const { auth, bridges, env } = options;
    const stackOptions: StartStackOptions = {
      standardPorts: false,
      logs: options.keepLogs === true ? keep : 'quiet',
      ...(auth ? { auth } : {}),
      ...(bridges ? { bridges } : {}),
      ...(env ? { env } : {}),
    };
    const started = await Promise.allSettled([
      startStack(stackOptions).then((s) => (bed.#stack = s)),
      launchChromium().then((b) => (bed.#browser = b)),
      options.client === false ? undefined : startClientServer().then((s) => (bed.#clientServer = s)),
      options.legacy === undefined ? undefined : startLegacyServer(options.legacy).then((s) => (bed.#legacyServer = s)),
    ]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await bed.close();
      throw failed.reason;
    }
    return bed;
  }

  get stack(): Stack {
    if (!this.#stack) throw new Error('the test bed has no stack (it did not start)');
    return this.#stack;
  }

  get browser(): Browser {
    if (!this.#browser) throw new Error('the test bed has no browser (it did not start)');
    return this.#browser;
  }

  /** What the Hummingbird test client needs to join this bed's room on the client host. */
  joinOptions(displayName: string, extra: Partial<JoinOptions> = {}): JoinOptions {
    const { urls, hosts } = this.stack;
    return { websocketUrl: urls.websocket, domain: hosts.domain, muc: hosts.conference, focus: hosts.focus, room: this.room, displayName, ...extra };
  }

  /** A Hummingbird test client page, not joined yet. */
  async open(label: string): Promise<Participant> {
    if (!this.#clientServer) throw new Error('the test bed was started with client: false');
    return this.#track(await Participant.open(this.browser, this.#clientServer.url, label));
  }

  /** A Hummingbird test client that joined the room as `Tester <label>` (or as `extra.displayName`). */
  async join(label: string, extra: Partial<JoinOptions> = {}): Promise<Participant> {
    const p = await this.open(label);
    await p.join(this.joinOptions(`Tester ${label}`, extra));
    return p;
  }

  /** What the legacy client needs to join this bed's room with the focus (no token). */
  legacyOptions(displayName: string, extra: Partial<LjmStartOptions> = {}): LjmStartOptions {
    const { urls, hosts } = this.stack;
    return {
      serviceUrl: urls.websocket,
      hosts: { domain: hosts.domain, muc: hosts.conference, focus: hosts.focus },
      room: this.room,
      token: null,
      displayName,
      disableFocus: false,
      resolution: 180,
      ssrcRewriting: false,
      statsIntervalMs: 100,
      ...extra,
    };
  }

  /** A legacy lib-jitsi-meet page, not started yet. */
  async openLegacy(label: string): Promise<LegacyClient> {
    if (!this.#legacyServer) throw new Error('the test bed was started without a legacy bundle');
    return this.#track(await LegacyClient.open(this.browser, this.#legacyServer.url, label));
  }

  /** The stack's meeting page in a fresh browser context; `query` such as `?client=legacy`. */
  async openPage(label: string, query = ''): Promise<PageUser> {
    const url = this.stack.pageUrl;
    if (url === undefined) throw new Error('the stack serves no meeting page');
    return this.#track(await PageUser.open(this.browser, `${url}${query}`, label));
  }

  /** The last `n` kept app log lines (with `keepLogs`), one string. */
  logTail(n = 60): string {
    return this.logs.slice(-n).join('\n');
  }

  /** Closes every page it opened, the browser, the page servers and the stack. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const page of this.#opened.splice(0)) await page.close().catch(() => undefined);
    await this.#browser?.close().catch(() => undefined);
    await Promise.allSettled([this.#clientServer?.close(), this.#legacyServer?.close()]);
    await this.#stack?.stop();
  }

  #track<T extends { close(): Promise<void> }>(page: T): T {
    this.#opened.push(page);
    return page;
  }
}

export function testbed(options: TestbedOptions): Promise<Testbed> {
  return Testbed.start(options);
}

/**
 * Starts a test bed before the file's tests and closes it after them. Returns its getter: call it inside a test
 * (before beforeAll ran there is no bed yet).
 */
export function useTestbed(options: TestbedOptions): () => Testbed {
  let bed: Testbed | undefined;
  beforeAll(async () => {
    bed = await testbed(options);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await bed?.close();
  }, CLOSE_TIMEOUT_MS);
  return () => {
    if (!bed) throw new Error('the test bed did not start (see the beforeAll error)');
    return bed;
  };
}
