// Driving the Hummingbird test client (@hummingbird/client, packages/client) in headless Chromium: one page server that serves
// the esbuild bundle, one browser context + page per participant, typed wrappers around page.evaluate.

import { bundleClient, type ClientState, type HummingbirdGlobal, type JoinOptions, type RemoteSourceState } from '@hummingbird/client';
import { startPageServer, waitFor, type PageServer } from '@hummingbird/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export type { ClientState, JoinOptions, RemoteSourceState };

interface PageWindow {
  Hummingbird: HummingbirdGlobal;
}

/** Serves `/` (an empty page that loads the client) and `/hummingbird-client.js` over http://127.0.0.1 (secure context). */
export async function startClientServer(): Promise<PageServer> {
  return startPageServer({ title: 'hummingbird test client', scripts: { '/hummingbird-client.js': await bundleClient() } });
}

/** One participant: its own browser context (profile) and page. */
export class Participant {
  readonly pageErrors: string[] = [];
  endpointId = '';

  private constructor(
    readonly label: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
  }

  static async open(browser: Browser, url: string, label: string): Promise<Participant> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'Hummingbird' in window, undefined, { timeout: 20_000 });
    return new Participant(label, context, page);
  }

  async join(options: JoinOptions): Promise<void> {
    await this.page.evaluate((o) => (window as unknown as PageWindow).Hummingbird.join(o), options);
    this.endpointId = (await this.state()).endpointId ?? '';
  }

  async state(): Promise<ClientState> {
    const s = await this.page.evaluate(() => (window as unknown as PageWindow).Hummingbird.state());
    if (!s) throw new Error(`${this.label}: not joined`);
    return s;
  }

  /** getDisplayMedia (headless: Chromium's fake screen), or a canvas track with `{ canvas: true }`. */
  async startScreenShare(options: { canvas?: boolean } = {}): Promise<void> {
    await this.page.evaluate((display) => (window as unknown as PageWindow).Hummingbird.startScreenShare(display), options.canvas !== true);
  }

  async setReceiverMaxHeight(maxHeight: number): Promise<void> {
    await this.page.evaluate((h) => (window as unknown as PageWindow).Hummingbird.setReceiverMaxHeight(h), maxHeight);
  }

  async lockRoom(password: string): Promise<void> {
    await this.page.evaluate((pw) => (window as unknown as PageWindow).Hummingbird.lockRoom(pw), password);
  }

  async leave(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as PageWindow).Hummingbird.leave());
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}

/** The live (not removed) remote sources of `owner`. */
export function sourcesOf(state: ClientState, owner: string): RemoteSourceState[] {
  return state.remoteSources.filter((s) => s.owner === owner && !s.removed);
}

/** True when `state` decodes video and receives audio from every endpoint in `owners` (camera + mic). */
export function receivesFrom(state: ClientState, owners: readonly string[]): boolean {
  return owners.every((o) => {
    const live = sourcesOf(state, o);
    return (
      live.some((s) => s.kind === 'video' && s.name === `${o}-v0` && s.framesDecoded > 0) &&
      live.some((s) => s.kind === 'audio' && s.name === `${o}-a0` && s.packetsReceived > 0)
    );
  });
}

export function describeState(s: ClientState): string {
  return JSON.stringify({
    ep: s.endpointId,
    joined: s.joined,
    session: s.session,
    sessions: s.sessions,
    ws: s.bridgeChannelOpen,
    remote: s.remoteSources.map((r) => `${r.owner}/${r.name ?? '?'}/${r.kind}/${r.ssrc}${r.removed ? '(removed)' : ''} p=${r.packetsReceived} f=${r.framesDecoded} h=${r.frameHeight ?? '-'}`),
    out: s.local.outbound.map((o) => `${o.kind}/${o.ssrc} p=${o.packetsSent} h=${o.frameHeight ?? '-'}`),
    participants: s.participants.map((p) => `${p.id}${p.left ? '(left)' : ''}`),
    jingle: s.jingle.slice(-8).map((j) => `${j.direction} ${j.action} ${j.detail ?? ''}`),
    errors: s.errors,
  });
}

/** Waits until every participant receives from every other one (bounded), and returns their states. */
export async function waitAllReceive(parts: readonly Participant[], timeoutMs: number): Promise<ClientState[]> {
  return waitFor(
    `each of ${parts.map((p) => p.label).join(', ')} receives the others' audio and video`,
    () => Promise.all(parts.map((p) => p.state())),
    (states) => states.every((s, i) => receivesFrom(s, parts.filter((_, j) => j !== i).map((p) => p.endpointId))),
    { timeoutMs, intervalMs: 500, describe: (states) => states.map(describeState).join('\n') },
  );
}

/** join() call → first decoded remote video frame, per participant (ms). */
export function joinToFirstFrame(states: readonly ClientState[]): number[] {
  return states.map((s) => (s.timings.firstRemoteFrameAt ?? NaN) - (s.timings.joinStartedAt ?? NaN));
}
