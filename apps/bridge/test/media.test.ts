// Acceptance: a real Prosody, the bridge in the brewery, a COLIBRI2 client (the focus's role, built on
// packages/xmpp) allocating one conference with three endpoints, and three headless Chromium peers whose SDP is
// built only from what the focus has — the COLIBRI2 transports, the router media and the consumer reports —
// the way the focus's Jingle becomes SDP in lib-jitsi-meet. Each peer sends audio + 3-layer SSRC simulcast
// video, and decodes the other two peers' video; the bridge's consumer counters agree with the browsers'.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProsodyHandle } from '@hummingbird/stack';
import { waitFor, type PageServer } from '@hummingbird/test-support';
import { NS, parseXmlString, StanzaError, type Element, type ReceiverConsumers } from '@hummingbird/xmpp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeService } from '../src/index.js';
import { Peer } from './support/call.js';
import { ChannelClient } from './support/channel.js';
import { startTestBridge, startTestProsody, TestFocus } from './support/harness.js';
import { mutate, prng } from './support/mutate.js';
import { launchBrowser, peerClose, peerStart, startPeerPage } from './support/page.js';
import { parseAnswer } from './support/sdp.js';

const MEETING = 'acceptance-meeting-1';
const IDS = ['aaaa1111', 'bbbb2222', 'cccc3333'] as const;
const TIMEOUT = 60_000;

describe('three browsers through the bridge', () => {
  let prosody: ProsodyHandle;
  let bridge: BridgeService;
  let focus: TestFocus;
  let browser: Browser;
  let pageServer: PageServer;
  const peers: Peer[] = [];
  /** The remote video SSRCs each peer decodes, filled by the first test. */
  const remoteVideo = new Map<string, number[]>();

  beforeAll(async () => {
    prosody = await startTestProsody();
    bridge = await startTestBridge(prosody);
    focus = await TestFocus.start(prosody);
    pageServer = await startPeerPage();
    browser = await launchBrowser();
  }, TIMEOUT);

  afterAll(async () => {
    for (const p of peers) await p.page.evaluate(peerClose).catch(() => undefined);
    await browser?.close();
    await pageServer?.close();
    await focus?.stop();
    await bridge?.close('test end');
    await prosody?.stop();
  });

  it('allocates, connects, and every browser decodes the other two (audio + simulcast video); bridge stats agree', async () => {
    const nick = bridge.brewery.occupantJid.split('/')[1] ?? '';
    await waitFor('bridge in the brewery with stats', () => focus.stats.get(nick), (s) => s !== undefined && s.drain === false);

    const apply = (reports: ReceiverConsumers[] | undefined): void => {
      for (const r of reports ?? []) {
        const p = peers.find((x) => x.id === r.endpointId);
        if (p !== undefined) p.consumers = [...r.sources];
      }
    };

    // 1. Allocation: one conference, three endpoints (§3.3 items 1–2).
    for (const [i, id] of IDS.entries()) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(pageServer.url);
      await page.evaluate(peerStart, { width: 640, height: 360, frameRate: 15 });
      const peer = new Peer(id, page);
      peers.push(peer);
      const res = await focus.modify(bridge, {
        meetingId: MEETING,
        ...(i === 0 ? { create: true, name: 'room1@conference.meet.test' } : {}),
        endpoints: [{ id, create: true, statsId: `Peer-${i}`, media: [], transport: { iceControlling: true }, sources: [], capabilities: ['source-names'] }],
        relays: [],
      });
      const ep = res.modified.endpoints[0];
      if (ep?.transport?.iceUdp === undefined || ep.media === undefined) throw new Error('no transport/media in the allocation');
      peer.transport = ep.transport.iceUdp;
      peer.media = [...ep.media];
      apply(res.consumers);
    }

    // 2. session-initiate → session-accept → COLIBRI2 update with the client's transport and sources (§3.3 item 3).
    for (const peer of peers) {
      const answer = parseAnswer(await peer.offer(true), peer.id);
      const video = answer.sources.find((s) => s.type === 'video');
      expect(video?.ssrcGroups.filter((g) => g.semantics === 'SIM')).toHaveLength(1);
      const res = await focus.modify(bridge, {
        meetingId: MEETING,
        endpoints: [{ id: peer.id, media: peer.media, transport: { iceUdp: answer.transport }, sources: answer.sources, capabilities: [] }],
        relays: [],
      });
      apply(res.consumers);
    }
    const conf = bridge.colibri.conferences.get(MEETING);
    if (conf === undefined) throw new Error('conference missing');

    // Every receiver was told about two audio and two video consumers, owned by the other two peers.
    for (const peer of peers) {
      expect(peer.consumers.map((c) => `${c.type}:${c.sources[0]?.owner ?? '?'}`).sort()).toEqual(
        IDS.filter((x) => x !== peer.id).flatMap((x) => [`audio:${x}`, `video:${x}`]).sort(),
      );
      for (const c of peer.consumers.filter((x) => x.type === 'video')) {
        expect(c.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: c.sources.map((s) => s.ssrc) }]);
      }
    }

    // 3. source-add re-offers with the consumers. Consumers were resumed when each receiver's DTLS connected
    // (§8.7), so packets sent before the receiver applied its source-add were dropped by it (unsignalled SSRC):
    // remember how many, per consumer SSRC, to compare the counters below.
    const sentBeforeSourceAdd = new Map<number, number>();
    for (const peer of peers) {
      const answer = parseAnswer(await peer.offer(false), peer.id);
      for (const mid of peer.mids.values()) expect(answer.accepted.get(mid), `mid ${mid} of ${peer.id}`).toBe(true);
      for (const c of conf.endpoints.get(peer.id)?.consumers.values() ?? []) {
        const st = await c.consumer.getStats();
        const ssrc = c.consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0;
        sentBeforeSourceAdd.set(ssrc, st.find((x) => x.type === 'outbound-rtp' && x.ssrc === ssrc)?.packetCount ?? 0);
      }
    }

    // 4. Media: every browser decodes both remote videos and receives both remote audios.
    for (const peer of peers) {
      const video = peer.consumers.filter((c) => c.type === 'video').map((c) => c.sources[0]?.ssrc ?? 0);
      const audio = peer.consumers.filter((c) => c.type === 'audio').map((c) => c.sources[0]?.ssrc ?? 0);
      await waitFor(
        `${peer.id} decodes video ${video.join(',')} and receives audio ${audio.join(',')}`,
        () => peer.stats(),
        (s) =>
          video.every((v) => (s.inbound.find((i) => i.ssrc === v)?.framesDecoded ?? 0) >= 10) &&
          audio.every((a) => (s.inbound.find((i) => i.ssrc === a)?.packetsReceived ?? 0) >= 20),
        { timeoutMs: TIMEOUT, intervalMs: 250, fail: (s) => (s.connectionState === 'failed' ? 'PeerConnection failed' : undefined) },
      );
    }

    for (const peer of peers) remoteVideo.set(peer.id, peer.consumers.filter((c) => c.type === 'video').map((c) => c.sources[0]?.ssrc ?? 0));

    // Simulcast: every video producer receives all three SSRC layers from its browser.
    for (const peer of peers) {
      const ep = conf.endpoints.get(peer.id);
      const producer = ep?.sources.get(`${peer.id}-v0`)?.producer;
      expect(producer?.type).toBe('simulcast');
      expect(producer?.rtpParameters.encodings).toHaveLength(3);
      await waitFor(`${peer.id}: three simulcast layers arrive`, async () => (await producer?.getStats()) ?? [], (st) => st.length === 3 && st.every((x) => x.packetCount > 0), {
        timeoutMs: TIMEOUT,
        intervalMs: 250,
        describe: (st) => JSON.stringify(st.map((x) => ({ ssrc: x.ssrc, packets: x.packetCount }))),
      });
    }

    // The bridge's consumer counters agree with what each browser received: sampled bridge → browser → bridge,
    // the browser's count is at most the second bridge sample, and at least what the bridge sent after the
    // browser learnt the SSRC (loopback: no loss; 3 % + 5 packets of slack for packets in flight while the stats are read).
    for (const peer of peers) {
      const ep = conf.endpoints.get(peer.id);
      if (ep === undefined) throw new Error(`endpoint ${peer.id} missing`);
      const consumers = [...ep.consumers.values()];
      expect(consumers).toHaveLength(4);
      const sent = async (): Promise<Map<number, number>> => {
        const m = new Map<number, number>();
        for (const c of consumers) {
          const st = await c.consumer.getStats();
          const out = st.find((x) => x.type === 'outbound-rtp' && x.ssrc === c.consumer.rtpParameters.encodings?.[0]?.ssrc);
          m.set(out?.ssrc ?? 0, out?.packetCount ?? 0);
        }
        return m;
      };
      const before = await sent();
      const browserSide = await peer.stats();
      const after = await sent();
      for (const [ssrc, b] of before) {
        const got = browserSide.inbound.find((i) => i.ssrc === ssrc)?.packetsReceived ?? -1;
        const a = after.get(ssrc) ?? 0;
        expect(b, `bridge sent on ${ssrc}`).toBeGreaterThan(0);
        const early = sentBeforeSourceAdd.get(ssrc) ?? 0;
        expect(b - early, `bridge sent on ${ssrc} after the source-add`).toBeGreaterThan(0);
        expect(got, `${peer.id} received on ${ssrc} (bridge: ${b}..${a}, ${early} before source-add)`).toBeGreaterThanOrEqual(Math.floor((b - early) * 0.97) - 5);
        expect(got).toBeLessThanOrEqual(a);
      }
      for (const c of consumers) expect(c.consumer.paused).toBe(false);
    }

    // Load measurement sees the forwarded packets (stress from packet rate, jicofo-jvb.md §4.8).
    const load = await waitFor('load sample with traffic', () => bridge.load.last, (l) => l.packetRate > 0 && l.packetsSent > 0, { timeoutMs: 10_000 });
    expect(load.stress).toBeGreaterThan(0);

    // The stats the focus sees reflect the conference.
    const stats = (await bridge.ops.inject('/colibri/stats')).json<Record<string, unknown>>();
    expect(stats).toMatchObject({ conferences: 1, participants: 3, largest_conference: 3 });
  }, 240_000);

  it('answers 300 mutated COLIBRI2 samples and garbage on colibri-ws with typed errors; the conference keeps its media', async () => {
    if (remoteVideo.size !== 3) throw new Error('needs the conference of the previous test');
    const dir = join(import.meta.dirname, 'data/colibri2');
    const samples = readdirSync(dir)
      .filter((f) => f.endsWith('.xml'))
      .sort()
      .map((f) => {
        const payload = parseXmlString(readFileSync(join(dir, f), 'utf8')).getChildElements()[0] as Element;
        // Aim at the running conference, but never at its endpoints: a well-formed survivor may legitimately
        // expire or re-source whatever it names. Conference-wide expiry goes to a meeting that does not exist.
        payload.attrs['meeting-id'] = f.includes('expire-conference') ? 'not-this-meeting' : MEETING;
        let n = 0;
        const stack = [payload];
        for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
          if (e.name === 'endpoint' && e.attrs.id !== undefined) e.attrs.id = `mut-${n++}`;
          for (const c of e.children) if (typeof c !== 'string') stack.push(c);
        }
        return payload;
      });
    expect(samples).toHaveLength(8);

    const before = new Map<string, number>();
    for (const peer of peers) {
      const s = await peer.stats();
      for (const v of remoteVideo.get(peer.id) ?? []) before.set(`${peer.id}:${v}`, s.inbound.find((i) => i.ssrc === v)?.framesDecoded ?? 0);
    }

    // Garbage on the bridge channel of every peer at the same time: counted, ignored, the sockets stay open.
    const garbage = ['{', '[]', 'null', '{"colibriClass":7}', '{"colibriClass":"ReceiverVideoConstraints","constraints":[]}', '{"colibriClass":"Nope"}'];
    const sockets = await Promise.all(peers.map((p) => ChannelClient.open(p.transport.webSockets[0] ?? '')));
    const wsBefore = { ...(bridge.channels?.counters ?? { malformed: 0, unknown: 0 }) };

    const rnd = prng(0x6b1d6e);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0) for (const sock of sockets) for (const g of garbage) sock.sendRaw(g);
      const variant = mutate(samples[Math.floor(rnd() * samples.length)] as Element, rnd);
      let outcome: string;
      try {
        await focus.connection.caller.request('get', bridge.brewery.occupantJid, variant, { timeoutMs: 15_000 });
        outcome = 'result';
      } catch (error) {
        if (!(error instanceof StanzaError)) throw error;
        outcome = error.condition;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log(`[mutations] outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // Every variant was answered (no timeout above) with a result or a request-level error — never a crash
    // of the handler (internal-server-error).
    expect(outcomes.has('internal-server-error'), JSON.stringify(Object.fromEntries(outcomes))).toBe(false);
    for (const k of outcomes.keys()) {
      expect(['result', 'bad-request', 'item-not-found', 'conflict', 'feature-not-implemented', 'jid-malformed', 'service-unavailable', 'not-acceptable', 'policy-violation']).toContain(k);
    }
    expect(outcomes.get('bad-request') ?? 0).toBeGreaterThan(50);
    const sent = 30 * sockets.length;
    await waitFor('garbage counted', () => bridge.channels?.counters, (c) => (c?.malformed ?? 0) - wsBefore.malformed >= 5 * sent && (c?.unknown ?? 0) - wsBefore.unknown >= sent);
    for (const sock of sockets) {
      expect(sock.closeCode).toBeUndefined();
      sock.close();
    }

    // The conference is intact and every browser keeps decoding both remote videos.
    const conf = bridge.colibri.conferences.get(MEETING);
    for (const id of IDS) expect(conf?.endpoints.has(id)).toBe(true);
    for (const peer of peers) {
      await waitFor(
        `${peer.id} keeps decoding after the mutations`,
        () => peer.stats(),
        (s) => (remoteVideo.get(peer.id) ?? []).every((v) => (s.inbound.find((i) => i.ssrc === v)?.framesDecoded ?? 0) >= (before.get(`${peer.id}:${v}`) ?? 0) + 15),
        { timeoutMs: TIMEOUT, intervalMs: 250 },
      );
    }
    expect((await bridge.ops.inject('/about/health')).statusCode).toBe(200);
    const hc = await focus.connection.caller.request('get', bridge.brewery.occupantJid, parseXmlString(`<healthcheck xmlns="${NS.HEALTHCHECK}"/>`));
    expect(hc.attrs.type).toBe('result');
  }, 240_000);

  it('force-mute stops an endpoint\'s video at the bridge and lifting it brings the video back', async () => {
    const [a, , c] = peers as [Peer, Peer, Peer];
    const cVideo = a.consumers.find((x) => x.type === 'video' && x.sources[0]?.owner === c.id)?.sources[0]?.ssrc ?? 0;
    const bVideo = a.consumers.find((x) => x.type === 'video' && x.sources[0]?.owner === IDS[1])?.sources[0]?.ssrc ?? 0;
    const at = (s: Awaited<ReturnType<Peer['stats']>>, ssrc: number): { packets: number; frames: number } => {
      const i = s.inbound.find((x) => x.ssrc === ssrc);
      return { packets: i?.packetsReceived ?? 0, frames: i?.framesDecoded ?? 0 };
    };
    const mute = (video: boolean): Promise<unknown> =>
      focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${NS.COLIBRI2}" meeting-id="${MEETING}"><endpoint id="${c.id}"><force-mute audio="false" video="${String(video)}"/></endpoint></conference-modify>`));

    await mute(true);
    const producer = bridge.colibri.conferences.get(MEETING)?.endpoints.get(c.id)?.sources.get(`${c.id}-v0`)?.producer;
    expect(producer?.paused).toBe(true);
    const s0 = await a.stats();
    // While B's video keeps decoding at A for ≥ 15 more frames, C's packet counter at A stands still.
    await waitFor('A keeps decoding B', () => a.stats(), (s) => at(s, bVideo).frames >= at(s0, bVideo).frames + 15, { timeoutMs: TIMEOUT, intervalMs: 250 });
    const s1 = await a.stats();
    expect(at(s1, cVideo).packets - at(s0, cVideo).packets, 'C video packets at A while force-muted (in flight at most)').toBeLessThanOrEqual(5);

    await mute(false);
    expect(producer?.paused).toBe(false);
    await waitFor('A decodes C again', () => a.stats(), (s) => at(s, cVideo).frames >= at(s1, cVideo).frames + 10, { timeoutMs: TIMEOUT, intervalMs: 250 });
  }, TIMEOUT * 2);

  it('a worker killed mid-call: the conference is reported failed, the worker replaced, new conferences work', async () => {
    const conf = bridge.colibri.conferences.get(MEETING);
    const pid = conf?.worker.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor('conference-failed at the focus', () => focus.failures, (f) => f.some((x) => x.meetingId === MEETING), { timeoutMs: TIMEOUT });
    expect(focus.failures).toEqual([{ meetingId: MEETING, reason: 'worker-died' }]);
    await waitFor('successor worker', () => bridge.pool.workers.map((w) => w.pid), (p) => p.length === 1 && p[0] !== pid, { timeoutMs: TIMEOUT });
    // The browsers' media is gone with the worker (their re-invite is the focus's job).
    const a = peers[0] as Peer;
    const s0 = await a.stats();
    await waitFor('health back to ok', () => bridge.health().status, (h) => h === 'ok', { timeoutMs: TIMEOUT });
    const res = await focus.modify(bridge, {
      meetingId: 'after-the-crash', create: true,
      endpoints: [{ id: 'eeee5555', create: true, media: [], transport: {}, sources: [], capabilities: ['source-names'] }],
      relays: [],
    });
    expect(res.modified.endpoints[0]?.transport?.iceUdp?.candidates.length).toBeGreaterThan(0);
    const s1 = await a.stats();
    const received = (s: typeof s0): number => s.inbound.reduce((n, i) => n + i.packetsReceived, 0);
    expect(received(s1) - received(s0), 'no media from a dead worker').toBeLessThanOrEqual(5);
  }, TIMEOUT * 3);
});
