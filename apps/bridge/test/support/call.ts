// One participant as the focus tracks it: its bridge transport and router media (from the COLIBRI2 answer), the
// m-line of each remote source, its browser page.
import type { Colibri2Media, Colibri2MediaSource, IceUdpTransport } from '@hummingbird/xmpp';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Conference } from '../../src/conference.js';
import type { BridgeService } from '../../src/index.js';
import type { TestFocus } from './harness.js';
import { peerApplyOffer, peerStart, peerStats, type PeerStats } from './page.js';
import { buildOffer, parseAnswer, type RemoteSection } from './sdp.js';

/** One participant as the focus tracks it: its bridge transport, the mids of its remote sources, its page. */
export class Peer {
  transport!: IceUdpTransport;
  media!: Colibri2Media[];
  readonly mids = new Map<string, string>();
  consumers: Colibri2MediaSource[] = [];
  #version = 0;
  #nextMid = 2;
  readonly sessionId = String(Date.now());

  constructor(readonly id: string, readonly page: Page) {}

  /** session-initiate (first) or a source-add re-offer carrying the current consumer set. */
  async offer(first: boolean): Promise<string> {
    const remote: RemoteSection[] = this.consumers.map((source) => {
      let mid = this.mids.get(source.id);
      if (mid === undefined) {
        mid = String(this.#nextMid++);
        this.mids.set(source.id, mid);
      }
      return { mid, source };
    });
    const sdp = buildOffer({ transport: this.transport, media: this.media, remote, sessionId: this.sessionId, version: ++this.#version });
    expect(sdp).not.toContain('a=ice-lite');
    return this.page.evaluate(peerApplyOffer, { sdp, first });
  }

  stats(): Promise<PeerStats> {
    return this.page.evaluate(peerStats);
  }
}


export interface PeerSpec {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly audioEnabled?: boolean;
}

/**
 * The focus's part of a call, in COLIBRI2 and SDP: allocate every endpoint (one conference), session-initiate →
 * session-accept → endpoint update with the client's transport and sources, then one source-add re-offer per
 * peer with the consumers the bridge reported for it (jicofo-jvb.md §3.3, jitsi-client-protocol.md §4.4).
 */
export async function setupCall(opts: {
  bridge: BridgeService;
  focus: TestFocus;
  browser: Browser;
  pageUrl: string;
  meetingId: string;
  peers: readonly PeerSpec[];
}): Promise<{ peers: Peer[]; conference: Conference }> {
  const peers: Peer[] = [];
  const apply = (reports: readonly { endpointId: string; sources: readonly Colibri2MediaSource[] }[] | undefined): void => {
    for (const r of reports ?? []) {
      const p = peers.find((x) => x.id === r.endpointId);
      if (p !== undefined) p.consumers = [...r.sources];
    }
  };
  for (const [i, spec] of opts.peers.entries()) {
    const page = await (await opts.browser.newContext()).newPage();
    await page.goto(opts.pageUrl);
    await page.evaluate(peerStart, { width: spec.width, height: spec.height, frameRate: 15, audioEnabled: spec.audioEnabled ?? true });
    const peer = new Peer(spec.id, page);
    peers.push(peer);
    const res = await opts.focus.modify(opts.bridge, {
      meetingId: opts.meetingId,
      ...(i === 0 ? { create: true, name: 'room1@conference.meet.test' } : {}),
      endpoints: [{ id: spec.id, create: true, media: [], transport: { iceControlling: true }, sources: [], capabilities: ['source-names'] }],
      relays: [],
    });
    const ep = res.modified.endpoints[0];
    if (ep?.transport?.iceUdp === undefined || ep.media === undefined) throw new Error('no transport/media in the allocation');
    peer.transport = ep.transport.iceUdp;
    peer.media = [...ep.media];
    apply(res.consumers);
  }
  for (const peer of peers) {
    const answer = parseAnswer(await peer.offer(true), peer.id);
    const res = await opts.focus.modify(opts.bridge, {
      meetingId: opts.meetingId,
      endpoints: [{ id: peer.id, media: peer.media, transport: { iceUdp: answer.transport }, sources: answer.sources, capabilities: [] }],
      relays: [],
    });
    apply(res.consumers);
  }
  for (const peer of peers) {
    const answer = parseAnswer(await peer.offer(false), peer.id);
    for (const mid of peer.mids.values()) expect(answer.accepted.get(mid), `mid ${mid} of ${peer.id}`).toBe(true);
  }
  const conference = opts.bridge.colibri.conferences.get(opts.meetingId);
  if (conference === undefined) throw new Error('conference missing');
  return { peers, conference };
}

/** The SSRC the bridge sends `sourceName` on to this peer. */
export function consumerSsrc(peer: Peer, sourceName: string): number {
  const c = peer.consumers.find((x) => x.id === sourceName);
  const ssrc = c?.sources[0]?.ssrc;
  if (ssrc === undefined) throw new Error(`${peer.id} has no consumer for ${sourceName}`);
  return ssrc;
}
