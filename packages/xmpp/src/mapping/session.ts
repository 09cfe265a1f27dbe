// Pure builders for the Jingle the focus sends (`spec/jitsi-client-protocol.md` §4.2, §4.4), on top of the
// mediasoup mapping: the session-initiate with its bridge feedback sources, and the JSON form of source-add.
import type { MediaKind, RtpCapabilities, RtpCodecCapability } from 'mediasoup/types';
import type { IceUdpTransport } from '../stanzas/ice.js';
import type { BridgeSession, Jingle, JingleContent } from '../stanzas/jingle.js';
import type { JsonOwnerSources, JsonSource, JsonSources } from '../stanzas/jingle-json.js';
import { sourceMsid, type RtpSource, type SsrcGroup } from '../stanzas/rtp.js';
import { MappingError, offerDescription, type MidMode } from './mediasoup.js';

/**
 * The bridge "feedback" source every offer carries first in each content (§4.2): name `jvb-a0`/`jvb-v0`, owner
 * `jvb`, msid `mixedmslabel mixedlabel<kind>0`. It pins ljm's local sending m-line; nothing is ever sent on it,
 * so any SSRC that is not used for real media will do (§8.7).
 */
export function feedbackSource(kind: MediaKind, ssrc: number): RtpSource {
  return {
    ssrc,
    name: `jvb-${kind[0]}0`,
    parameters: [{ name: 'msid', value: `mixedmslabel mixedlabel${kind}0` }],
    owner: 'jvb',
  };
}

export interface RemoteSources {
  readonly sources: readonly RtpSource[];
  readonly ssrcGroups: readonly SsrcGroup[];
}

export interface SessionInitiateInput {
  readonly sid: string;
  /** The focus JID (ljm ignores it, §4.2). */
  readonly initiator: string;
  readonly routerCaps: RtpCapabilities;
  readonly midMode: MidMode;
  /** The bridge transport: `iceUdpTransportFromMediasoup()` or a COLIBRI2 answer's ICE-UDP transport. */
  readonly transport: IceUdpTransport;
  /** SSRCs for the jvb feedback sources. */
  readonly feedbackSsrcs: { readonly audio: number; readonly video: number };
  /** Remote sources already in the conference (this receiver's consumer SSRCs, §8.1); default none. */
  readonly remote?: { readonly audio?: RemoteSources; readonly video?: RemoteSources };
  /** Which media to offer (from the participant's disco features, §4.8); default audio and video. */
  readonly media?: readonly MediaKind[];
  readonly codecFilter?: (codec: RtpCodecCapability) => boolean;
  readonly bridgeSession?: BridgeSession;
  /**
   * Remote sources in the JSON form instead of (or as well as) `remote` (§4.4: for clients advertising
   * json-encoded-sources; the traces' focus sent `{"sources":{…}}` in every session-initiate).
   */
  readonly remoteJson?: JsonSources;
}

/**
 * A complete session-initiate (§4.2): one content per media with the router's codecs and extension ids, the
 * feedback source first, then remote sources (never a SIM group, §4.3), the same transport in every content
 * (BUNDLE), the BUNDLE group, and the bridge-session. No `data` content: the bridge channel is colibri-ws (§5.1).
 */
export function sessionInitiate(input: SessionInitiateInput): Jingle {
  const media = input.media ?? ['audio', 'video'];
  if (media.length === 0) throw new MappingError('a session-initiate needs at least one content');
  if (input.transport.fingerprints.length !== 1) {
    throw new MappingError('offer exactly one DTLS fingerprint (§4.2: ljm writes one a=setup per fingerprint)');
  }
  const contents: JingleContent[] = media.map((kind) => {
    const remote = input.remote?.[kind];
    if (remote?.ssrcGroups.some((g) => g.semantics === 'SIM')) throw new MappingError('SIM groups must not reach receivers (§4.3)');
    return {
      name: kind,
      creator: 'initiator',
      senders: 'both',
      description: offerDescription(input.routerCaps, kind, {
        midMode: input.midMode,
        ...(input.codecFilter === undefined ? {} : { codecFilter: input.codecFilter }),
        sources: [feedbackSource(kind, input.feedbackSsrcs[kind]), ...(remote?.sources ?? [])],
        ssrcGroups: remote?.ssrcGroups ?? [],
      }),
      transport: input.transport,
    };
  });
  return {
    action: 'session-initiate',
    sid: input.sid,
    initiator: input.initiator,
    contents,
    groups: [{ semantics: 'BUNDLE', contents: contents.map((c) => c.name) }],
    ...(input.bridgeSession === undefined ? {} : { bridgeSession: input.bridgeSession }),
    ...(input.remoteJson === undefined ? {} : { jsonSources: input.remoteJson }),
  };
}

export interface OwnedSources extends RemoteSources {
  /** The sender's endpoint id (the JSON key, §4.5). */
  readonly owner: string;
  readonly media: MediaKind;
}

function jsonSource(s: RtpSource): JsonSource {
  const msid = sourceMsid(s);
  return {
    ssrc: s.ssrc,
    ...(s.name === undefined ? {} : { name: s.name }),
    ...(msid === undefined ? {} : { msid }),
    ...(s.videoType === 'desktop' ? { desktop: true } : {}),
  };
}

/**
 * The JSON `source-add`/`source-remove` payload (§4.4) for clients advertising json-encoded-sources: one entry
 * per owner, video and audio lists with their FID groups. SIM groups are refused (§4.3).
 */
export function jsonSourcesFor(entries: readonly OwnedSources[]): JsonSources {
  const byOwner = new Map<string, { video: JsonSource[]; videoGroups: SsrcGroup[]; audio: JsonSource[]; audioGroups: SsrcGroup[] }>();
  for (const e of entries) {
    if (e.ssrcGroups.some((g) => g.semantics !== 'FID')) throw new MappingError('only FID groups may be sent to receivers (§4.3, §4.4)');
    let o = byOwner.get(e.owner);
    if (o === undefined) {
      o = { video: [], videoGroups: [], audio: [], audioGroups: [] };
      byOwner.set(e.owner, o);
    }
    if (e.media === 'video') {
      o.video.push(...e.sources.map(jsonSource));
      o.videoGroups.push(...e.ssrcGroups);
    } else {
      o.audio.push(...e.sources.map(jsonSource));
      o.audioGroups.push(...e.ssrcGroups);
    }
  }
  const owners: JsonOwnerSources[] = [...byOwner].map(([owner, o]) => ({ owner, ...o }));
  return { owners };
}
