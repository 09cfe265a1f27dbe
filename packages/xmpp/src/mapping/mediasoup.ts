// Pure mapping between Jingle media descriptions and mediasoup's RTP types, used by the focus (offers,
// source tables) and the bridge (produce/consume/connect). Rules from `spec/jitsi-client-protocol.md` §8:
// - §8.3: the offer is built from `router.rtpCapabilities` (its payload types, rtx PTs and header-extension
//   ids), so the client's answer uses mediasoup's numbers and consumer capabilities match trivially;
// - §8.1: producer encodings come from the SIM group (low → high) with RTX from the FID groups; no mid, no rids;
// - §4.4/§8.1: a consumer is signalled to its receiver as one primary SSRC + its RTX in a FID group.
//
// sdes:mid — this OVERRIDES spec §8.4's default. Measured with mediasoup 3.19.3 and Chromium (finding recorded
// in packages/e2e/README.md, "Consumer packets and the sdes:mid extension", commit 3154d2c): leaving
// `urn:ietf:params:rtp-hdrext:sdes:mid` out of the consumer's rtpCapabilities does NOT stop the router from
// writing the consumer's mid into every packet when the BUNDLE negotiated the extension; Chrome then routes
// the packets to the wrong m-line and drops them silently. Two modes work, and callers must pick one
// explicitly (`MidMode`):
// - `no-mid-extension` (recommended): never offer sdes:mid to the client. Chrome ignores the id and demuxes by
//   the signalled `a=ssrc`; mediasoup matches producers by SSRC anyway.
// - `consumer-mid`: offer sdes:mid, signal each remote source with `parameter name="mid"` (non-numeric, so it
//   cannot collide with ljm's index mids, §8.4) and create the consumer with `consume({ mid })` = that value.
//
// mediasoup is imported for types only: this package never loads the worker.
import type {
  DtlsParameters, FingerprintAlgorithm, IceCandidate as MsIceCandidate, IceParameters, MediaKind, RtcpFeedback,
  RtpCapabilities, RtpCodecCapability, RtpCodecParameters, RtpEncodingParameters, RtpHeaderExtension,
  RtpHeaderExtensionParameters, RtpHeaderExtensionUri, RtpParameters,
} from 'mediasoup/types';
import type { DtlsSetup, IceCandidate, IceUdpTransport } from '../stanzas/ice.js';
import { normalizeFingerprint } from '../stanzas/ice.js';
import type { RtpDescription } from '../stanzas/jingle.js';
import { sourceMsid, type FmtpParameter, type HeaderExtension, type PayloadType, type RtcpFb, type RtpSource, type SsrcGroup } from '../stanzas/rtp.js';

export type MidMode = 'no-mid-extension' | 'consumer-mid';

export const SDES_MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/** The header-extension URIs mediasoup 3.19.3 knows; others cannot be given to it. */
const MEDIASOUP_HDREXT_URIS: readonly RtpHeaderExtensionUri[] = [
  'urn:ietf:params:rtp-hdrext:sdes:mid', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation', 'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
];

function isMediasoupUri(uri: string): uri is RtpHeaderExtensionUri {
  return (MEDIASOUP_HDREXT_URIS as readonly string[]).includes(uri);
}

/** Thrown when a description cannot be expressed in mediasoup's terms (a programming or negotiation error). */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  readonly code = 'HB_ERR_RTP_MAPPING';
}

// --- codecs

function mediaKind(media: string): MediaKind {
  if (media === 'audio' || media === 'video') return media;
  throw new MappingError(`not an RTP media kind: ${media}`);
}

/** fmtp value → mediasoup parameter: plain decimal integers become numbers (mediasoup requires `apt` etc. as numbers). */
function fmtpValue(v: string): string | number {
  return /^(0|[1-9][0-9]{0,14})$/.test(v) ? Number(v) : v;
}

function parametersOf(pt: PayloadType): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const p of pt.parameters) if (p.name !== undefined) out[p.name] = fmtpValue(p.value);
  return out;
}

function rtcpFeedbackOf(pt: PayloadType): RtcpFeedback[] {
  return pt.rtcpFbs.map((f) => ({ type: f.type, parameter: f.subtype ?? '' }));
}

function codecName(mimeType: string): string {
  const slash = mimeType.indexOf('/');
  return slash === -1 ? mimeType : mimeType.slice(slash + 1);
}

/** A mediasoup codec (router capability or consumer/producer parameters) as a Jingle payload type. */
export function payloadTypeFromCodec(codec: RtpCodecCapability | RtpCodecParameters): PayloadType {
  const id = 'payloadType' in codec ? codec.payloadType : codec.preferredPayloadType;
  const parameters: FmtpParameter[] = Object.entries(codec.parameters ?? {})
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([name, v]) => ({ name, value: String(v as string | number) }));
  const rtcpFbs: RtcpFb[] = (codec.rtcpFeedback ?? []).map((f) => (f.parameter ? { type: f.type, subtype: f.parameter } : { type: f.type }));
  return {
    id,
    name: codecName(codec.mimeType),
    clockrate: codec.clockRate,
    ...(codec.channels === undefined ? {} : { channels: codec.channels }),
    parameters,
    rtcpFbs,
  };
}

function requireCodecFields(kind: MediaKind, pt: PayloadType): { name: string; clockrate: number } {
  if (pt.name === undefined || pt.clockrate === undefined) {
    throw new MappingError(`payload type ${pt.id} (${kind}) has no name or clockrate`);
  }
  return { name: pt.name, clockrate: pt.clockrate };
}

/** A Jingle payload type as a mediasoup codec capability of `kind`. */
export function codecCapabilityFromPayloadType(kind: MediaKind, pt: PayloadType): RtpCodecCapability {
  const { name, clockrate } = requireCodecFields(kind, pt);
  // Chrome answers `channels="1"` for video (seen in the fixtures); mediasoup wants channels on audio only.
  const channels = kind === 'audio' ? pt.channels : undefined;
  return {
    kind,
    mimeType: `${kind}/${name}`,
    preferredPayloadType: pt.id,
    clockRate: clockrate,
    ...(channels === undefined ? {} : { channels }),
    parameters: parametersOf(pt),
    rtcpFeedback: rtcpFeedbackOf(pt),
  };
}

export function codecParametersFromPayloadType(kind: MediaKind, pt: PayloadType): RtpCodecParameters {
  const { name, clockrate } = requireCodecFields(kind, pt);
  const channels = kind === 'audio' ? pt.channels : undefined;
  return {
    mimeType: `${kind}/${name}`,
    payloadType: pt.id,
    clockRate: clockrate,
    ...(channels === undefined ? {} : { channels }),
    parameters: parametersOf(pt),
    rtcpFeedback: rtcpFeedbackOf(pt),
  };
}

// --- offer (focus → client), §4.2 + §8.3

/**
 * §4.2's recommended header extensions (besides sdes:mid, which `MidMode` decides). The rid extensions are
 * left out on purpose: Jitsi clients signal simulcast by SSRC (SIM groups), never by RID (§4.3).
 */
export const OFFERED_HEADER_EXTENSIONS: readonly RtpHeaderExtensionUri[] = [
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
];

export interface OfferDescriptionOptions {
  readonly midMode: MidMode;
  /** Which router codecs to offer (default: all of this kind; §4.2 recommends opus and VP8 only). RTX follows its codec. */
  readonly codecFilter?: (codec: RtpCodecCapability) => boolean;
  /** Header extensions to offer besides sdes:mid (default `OFFERED_HEADER_EXTENSIONS`); ids always come from the router. */
  readonly headerExtensionUris?: readonly RtpHeaderExtensionUri[];
  /** The sources to put in the offer: the bridge feedback source first (§4.2), then remote sources. */
  readonly sources?: readonly RtpSource[];
  readonly ssrcGroups?: readonly SsrcGroup[];
}

/**
 * The `<description>` of one content of a session-initiate, from the router's capabilities: its preferred
 * payload types (rtx included, kept next to the codec it repairs) and its header-extension ids (§8.3).
 * sdes:mid is offered only in `consumer-mid` mode (see the file comment).
 */
export function offerDescription(routerCaps: RtpCapabilities, kind: MediaKind, opts: OfferDescriptionOptions): RtpDescription {
  const codecs = (routerCaps.codecs ?? []).filter((c) => c.kind === kind);
  const primaries = codecs.filter((c) => codecName(c.mimeType).toLowerCase() !== 'rtx' && (opts.codecFilter?.(c) ?? true));
  const payloadTypes: PayloadType[] = [];
  for (const c of primaries) {
    payloadTypes.push(payloadTypeFromCodec(c));
    const rtx = codecs.find((r) => codecName(r.mimeType).toLowerCase() === 'rtx' && r.parameters?.apt === c.preferredPayloadType);
    if (rtx !== undefined) payloadTypes.push(payloadTypeFromCodec(rtx));
  }
  const uris = opts.headerExtensionUris ?? OFFERED_HEADER_EXTENSIONS;
  const headerExtensions: HeaderExtension[] = (routerCaps.headerExtensions ?? [])
    .filter((h) => h.kind === kind && h.direction !== 'inactive')
    .filter((h) => (h.uri === SDES_MID_URI ? opts.midMode === 'consumer-mid' : uris.includes(h.uri)))
    .map((h) => ({ id: h.preferredId, uri: h.uri }));
  return {
    media: kind,
    payloadTypes,
    headerExtensions,
    extmapAllowMixed: true,
    rtcpMux: true,
    sources: opts.sources ?? [],
    ssrcGroups: opts.ssrcGroups ?? [],
  };
}

// --- answer (client → focus): consumer capabilities and producer parameters

function headerExtensionsOf(d: RtpDescription): { kind: MediaKind; ext: HeaderExtension & { uri: RtpHeaderExtensionUri } }[] {
  const kind = mediaKind(d.media);
  return d.headerExtensions
    .filter((h): h is HeaderExtension & { uri: RtpHeaderExtensionUri } => isMediasoupUri(h.uri))
    .map((ext) => ({ kind, ext }));
}

/**
 * The receiver's `rtpCapabilities` for `consume()`, from the audio/video descriptions of its session-accept.
 * sdes:mid is kept only in `consumer-mid` mode; in `no-mid-extension` mode it was never offered, and dropping it
 * here is NOT what prevents MID stamping (see the file comment).
 */
export function consumerRtpCapabilities(descriptions: readonly RtpDescription[], midMode: MidMode): RtpCapabilities {
  const codecs: RtpCodecCapability[] = [];
  const headerExtensions: RtpHeaderExtension[] = [];
  for (const d of descriptions) {
    if (d.media !== 'audio' && d.media !== 'video') continue;
    const kind = d.media;
    for (const pt of d.payloadTypes) codecs.push(codecCapabilityFromPayloadType(kind, pt));
    for (const { ext } of headerExtensionsOf(d)) {
      if (ext.uri === SDES_MID_URI && midMode !== 'consumer-mid') continue;
      headerExtensions.push({ kind, uri: ext.uri, preferredId: ext.id, direction: 'sendrecv' });
    }
  }
  return { codecs, headerExtensions };
}

/**
 * `produce()` encodings for one source, §8.1: with a SIM group, one encoding per SIM SSRC in group order
 * (low → high), each with the RTX its FID group names; without one, `[{ ssrc, rtx? }]` for the first SSRC.
 */
export function encodingsFromSsrcs(ssrcs: readonly number[], groups: readonly SsrcGroup[]): RtpEncodingParameters[] {
  const set = new Set(ssrcs);
  const inSet = (g: SsrcGroup): boolean => g.ssrcs.every((s) => set.has(s));
  const fid = new Map<number, number>();
  for (const g of groups) if (g.semantics === 'FID' && g.ssrcs.length === 2 && inSet(g)) fid.set(g.ssrcs[0] as number, g.ssrcs[1] as number);
  const sims = groups.filter((g) => g.semantics === 'SIM' && inSet(g));
  if (sims.length > 1) throw new MappingError('more than one SIM group for one source');
  const rtxSsrcs = new Set(fid.values());
  const primaries = sims[0]?.ssrcs ?? ssrcs.filter((s) => !rtxSsrcs.has(s)).slice(0, 1);
  if (primaries.length === 0) throw new MappingError('a source without a primary SSRC');
  return primaries.map((ssrc) => {
    const rtx = fid.get(ssrc);
    return rtx === undefined ? { ssrc } : { ssrc, rtx: { ssrc: rtx } };
  });
}

/** One sender's source as the client signals it: all SSRCs sharing one source name (§4.3). */
export interface SignalledSource {
  readonly name?: string;
  readonly kind: MediaKind;
  readonly videoType?: string;
  readonly msid?: string;
  readonly ssrcs: readonly number[];
  readonly ssrcGroups: readonly SsrcGroup[];
}

/**
 * Groups the `<source>` elements of a description into sources: by `name` (ljm repeats name/msid/videoType on
 * every SSRC of a simulcast source), or, for older clients without names (§10), by msid, then by FID pair.
 */
export function signalledSources(d: RtpDescription): SignalledSource[] {
  const kind = mediaKind(d.media);
  const byKey = new Map<string, { first: RtpSource; ssrcs: number[] }>();
  for (const s of d.sources) {
    const key = s.name !== undefined ? `n:${s.name}` : sourceMsid(s) !== undefined ? `m:${sourceMsid(s)}` : `s:${s.ssrc}`;
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { first: s, ssrcs: [s.ssrc] });
    else if (!entry.ssrcs.includes(s.ssrc)) entry.ssrcs.push(s.ssrc);
  }
  // Unnamed, msid-less SSRCs joined only by a FID group belong together.
  for (const g of d.ssrcGroups) {
    if (g.semantics !== 'FID' || g.ssrcs.length !== 2) continue;
    const [p, r] = g.ssrcs as [number, number];
    const rk = `s:${r}`;
    const pk = [...byKey.entries()].find(([, v]) => v.ssrcs.includes(p))?.[0];
    const re = byKey.get(rk);
    if (pk !== undefined && pk !== rk && re !== undefined) {
      byKey.get(pk)?.ssrcs.push(r);
      byKey.delete(rk);
    }
  }
  return [...byKey.values()].map(({ first, ssrcs }) => {
    const msid = sourceMsid(first);
    return {
      ...(first.name === undefined ? {} : { name: first.name }),
      kind,
      ...(first.videoType === undefined ? {} : { videoType: first.videoType }),
      ...(msid === undefined ? {} : { msid }),
      ssrcs,
      ssrcGroups: d.ssrcGroups.filter((g) => g.ssrcs.every((x) => ssrcs.includes(x))),
    };
  });
}

/**
 * `produce()` parameters for one signalled source of a session-accept / source-add: the answer's codecs of that
 * kind, its header extensions (sdes:mid kept only in `consumer-mid` mode, matching what was offered), encodings
 * from SIM/FID (§8.1). No `mid`, no rids; `rtcp.cname` left unset (Jingle does not carry it).
 */
export function producerRtpParameters(d: RtpDescription, source: SignalledSource, midMode: MidMode): RtpParameters {
  const kind = mediaKind(d.media);
  if (source.kind !== kind) throw new MappingError(`a ${source.kind} source in a ${kind} description`);
  const headerExtensions: RtpHeaderExtensionParameters[] = headerExtensionsOf(d)
    .filter(({ ext }) => ext.uri !== SDES_MID_URI || midMode === 'consumer-mid')
    .map(({ ext }) => ({ uri: ext.uri, id: ext.id }));
  return {
    codecs: d.payloadTypes.map((pt) => codecParametersFromPayloadType(kind, pt)),
    headerExtensions,
    encodings: encodingsFromSsrcs(source.ssrcs, source.ssrcGroups),
    rtcp: { reducedSize: true },
  };
}

// --- consumers → the receiver's source-add (§4.4, §8.1)

export interface ConsumerSignalling {
  /** The sender's endpoint id (ssrc-info owner). */
  readonly owner: string;
  /** The sender's source name, e.g. `abcd1234-v0`. */
  readonly name: string;
  /** The sender's msid (Jicofo forwards it; any unique "<stream> <track>" works, §4.2). */
  readonly msid: string;
  readonly videoType?: string;
  readonly midMode: MidMode;
}

/**
 * Jingle sources for one consumer, to send to its receiver: the consumer's SSRC and (video) its RTX SSRC with
 * the sender's owner/name/msid, plus the FID group — never SIM (§4.3). In `consumer-mid` mode each source also
 * carries `parameter name="mid"` = `rtpParameters.mid`, which must be the mid given to `consume({ mid })`.
 */
export function consumerSources(rtpParameters: RtpParameters, s: ConsumerSignalling): { sources: RtpSource[]; ssrcGroups: SsrcGroup[] } {
  const enc = rtpParameters.encodings?.[0];
  if (enc?.ssrc === undefined) throw new MappingError('consumer rtpParameters without an SSRC');
  if (s.midMode === 'consumer-mid' && rtpParameters.mid === undefined) throw new MappingError('consumer-mid mode needs rtpParameters.mid');
  const parameters = [
    { name: 'msid', value: s.msid },
    ...(s.midMode === 'consumer-mid' ? [{ name: 'mid', value: rtpParameters.mid as string }] : []),
  ];
  const make = (ssrc: number): RtpSource => ({
    ssrc, name: s.name, ...(s.videoType === undefined ? {} : { videoType: s.videoType }), parameters, owner: s.owner,
  });
  const rtx = enc.rtx?.ssrc;
  return rtx === undefined
    ? { sources: [make(enc.ssrc)], ssrcGroups: [] }
    : { sources: [make(enc.ssrc), make(rtx)], ssrcGroups: [{ semantics: 'FID', ssrcs: [enc.ssrc, rtx] }] };
}

/**
 * A consumer mid for `consumer-mid` mode: non-numeric so it cannot collide with ljm's index mids (§8.4).
 * `n` must be unique per receiver transport.
 */
export function consumerMid(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new MappingError(`bad consumer mid index ${n}`);
  return `r${n}`;
}

// --- transport: DTLS and ICE

const FINGERPRINT_ALGORITHMS: readonly FingerprintAlgorithm[] = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'];

/**
 * `transport.connect({ dtlsParameters })` from the client's answer transport: the client answers
 * `setup="active"`, so the bridge is the DTLS server and the remote role is `client` (§8.2). Fingerprints are
 * upper-cased: mediasoup 3.19.3 compares them case-sensitively (packages/e2e/README.md).
 */
export function dtlsParametersFromTransport(t: IceUdpTransport): DtlsParameters {
  const fingerprints = t.fingerprints
    .filter((f) => (FINGERPRINT_ALGORITHMS as readonly string[]).includes(f.hash.toLowerCase()))
    .map((f) => ({ algorithm: f.hash.toLowerCase() as FingerprintAlgorithm, value: normalizeFingerprint(f.value) }));
  if (fingerprints.length === 0) throw new MappingError('the transport has no usable DTLS fingerprint');
  const setup = t.fingerprints[0]?.setup;
  const role = setup === 'active' ? 'client' : setup === 'passive' ? 'server' : 'auto';
  return { role, fingerprints };
}

export interface BridgeTransportDescription {
  readonly iceParameters: IceParameters;
  readonly iceCandidates: readonly MsIceCandidate[];
  readonly dtlsParameters: DtlsParameters;
}

/**
 * The `<transport>` of a session-initiate from a mediasoup WebRtcTransport: ICE credentials, ALL candidates
 * (§4.2: ljm ignores trickled ones; TCP as passive), a single sha-256 fingerprint with `setup="actpass"`
 * (§4.2: one fingerprint, or the SDP gets duplicate setup lines), and the colibri-ws URL (§5.1).
 */
export function iceUdpTransportFromMediasoup(
  t: BridgeTransportDescription,
  opts: { readonly webSocketUrl?: string; readonly setup?: DtlsSetup } = {},
): IceUdpTransport {
  const fp = t.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  if (fp === undefined) throw new MappingError('the bridge transport has no sha-256 fingerprint');
  const candidates: IceCandidate[] = t.iceCandidates.map((c, i) => ({
    component: 1,
    foundation: c.foundation,
    generation: 0,
    id: `c${i}`,
    ip: c.address,
    network: 0,
    port: c.port,
    priority: c.priority,
    protocol: c.protocol,
    type: c.type,
    ...(c.protocol === 'tcp' ? { tcptype: c.tcpType ?? 'passive' } : {}),
  }));
  return {
    ufrag: t.iceParameters.usernameFragment,
    pwd: t.iceParameters.password,
    fingerprints: [{ hash: 'sha-256', setup: opts.setup ?? 'actpass', value: normalizeFingerprint(fp.value) }],
    candidates,
    webSockets: opts.webSocketUrl === undefined ? [] : [opts.webSocketUrl],
    rtcpMux: true,
  };
}
