// The Node side of one lib-jitsi-meet participant: its own browser context (profile) and page on the
// harness page server, driven through legacy/page.ts. Every wait is bounded (waitFor of @hummingbird/test-support).

import { waitFor, type WaitOptions } from '@hummingbird/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ljmPageLeave, ljmPageSelectParticipants, ljmPageShareScreen, ljmPageSnapshot, ljmPageStart, ljmPageStats } from './page.ts';
import type { LjmScreenShare, LjmSnapshot, LjmStartOptions, LjmStats } from './types.ts';

export type { LjmStartOptions } from './types.ts';

/** What one client receives from one remote endpoint, read from its tracks and inbound-rtp stats. */
export interface ReceivedFrom {
  readonly owner: string;
  readonly audioSsrc: number | undefined;
  readonly audioPackets: number;
  readonly videoSsrc: number | undefined;
  readonly videoFrames: number;
  readonly videoType: string | undefined;
  /** `<width>x<height>` of the last decoded frame, when any. */
  readonly videoSize: string | undefined;
}

/**
 * Joins the live (not removed) remote tracks of `owner` with the inbound-rtp stats of their SSRCs.
 * With several live video tracks (camera + screen share) the one with the most decoded frames counts,
 * unless `videoType` asks for one kind.
 */
export function receivedFrom(snapshot: LjmSnapshot, stats: LjmStats, owner: string, videoType?: string): ReceivedFrom {
  const live = snapshot.remoteTracks.filter((t) => t.owner === owner && t.removedAt === undefined);
  const inbound = (ssrc: number | undefined) => (ssrc === undefined ? undefined : stats.inbound.find((s) => s.ssrc === ssrc));
  const audio = live.find((t) => t.type === 'audio');
  const videos = live
    .filter((t) => t.type === 'video' && (videoType === undefined || t.videoType === videoType))
    .map((t) => ({ track: t, frames: inbound(t.ssrc)?.framesDecoded ?? 0, stat: inbound(t.ssrc) }))
    .sort((a, b) => b.frames - a.frames);
  const video = videos[0];
  return {
    owner,
    audioSsrc: audio?.ssrc,
    audioPackets: inbound(audio?.ssrc)?.packetsReceived ?? 0,
    videoSsrc: video?.track.ssrc,
    videoFrames: video?.frames ?? 0,
    videoType: video?.track.videoType,
    videoSize: video?.stat?.frameWidth === undefined ? undefined : `${String(video.stat.frameWidth)}x${String(video.stat.frameHeight)}`,
  };
}

export function describeReceived(r: ReceivedFrom): string {
  return `${r.owner}: audio ssrc ${String(r.audioSsrc)} ${String(r.audioPackets)} pkts, video ssrc ${String(r.videoSsrc)} ${String(r.videoFrames)} frames ${String(r.videoSize)} (${String(r.videoType)})`;
}

/** ICE/DTLS state and per-SSRC counters of the JVB peer connection, one line. */
export function describeStats(s: LjmStats): string {
  const inbound = s.inbound.map((x) => `${x.kind}:${String(x.ssrc)}=${String(x.packetsReceived)}p/${String(x.framesDecoded ?? '-')}f`).join(' ');
  const outbound = s.outbound
    .map((x) => `${x.kind}:${String(x.ssrc)}=${String(x.packetsSent)}p${x.kind === 'video' ? `/${x.active === false ? 'off' : 'on'}/${String(x.frameHeight ?? '-')}h` : ''}`)
    .join(' ');
  return `ice=${String(s.iceConnectionState)} pc=${String(s.connectionState)} in[${inbound}] out[${outbound}]`;
}

export class LegacyClient {
  readonly #context: BrowserContext;
  readonly #page: Page;
  /** Console errors and page errors of this client, for failure messages. */
  readonly console: string[] = [];
  #closed = false;

  private constructor(
    readonly label: string,
    context: BrowserContext,
    page: Page,
  ) {
    this.#context = context;
    this.#page = page;
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.console.push(`${m.type()}: ${m.text().slice(0, 500)}`);
    });
    page.on('pageerror', (e) => this.console.push(`pageerror: ${e.message}`));
  }

  /** A fresh profile and page, the bundle loaded (window.JitsiMeetJS defined). */
  static async open(browser: Browser, pageUrl: string, label: string, timeoutMs = 20_000): Promise<LegacyClient> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(timeoutMs);
      const client = new LegacyClient(label, context, page);
      await page.goto(pageUrl, { timeout: timeoutMs });
      await page.waitForFunction(() => typeof (window as unknown as { JitsiMeetJS?: unknown }).JitsiMeetJS === 'object', undefined, { timeout: timeoutMs });
      return client;
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** Runs §9.2 steps 1–4 in the page; resolves once join() was called or the start failed. */
  async start(options: LjmStartOptions): Promise<LjmSnapshot> {
    await this.#page.evaluate(ljmPageStart, options);
    return this.snapshot();
  }

  async snapshot(): Promise<LjmSnapshot> {
    const s = await this.#page.evaluate(ljmPageSnapshot);
    if (s === undefined) throw new Error(`${this.label}: start() was not called`);
    return s;
  }

  stats(): Promise<LjmStats> {
    return this.#page.evaluate(ljmPageStats);
  }

  shareScreen(): Promise<LjmScreenShare> {
    return this.#page.evaluate(ljmPageShareScreen);
  }

  /** Waits until the client has joined the conference; fails early on a failure event. */
  waitJoined(options: WaitOptions = {}): Promise<LjmSnapshot> {
    return waitFor(
      `${this.label} joined`,
      () => this.snapshot(),
      (s) => s.phase === 'joined',
      { timeoutMs: 30_000, intervalMs: 100, ...options, fail: (s) => (s.phase === 'failed' ? s.failures.join('; ') : undefined), describe: (s) => this.#brief(s) },
    );
  }

  /** Waits until audio packets and decoded video frames arrive from every one of `owners`. */
  async waitMediaFrom(owners: readonly string[], options: WaitOptions & { videoType?: string; minFrames?: number; minPackets?: number } = {}): Promise<ReceivedFrom[]> {
    const minFrames = options.minFrames ?? 1;
    const minPackets = options.minPackets ?? 1;
    const probe = async (): Promise<{ snapshot: LjmSnapshot; stats: LjmStats; received: ReceivedFrom[] }> => {
      const [snapshot, stats] = [await this.snapshot(), await this.stats()];
      return { snapshot, stats, received: owners.map((o) => receivedFrom(snapshot, stats, o, options.videoType)) };
    };
    const result = await waitFor(
      `${this.label} receives audio+video from ${owners.join(', ')}`,
      probe,
      (v) => v.received.every((r) => r.audioPackets >= minPackets && r.videoFrames >= minFrames),
      {
        timeoutMs: 45_000,
        intervalMs: 250,
        ...options,
        fail: (v) => (v.snapshot.phase === 'failed' ? v.snapshot.failures.join('; ') : undefined),
        describe: (v) => `${v.received.map(describeReceived).join(' | ')}; ${describeStats(v.stats)}; ${this.#brief(v.snapshot)}`,
      },
    );
    return result.received;
  }

  /** Stage view on `ids` (2021 API); false when the bundle has no selectParticipants. */
  selectParticipants(ids: string[]): Promise<boolean> {
    return this.#page.evaluate(ljmPageSelectParticipants, ids);
  }

  async leave(): Promise<void> {
    await this.#page.evaluate(ljmPageLeave);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#context.close().catch(() => undefined);
  }

  #brief(s: LjmSnapshot): string {
    const tracks = s.remoteTracks.map((t) => `${t.owner}/${t.type}/${String(t.ssrc)}${t.removedAt === undefined ? '' : '(removed)'}`).join(' ');
    const last = s.events.slice(-12).map((e) => (e.detail === undefined ? e.what : `${e.what}(${e.detail})`)).join(' ');
    const errors = s.iqErrors.length === 0 ? '' : `; iq errors: ${s.iqErrors.slice(0, 3).join(' || ')}`;
    const failures = s.failures.length === 0 ? '' : `; failures: ${s.failures.join('; ')}`;
    return `phase=${s.phase} me=${String(s.myId)} participants=[${s.participants.join(',')}] tracks=[${tracks}] events: ${last}${failures}${errors}; console: ${this.console.slice(-5).join(' | ')}`;
  }
}
