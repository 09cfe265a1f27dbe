import { bridgeConfigSchema, start, type BridgeService } from '@hummingbird/bridge';
import { createLogger } from '@hummingbird/service';
import type { ProsodyHandle } from '@hummingbird/stack';
import { jsonSourcesToRtp, type Jingle, type RtpSource, type SsrcGroup } from '@hummingbird/xmpp';
import { BREWERY, DOMAIN, type FakeParticipant } from './xmpp.js';

/**
 * The real Hummingbird bridge (apps/bridge: the patched mediasoup worker, COLIBRI2 with the consumer report) in
 * this process, on the test Prosody's `jvb@auth.<d>` account in the focus's brewery. Fake participants never
 * connect ICE, so the bridge's own expiry of unconnected endpoints is pushed far out.
 */
export async function startRealBridge(prosody: ProsodyHandle, password: string, nick = 'jvb-real'): Promise<BridgeService> {
  const config = bridgeConfigSchema.parse({
    ops: { host: '127.0.0.1', port: 0 },
    log: { level: process.env.HB_TEST_LOG === '1' ? 'debug' : 'warn' },
    shutdown: {},
    xmpp: {
      service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`,
      domain: `auth.${DOMAIN}`,
      username: 'jvb',
      passwordRef: 'env:HB_TEST_BRIDGE_PASSWORD',
      breweryJid: BREWERY,
      nickname: nick,
    },
    bridge: { statsIntervalMs: 1_000, endpointTimeoutMs: 600_000, shuttingDownDelayMs: 0 },
    media: { workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0 },
    websocket: { host: '127.0.0.1', port: 0 },
  });
  const logger = createLogger({ name: 'bridge', level: config.log.level });
  return start(config, logger, { HB_TEST_BRIDGE_PASSWORD: password });
}

/** One SSRC a receiver holds for a remote source. */
export interface RemoteSsrc {
  readonly owner: string;
  readonly name: string;
  /** `desktop` or null: the JSON form carries only "desktop or not" (§4.4). */
  readonly videoType: 'desktop' | null;
}

const screen = (videoType: string | undefined): 'desktop' | null => (videoType === 'desktop' ? 'desktop' : null);

/** SSRC → owner/name/videoType, sorted by SSRC, for comparisons. */
export type SsrcTable = Record<string, RemoteSsrc>;

function sourcesAndGroups(j: Jingle): { sources: RtpSource[]; groups: SsrcGroup[] } {
  const sources: RtpSource[] = [];
  const groups: SsrcGroup[] = [];
  for (const c of j.contents) {
    sources.push(...(c.description?.sources ?? []));
    groups.push(...(c.description?.ssrcGroups ?? []));
  }
  if (j.jsonSources !== undefined) {
    const rtp = jsonSourcesToRtp(j.jsonSources);
    for (const m of [rtp.audio, rtp.video]) {
      sources.push(...m.sources);
      groups.push(...m.ssrcGroups);
    }
  }
  return { sources, groups };
}

/**
 * What a fake participant's client holds now for its current session, replaying what ljm does with the focus's
 * Jingle (§4.2, §4.4): the session-initiate's remote sources (the jvb feedback sources left out), then every
 * source-add / source-remove of that sid in order. Also the FID groups it was given.
 */
export function clientTable(p: FakeParticipant): { table: SsrcTable; fid: Map<number, number>; msids: Map<number, string> } {
  const sid = p.sid;
  const held = new Map<number, RemoteSsrc>();
  const fid = new Map<number, number>();
  const msids = new Map<number, string>();
  for (const { jingle } of p.jingles) {
    if (jingle.sid !== sid) continue;
    const { sources, groups } = sourcesAndGroups(jingle);
    if (jingle.action === 'session-initiate' || jingle.action === 'source-add') {
      for (const s of sources) {
        if (s.owner === 'jvb') continue;
        held.set(s.ssrc, { owner: s.owner ?? '?', name: s.name ?? '?', videoType: screen(s.videoType) });
        const msid = s.parameters.find((x) => x.name === 'msid')?.value;
        if (msid !== undefined) msids.set(s.ssrc, msid);
      }
      for (const g of groups) if (g.semantics === 'FID' && g.ssrcs[0] !== undefined && g.ssrcs[1] !== undefined) fid.set(g.ssrcs[0], g.ssrcs[1]);
    } else if (jingle.action === 'source-remove') {
      for (const s of sources) {
        held.delete(s.ssrc);
        fid.delete(s.ssrc);
        msids.delete(s.ssrc);
      }
    }
  }
  return { table: sorted(held), fid, msids };
}

/** The bridge's own truth: the SSRCs (primary + RTX) of every consumer on `receiver`'s endpoint. */
export function bridgeTable(bridge: BridgeService, meetingId: string, receiver: string): { table: SsrcTable; fid: Map<number, number> } {
  const held = new Map<number, RemoteSsrc>();
  const fid = new Map<number, number>();
  const ep = bridge.colibri.conferences.get(meetingId)?.endpoints.get(receiver);
  for (const c of ep?.consumers.values() ?? []) {
    if (c.consumer.closed) continue;
    const enc = c.consumer.rtpParameters.encodings?.[0];
    if (enc?.ssrc === undefined) continue;
    const entry = { owner: c.senderId, name: c.sourceName, videoType: screen(c.videoType) };
    held.set(enc.ssrc, entry);
    if (enc.rtx?.ssrc !== undefined) {
      held.set(enc.rtx.ssrc, entry);
      fid.set(enc.ssrc, enc.rtx.ssrc);
    }
  }
  return { table: sorted(held), fid };
}

function sorted(m: Map<number, RemoteSsrc>): SsrcTable {
  return Object.fromEntries([...m].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
}
