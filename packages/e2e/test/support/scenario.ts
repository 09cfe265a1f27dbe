// One run of the real-browser acceptance scenario (mediasoup-offline-build.md §10 item 9,
// jitsi-client-protocol.md §8.2): a fresh WebRtcTransport and a fresh page, an offer WITHOUT
// a=ice-lite built by the server, then two Jingle-style re-offers that each add one consumer.
//
// Why three offers (the chicken-and-egg of looping the browser's own media back): a consumer's SSRC
// must be in the offer of the m-line that carries it, the consumer needs the producer, and the
// producer needs the browser's SSRCs from the answer. The focus solves this the same way (§8.1
// "simpler: remote sources always go through source-add"): session-initiate carries only the
// client's own (recvonly) m-lines; remote sources come later through source-add, which ljm turns
// into a re-offer with the same ICE credentials plus one m-line per source (§4.4). So:
//   offer #1  mid 0 audio recvonly, mid 1 video recvonly          (session-initiate)
//   offer #2  + mid 2 video sendonly: a consumer of the browser's own camera   (source-add)
//   offer #3  + mid 3 audio sendonly: a consumer of the browser's own mic      (source-add)
// Offer #2 proves video decoding through a consumer; offer #3 is the "one more consumer" re-offer
// that must not disturb ICE, with the first consumer still decoding.

import { waitFor } from '@hummingbird/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import type { types } from 'mediasoup';

import type { TestBridge } from './bridge.js';
import { pageApplyOffer, pageStart, pageStats, type InboundStat, type PageStats, type StateChange } from './page.js';
import {
  buildOffer,
  consumerHeaderExtensions,
  consumerRtpCapabilities,
  offeredHeaderExtensions,
  parseAnswer,
  producerRtpParameters,
  type MidMode,
  type OfferSection,
  type ParsedAnswer,
} from './sdp.js';

export interface ServerStateChange {
  at: number;
  what: 'iceState' | 'dtlsState' | 'iceSelectedTuple';
  state: string;
}

export interface RunResult {
  run: number;
  midMode: MidMode;
  /** Date.now() right before the page called setLocalDescription(answer #1). */
  sldAt: number;
  /** ms after setLocalDescription: mediasoup iceState connected|completed / dtlsState connected. */
  serverIceMs: number;
  serverDtlsMs: number;
  /** ms after setLocalDescription: iceConnectionState connected|completed / connectionState connected. */
  browserIceMs: number;
  browserDtlsMs: number;
  serverIceState: string;
  chromeIceRole: string | undefined;
  chromeIceRoleAtEnd: string | undefined;
  chromeSelectedPair: PageStats['selectedPair'];
  selectedTupleChanges: number;
  producers: { audio: { packetCount: number; byteCount: number }; video: { packetCount: number; byteCount: number } };
  videoConsumer: {
    ssrc: number;
    /** ms from consumer.resume() to the first framesDecoded > 0 seen by polling (50 ms grain). */
    firstFrameMs: number;
    framesDecodedBeforeReoffer: number;
    framesDecodedAtEnd: number;
    keyFramesDecoded: number | undefined;
    /** PLI/FIR mediasoup sent to the browser's video producer (trace 'out'): keyframe requests. */
    keyframeRequestsToBrowser: string[];
    /** PLI/FIR the browser sent for the consumer (trace 'in'). */
    keyframeRequestsFromBrowser: string[];
  };
  audioConsumer: { ssrc: number; packetsReceived: number };
  /** ICE/DTLS states that must never appear once connected (disconnected, failed, closed). */
  drops: string[];
  serverLog: ServerStateChange[];
  browserLog: StateChange[];
}

export interface RunContext {
  run: number;
  bridge: TestBridge;
  context: BrowserContext;
  pageUrl: string;
  timeoutMs: number;
  /** How consumer packets are routed to their m-line in the browser (see MidMode in sdp.ts). */
  midMode: MidMode;
}

const ICE_UP = new Set(['connected', 'completed']);

function inboundFor(stats: PageStats, ssrc: number): InboundStat | undefined {
  return stats.inbound.find((s) => s.ssrc === ssrc);
}

function firstAt<T extends { at: number; what: string; state: string }>(log: T[], what: string, states: Set<string>): number | undefined {
  return log.find((e) => e.what === what && states.has(e.state))?.at;
}

function brief(stats: PageStats): string {
  return JSON.stringify({
    ice: stats.iceConnectionState,
    pc: stats.connectionState,
    iceRole: stats.iceRole,
    dtls: stats.dtlsState,
    pair: stats.selectedPair,
    inbound: stats.inbound.map((s) => `${s.kind}:${s.ssrc} pkts=${s.packetsReceived} frames=${s.framesDecoded ?? '-'}`),
    outbound: stats.outbound.map((s) => `${s.kind}:${s.ssrc} pkts=${s.packetsSent}`),
  });
}

function browserFailed(stats: PageStats): string | undefined {
  if (stats.connectionState === 'failed' || stats.iceConnectionState === 'failed') return 'browser PeerConnection failed';
  return undefined;
}

async function producerCounts(producer: types.Producer): Promise<{ packetCount: number; byteCount: number }> {
  const stats = await producer.getStats();
  return {
    packetCount: stats.reduce((sum, s) => sum + s.packetCount, 0),
    byteCount: stats.reduce((sum, s) => sum + s.byteCount, 0),
  };
}

function sendSection(mid: string, consumer: types.Consumer): OfferSection {
  // The msid stands for the sender's (§4.2: every remote source needs one); here the "sender" is the
  // browser itself, looped back.
  return {
    mid,
    kind: consumer.kind,
    direction: 'sendonly',
    rtpParameters: consumer.rtpParameters,
    streamId: `loopback-${consumer.kind}`,
    trackId: `loopback-${consumer.kind}-${consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0}`,
  };
}

function checkReoffered(answer: ParsedAnswer, mid: string): void {
  const section = answer.sections.find((s) => s.mid === mid);
  if (!section || section.port === 0 || section.direction !== 'recvonly') {
    throw new Error(`the browser did not accept m-line ${mid} as recvonly: ${JSON.stringify(section)}`);
  }
}

export async function runIceScenario(ctx: RunContext): Promise<RunResult> {
  const { router, webRtcServer } = ctx.bridge;
  const timeoutMs = ctx.timeoutMs;
  const transport = await router.createWebRtcTransport({ webRtcServer, enableUdp: true, enableTcp: true });
  const serverLog: ServerStateChange[] = [];
  transport.on('icestatechange', (state) => serverLog.push({ at: Date.now(), what: 'iceState', state }));
  transport.on('dtlsstatechange', (state) => serverLog.push({ at: Date.now(), what: 'dtlsState', state }));
  transport.on('iceselectedtuplechange', (tuple) =>
    serverLog.push({ at: Date.now(), what: 'iceSelectedTuple', state: `${tuple.protocol} ${tuple.remoteIp ?? '?'}:${tuple.remotePort ?? '?'}` }),
  );

  let page: Page | undefined;
  try {
    page = await ctx.context.newPage();
    const p = page;
    const stats = (): Promise<PageStats> => p.evaluate(pageStats);
    await p.goto(ctx.pageUrl);
    await p.evaluate(pageStart);

    const routerCaps = router.rtpCapabilities;
    const sessionId = String(Date.now());
    let version = 0;
    const sections: OfferSection[] = [
      { mid: '0', kind: 'audio', direction: 'recvonly' },
      { mid: '1', kind: 'video', direction: 'recvonly' },
    ];
    const extensionUris = offeredHeaderExtensions(ctx.midMode);
    const offer = (): string => buildOffer({ transport, routerCaps, sections, sessionId, version: ++version, extensionUris });
    // 'consumer-mid': the consumer's MID must name its own m-line; otherwise let mediasoup count.
    const consumeMid = (mid: string): { mid?: string } => (ctx.midMode === 'consumer-mid' ? { mid } : {});

    // ---- offer #1 (session-initiate) ----
    const offer1 = offer();
    if (offer1.includes('a=ice-lite')) throw new Error('the offer must not contain a=ice-lite (§8.2)');
    const applied = await p.evaluate(pageApplyOffer, { sdp: offer1, sendMids: { audio: '0', video: '1' } });
    const answer = parseAnswer(applied.sdp);
    // §8.2: the client answers active, so the bridge is the DTLS server and the remote role is client.
    if (answer.setup !== 'active') throw new Error(`the browser answered a=setup:${answer.setup}, expected active`);
    await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [answer.fingerprint] } });

    const audioAnswer = answer.sections.find((s) => s.mid === '0');
    const videoAnswer = answer.sections.find((s) => s.mid === '1');
    if (!audioAnswer || !videoAnswer) throw new Error('the answer lacks mid 0 or mid 1');
    const audioProducer = await transport.produce({ kind: 'audio', rtpParameters: producerRtpParameters(routerCaps, audioAnswer) });
    const videoProducer = await transport.produce({ kind: 'video', rtpParameters: producerRtpParameters(routerCaps, videoAnswer) });
    const keyframeRequestsToBrowser: string[] = [];
    await videoProducer.enableTraceEvent(['pli', 'fir']);
    videoProducer.on('trace', (t) => {
      if (t.direction === 'out') keyframeRequestsToBrowser.push(`${t.type}@${Date.now()}`);
    });

    await waitFor(
      'mediasoup ICE connected and DTLS connected',
      () => ({ ice: transport.iceState, dtls: transport.dtlsState }),
      (v) => ICE_UP.has(v.ice) && v.dtls === 'connected',
      { timeoutMs, fail: (v) => (v.dtls === 'failed' ? 'DTLS failed' : undefined) },
    );
    const connected = await waitFor(
      'browser ICE connected and PeerConnection connected',
      stats,
      (s) => ICE_UP.has(s.iceConnectionState) && s.connectionState === 'connected',
      { timeoutMs, fail: browserFailed, describe: brief },
    );

    // The server receives the browser's RTP on both producers (matched by SSRC alone, §8.1).
    await waitFor(
      'producers receive the browser RTP',
      async () => ({ audio: await producerCounts(audioProducer), video: await producerCounts(videoProducer) }),
      (v) => v.audio.packetCount > 0 && v.video.packetCount > 0 && v.audio.byteCount > 0 && v.video.byteCount > 0,
      { timeoutMs, intervalMs: 100 },
    );

    // ---- offer #2 (source-add of one video source) ----
    const capabilities = consumerRtpCapabilities(routerCaps, consumerHeaderExtensions(ctx.midMode));
    const videoConsumer = await transport.consume({
      producerId: videoProducer.id,
      rtpCapabilities: capabilities,
      paused: true,
      ...consumeMid('2'),
    });
    const keyframeRequestsFromBrowser: string[] = [];
    await videoConsumer.enableTraceEvent(['pli', 'fir']);
    videoConsumer.on('trace', (t) => {
      if (t.direction === 'in') keyframeRequestsFromBrowser.push(`${t.type}@${Date.now()}`);
    });
    sections.push(sendSection('2', videoConsumer));
    checkReoffered(parseAnswer((await p.evaluate(pageApplyOffer, { sdp: offer() })).sdp), '2');
    // §8.7: resume only after the transport is connected (it is) and the receiver knows the SSRC
    // (the answer is applied), so the keyframe mediasoup asks for on resume is not wasted.
    const resumedAt = Date.now();
    await videoConsumer.resume();
    const videoSsrc = videoConsumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
    // The probe also reads what mediasoup sent, so a failure tells "never sent" from "sent, dropped".
    const firstFrames = await waitFor(
      `browser decodes frames from the video consumer (ssrc ${videoSsrc})`,
      async () => ({ page: await stats(), consumerPacketsSent: (await videoConsumer.getStats())[0]?.packetCount ?? 0 }),
      (v) => (inboundFor(v.page, videoSsrc)?.framesDecoded ?? 0) > 0,
      {
        timeoutMs,
        fail: (v) => browserFailed(v.page),
        describe: (v) => `consumer packets sent by mediasoup: ${v.consumerPacketsSent}; browser: ${brief(v.page)}`,
      },
    ).then((v) => v.page);
    const firstFrameMs = Date.now() - resumedAt;
    const framesDecodedBeforeReoffer = inboundFor(firstFrames, videoSsrc)?.framesDecoded ?? 0;

    // ---- offer #3 (source-add of one more source): ICE must stay up, media must keep flowing ----
    const audioConsumer = await transport.consume({
      producerId: audioProducer.id,
      rtpCapabilities: capabilities,
      paused: true,
      ...consumeMid('3'),
    });
    sections.push(sendSection('3', audioConsumer));
    checkReoffered(parseAnswer((await p.evaluate(pageApplyOffer, { sdp: offer() })).sdp), '3');
    await audioConsumer.resume();
    const audioSsrc = audioConsumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
    // Headless Chrome has no audio output, so audio receipt is proven by packets (§9.2).
    await waitFor(
      `browser receives packets from the new audio consumer (ssrc ${audioSsrc})`,
      stats,
      (s) => (inboundFor(s, audioSsrc)?.packetsReceived ?? 0) > 0,
      { timeoutMs, fail: browserFailed, describe: brief },
    );
    // At 15 fps, 45 more frames is about 3 s of video after the re-offer: longer than Chrome's
    // ~2.5 s check interval (§8.2), so at least one consent check passes on the renegotiated session.
    const final = await waitFor(
      'the first video consumer keeps decoding after the re-offer',
      stats,
      (s) => (inboundFor(s, videoSsrc)?.framesDecoded ?? 0) >= framesDecodedBeforeReoffer + 45,
      { timeoutMs, fail: browserFailed, describe: brief },
    );

    const sldAt = applied.sldAt;
    const serverIceAt = firstAt(serverLog, 'iceState', ICE_UP);
    const serverDtlsAt = firstAt(serverLog, 'dtlsState', new Set(['connected']));
    const browserIceAt = firstAt(final.log, 'iceConnectionState', ICE_UP);
    const browserDtlsAt = firstAt(final.log, 'connectionState', new Set(['connected']));
    const bad = new Set(['disconnected', 'failed', 'closed']);
    const drops = [
      ...serverLog.filter((e) => e.what !== 'iceSelectedTuple' && bad.has(e.state)).map((e) => `server ${e.what}=${e.state}`),
      ...final.log.filter((e) => bad.has(e.state)).map((e) => `browser ${e.what}=${e.state}`),
    ];
    if (!ICE_UP.has(transport.iceState)) drops.push(`server iceState=${transport.iceState} at end`);
    if (final.connectionState !== 'connected') drops.push(`browser connectionState=${final.connectionState} at end`);
    const videoEnd = inboundFor(final, videoSsrc);

    return {
      run: ctx.run,
      midMode: ctx.midMode,
      sldAt,
      serverIceMs: (serverIceAt ?? NaN) - sldAt,
      serverDtlsMs: (serverDtlsAt ?? NaN) - sldAt,
      browserIceMs: (browserIceAt ?? NaN) - sldAt,
      browserDtlsMs: (browserDtlsAt ?? NaN) - sldAt,
      serverIceState: transport.iceState,
      chromeIceRole: connected.iceRole,
      chromeIceRoleAtEnd: final.iceRole,
      chromeSelectedPair: final.selectedPair,
      selectedTupleChanges: serverLog.filter((e) => e.what === 'iceSelectedTuple').length,
      producers: { audio: await producerCounts(audioProducer), video: await producerCounts(videoProducer) },
      videoConsumer: {
        ssrc: videoSsrc,
        firstFrameMs,
        framesDecodedBeforeReoffer,
        framesDecodedAtEnd: videoEnd?.framesDecoded ?? 0,
        keyFramesDecoded: videoEnd?.keyFramesDecoded,
        keyframeRequestsToBrowser: keyframeRequestsToBrowser.map((e) => relativeTo(e, resumedAt)),
        keyframeRequestsFromBrowser: keyframeRequestsFromBrowser.map((e) => relativeTo(e, resumedAt)),
      },
      audioConsumer: { ssrc: audioSsrc, packetsReceived: inboundFor(final, audioSsrc)?.packetsReceived ?? 0 },
      drops,
      serverLog,
      browserLog: final.log,
    };
  } finally {
    await page?.close().catch(() => undefined);
    transport.close();
  }
}

/** `pli@<epoch ms>` → `pli@+<ms after resume>`. */
function relativeTo(entry: string, t0: number): string {
  const [type, at] = entry.split('@');
  const delta = Number(at) - t0;
  return `${type}@${delta >= 0 ? '+' : ''}${delta}ms`;
}
