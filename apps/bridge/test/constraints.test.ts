// Receiver constraints and dominant speaker through colibri-ws, with real browsers (jitsi-client-protocol.md
// §5.3–5.4, §8.5; jicofo-jvb.md §4.4): a 720p simulcast sender and two small receivers. ReceiverVideoConstraints
// from one receiver moves the layer its browser decodes (720 → 180 → 720) and maxHeight 0 stops that stream,
// without touching the other receiver; the only endpoint with audible audio becomes the dominant speaker and
// every endpoint is told.
import type { ProsodyHandle } from '@hummingbird/stack';
import { waitFor, type PageServer } from '@hummingbird/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conference } from '../src/conference.js';
import type { BridgeService } from '../src/index.js';
import { consumerSsrc, setupCall, type Peer } from './support/call.js';
import { ChannelClient } from './support/channel.js';
import { startTestBridge, startTestProsody, TestFocus } from './support/harness.js';
import { launchBrowser, peerClose, startPeerPage, type PeerStats } from './support/page.js';

const TIMEOUT = 60_000;
const SENDER = 'sender01';
const R1 = 'recv0001';
const R2 = 'recv0002';
const SOURCE = `${SENDER}-v0`;

function inbound(s: PeerStats, ssrc: number): { frameHeight: number; packetsReceived: number; framesDecoded: number } {
  const i = s.inbound.find((x) => x.ssrc === ssrc);
  return { frameHeight: i?.frameHeight ?? 0, packetsReceived: i?.packetsReceived ?? 0, framesDecoded: i?.framesDecoded ?? 0 };
}

describe('receiver constraints and dominant speaker over colibri-ws', () => {
  let prosody: ProsodyHandle;
  let bridge: BridgeService;
  let focus: TestFocus;
  let browser: Browser;
  let pageServer: PageServer;
  let peers: Peer[] = [];
  let conf: Conference;
  const channels = new Map<string, ChannelClient>();

  beforeAll(async () => {
    prosody = await startTestProsody();
    bridge = await startTestBridge(prosody, { video: { topLayerHeight: 720 } });
    focus = await TestFocus.start(prosody);
    pageServer = await startPeerPage();
    browser = await launchBrowser();
    const call = await setupCall({
      bridge, focus, browser, pageUrl: pageServer.url, meetingId: 'constraints-meeting',
      peers: [
        { id: SENDER, width: 1280, height: 720, audioEnabled: true },
        { id: R1, width: 320, height: 180, audioEnabled: false },
        { id: R2, width: 320, height: 180, audioEnabled: false },
      ],
    });
    peers = call.peers;
    conf = call.conference;
    for (const p of peers) {
      const url = p.transport.webSockets[0];
      if (url === undefined) throw new Error('no colibri-ws URL');
      channels.set(p.id, await ChannelClient.open(url));
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of channels.values()) c.close();
    for (const p of peers) await p.page.evaluate(peerClose).catch(() => undefined);
    await browser?.close();
    await pageServer?.close();
    await focus?.stop();
    await bridge?.close('test end');
    await prosody?.stop();
  });

  const peer = (id: string): Peer => {
    const p = peers.find((x) => x.id === id);
    if (p === undefined) throw new Error(`no peer ${id}`);
    return p;
  };

  it('makes the endpoint with audio the dominant speaker and tells every endpoint', async () => {
    for (const id of [SENDER, R1, R2]) {
      const c = channels.get(id) as ChannelClient;
      const m = await c.next(
        `${id} is told ${SENDER} is the dominant speaker`,
        (x) => x['colibriClass'] === 'DominantSpeakerEndpointChangeEvent' && x['dominantSpeakerEndpoint'] === SENDER,
        TIMEOUT,
      );
      expect(Array.isArray(m['previousSpeakers'])).toBe(true);
    }
    expect(conf.speakers[0]).toBe(SENDER);
    // Once the sender is dominant, no silent endpoint takes over. Before that, mediasoup's observer may have named
    // an arbitrary observed producer at its first ranking (with none dominant yet it starts from the first one in
    // its map, levels aside), so a silent endpoint can be announced first; the speaking one then wins.
    for (const c of channels.values()) {
      const named = c.of('DominantSpeakerEndpointChangeEvent').map((m) => m['dominantSpeakerEndpoint']);
      expect(named.slice(named.indexOf(SENDER))).toEqual([SENDER]);
    }
  }, TIMEOUT * 2);

  it('moves the decoded layer 720 → 180 → 720 and stops the stream with maxHeight 0, for that receiver only', async () => {
    const r1 = peer(R1);
    const r2 = peer(R2);
    const ssrc1 = consumerSsrc(r1, SOURCE);
    const ssrc2 = consumerSsrc(r2, SOURCE);
    const height = (p: Peer, ssrc: number, want: number, what: string): Promise<PeerStats> =>
      waitFor(what, () => p.stats(), (s) => inbound(s, ssrc).frameHeight === want, {
        timeoutMs: TIMEOUT,
        intervalMs: 250,
        describe: (s) => JSON.stringify(inbound(s, ssrc)),
      });

    // Without constraints the bridge forwards the top layer (§5.5).
    await height(r1, ssrc1, 720, 'R1 decodes the 720p top layer');
    const ch = channels.get(R1) as ChannelClient;

    ch.send({ colibriClass: 'ReceiverVideoConstraints', lastN: -1, constraints: { [SOURCE]: { maxHeight: 180 } } });
    await height(r1, ssrc1, 180, 'R1 drops to 180p');
    ch.send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 720 } } });
    await height(r1, ssrc1, 720, 'R1 is back at 720p');

    ch.send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 0 } } });
    await ch.next('ForwardedSources without the stopped source', (m) => m['colibriClass'] === 'ForwardedSources' && !(m['forwardedSources'] as string[]).includes(SOURCE));
    const consumer = [...(conf.endpoints.get(R1)?.consumers.values() ?? [])].find((c) => c.sourceName === SOURCE)?.consumer;
    await waitFor('R1 consumer paused', () => consumer?.paused, (p) => p === true);
    // Stopped: the packet counter stands still over a second while R2 keeps receiving the same source.
    const a = inbound(await r1.stats(), ssrc1).packetsReceived;
    const r2a = inbound(await r2.stats(), ssrc2).framesDecoded;
    await waitFor('R2 keeps decoding the sender meanwhile', () => r2.stats(), (s) => inbound(s, ssrc2).framesDecoded >= r2a + 15, { timeoutMs: TIMEOUT, intervalMs: 250 });
    const b = inbound(await r1.stats(), ssrc1).packetsReceived;
    expect(b - a, 'packets to R1 after maxHeight 0 (in flight at most)').toBeLessThanOrEqual(5);
    // R1's constraints are R1's: R2's consumer still prefers the top layer (the layer it actually gets also
    // follows the bridge's bandwidth estimate toward R2, so its height is not asserted here).
    const r2Consumer = [...(conf.endpoints.get(R2)?.consumers.values() ?? [])].find((c) => c.sourceName === SOURCE)?.consumer;
    expect(r2Consumer?.paused).toBe(false);
    expect(r2Consumer?.preferredLayers?.spatialLayer).toBe(2);

    ch.send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 720 } } });
    await height(r1, ssrc1, 720, 'R1 receives again after maxHeight 720');
  }, TIMEOUT * 5);

  it('tells the sender the largest height anyone needs (SenderSourceConstraints)', async () => {
    const sender = channels.get(SENDER) as ChannelClient;
    const told = (h: number): Promise<unknown> =>
      waitFor(`sender told maxHeight ${h}`, () => sender.of('SenderSourceConstraints').at(-1), (m) => m?.['sourceName'] === SOURCE && m['maxHeight'] === h);
    // R2 never sent constraints: it takes everything, so the sender must keep every layer.
    await told(-1);
    (channels.get(R2) as ChannelClient).send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 360 } } });
    (channels.get(R1) as ChannelClient).send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 180 } } });
    await told(360);
    (channels.get(R2) as ChannelClient).send({ colibriClass: 'ReceiverVideoConstraints', constraints: { [SOURCE]: { maxHeight: 0 } } });
    await told(180);
    (channels.get(R1) as ChannelClient).send({ colibriClass: 'ReceiverVideoConstraints', lastN: 0 });
    await told(0);
  }, TIMEOUT);
});
