// The server side of the offer/answer that the Jitsi focus runs with the browser
// (jitsi-client-protocol.md §4.2, §4.3): the bridge/focus is ALWAYS the offerer, the client the answerer.
// The offer is what ljm's `SDP.fromJingle` would produce from a Jicofo-style session-initiate, so it
// deliberately has NO `a=ice-lite` line (§8.2: Jingle cannot carry it), which makes Chrome ICE-controlled.

import type { types } from 'mediasoup';

/** What the offer needs from one mediasoup WebRtcTransport. */
export interface OfferTransport {
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

/** An m-line on which the bridge receives the browser's track (the client's local source). */
export interface RecvSection {
  mid: string;
  kind: types.MediaKind;
  direction: 'recvonly';
}

/** An m-line on which the bridge sends one consumer (one remote source, as after a Jingle source-add, §4.4). */
export interface SendSection {
  mid: string;
  kind: types.MediaKind;
  direction: 'sendonly';
  rtpParameters: types.RtpParameters;
  /** `a=msid` stream and track ids (ljm requires an msid on every remote source, §4.2). */
  streamId: string;
  trackId: string;
}

export type OfferSection = RecvSection | SendSection;

/**
 * Header extensions offered: the recommended set of §4.2 ("hdrext: ssrc-audio-level (audio),
 * abs-send-time, transport-cc, sdes:mid"). Their ids are taken from the router's capabilities,
 * never chosen here (§8.3).
 */
export const OFFERED_HEADER_EXTENSIONS: readonly types.RtpHeaderExtensionUri[] = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
];

export const MID_EXTENSION_URI: types.RtpHeaderExtensionUri = 'urn:ietf:params:rtp-hdrext:sdes:mid';

/**
 * How consumer packets find their m-line in the browser. MEASURED here, and contrary to §8.4's
 * "safe default": leaving sdes:mid out of the consumer's rtpCapabilities does NOT stop mediasoup
 * 3.19.3 from stamping a MID. The Producer reserves a MID extension (internal id 1 = the router's
 * preferredId) in every packet it receives (Producer.cpp, MangleRtpPacket), and the Router writes each
 * consumer's `rtpParameters.mid` into it (Router.cpp, UpdateMid) — and consume() always sets that
 * mid (an auto counter "0", "1", … when none is given). If the BUNDLE negotiated sdes:mid with id 1,
 * Chrome reads the MID, and because MID rules before SSRC in its demuxer, the packets go to whatever
 * m-line has that mid (e.g. the audio m-line "0"), where they are dropped silently (no inbound-rtp
 * at all, no log line). Two modes work:
 *  - 'no-mid-extension': sdes:mid is not offered anywhere, so Chrome ignores extension id 1 and
 *    demuxes by the signalled a=ssrc (and mediasoup still matches producers by SSRC, §8.1).
 *  - 'consumer-mid': sdes:mid is offered (the §4.2 offer unchanged) and each consumer is created
 *    with `consume({ mid })` equal to the mid of the m-line that carries it (§8.4's "alternative";
 *    with ljm that means the focus must know the mid ljm gives the source, e.g. via source-add's
 *    `parameter name="mid"`).
 * And one that does not, kept to pin the behaviour down in a test:
 *  - 'spec-8.4-default': sdes:mid offered, consumers created without it and without a mid.
 */
export type MidMode = 'no-mid-extension' | 'consumer-mid' | 'spec-8.4-default';

/** The extensions the offer carries on every m-line. */
export function offeredHeaderExtensions(mode: MidMode): readonly types.RtpHeaderExtensionUri[] {
  return mode === 'no-mid-extension' ? OFFERED_HEADER_EXTENSIONS.filter((u) => u !== MID_EXTENSION_URI) : OFFERED_HEADER_EXTENSIONS;
}

/** The extensions given to consume() (and so advertised on the consumers' m-lines). */
export function consumerHeaderExtensions(mode: MidMode): readonly types.RtpHeaderExtensionUri[] {
  return mode === 'consumer-mid' ? OFFERED_HEADER_EXTENSIONS : OFFERED_HEADER_EXTENSIONS.filter((u) => u !== MID_EXTENSION_URI);
}

/**
 * The capabilities given to `consume()`: the router's, limited to the extensions of the offer, so
 * the consumer's m-line advertises exactly what was negotiated (ids stay the router's, §8.3).
 */
export function consumerRtpCapabilities(
  routerCaps: types.RtpCapabilities,
  extensionUris: readonly types.RtpHeaderExtensionUri[],
): types.RtpCapabilities {
  return {
    codecs: routerCaps.codecs ?? [],
    headerExtensions: (routerCaps.headerExtensions ?? []).filter((ext) => extensionUris.includes(ext.uri)),
  };
}

function fmtp(parameters: Record<string, unknown> | undefined): string | undefined {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => `${k}=${String(v)}`).join(';');
}

function rtpmap(codec: { mimeType: string; clockRate: number; channels?: number | undefined }): string {
  const name = codec.mimeType.split('/')[1] ?? codec.mimeType;
  return codec.channels && codec.channels > 1 ? `${name}/${codec.clockRate}/${codec.channels}` : `${name}/${codec.clockRate}`;
}

interface SectionCodec {
  payloadType: number;
  mimeType: string;
  clockRate: number;
  channels?: number | undefined;
  parameters?: Record<string, unknown> | undefined;
  rtcpFeedback?: types.RtcpFeedback[] | undefined;
}

function recvCodecs(routerCaps: types.RtpCapabilities, kind: types.MediaKind): SectionCodec[] {
  return (routerCaps.codecs ?? [])
    .filter((c) => c.kind === kind && c.preferredPayloadType !== undefined)
    .map((c) => ({
      payloadType: c.preferredPayloadType ?? 0,
      mimeType: c.mimeType,
      clockRate: c.clockRate,
      channels: c.channels,
      parameters: c.parameters,
      // §4.2: transport-cc, and goog-remb only when TCC is off — it is on here.
      rtcpFeedback: (c.rtcpFeedback ?? []).filter((fb) => fb.type !== 'goog-remb'),
    }));
}

function recvExtensions(
  routerCaps: types.RtpCapabilities,
  kind: types.MediaKind,
  extensionUris: readonly types.RtpHeaderExtensionUri[],
): types.RtpHeaderExtensionParameters[] {
  return (routerCaps.headerExtensions ?? [])
    .filter((e) => e.kind === kind && extensionUris.includes(e.uri))
    .filter((e) => e.direction === undefined || e.direction === 'sendrecv' || e.direction === 'recvonly')
    .map((e) => ({ uri: e.uri, id: e.preferredId }));
}

export interface BuildOfferOptions {
  transport: OfferTransport;
  routerCaps: types.RtpCapabilities;
  sections: OfferSection[];
  /** `o=` session id, constant for the session. */
  sessionId: string;
  /** `o=` version: incremented on every re-offer (RFC 3264 §8). */
  version: number;
  /** Header extensions to offer (default: the §4.2 set, see {@link MidMode}). */
  extensionUris?: readonly types.RtpHeaderExtensionUri[];
}

/**
 * Builds the offer. Every m-line repeats the same ICE credentials, fingerprint and candidates, as
 * ljm does when it expands a BUNDLEd Jingle transport (§4.2); re-offers keep them unchanged, as a
 * Jingle source-add does (§4.4).
 */
export function buildOffer(options: BuildOfferOptions): string {
  const { transport, routerCaps, sections } = options;
  const extensionUris = options.extensionUris ?? OFFERED_HEADER_EXTENSIONS;
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  if (!fingerprint) throw new Error('the transport has no sha-256 fingerprint');

  const lines: string[] = [
    'v=0',
    `o=- ${options.sessionId} ${options.version} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
    // No `a=ice-lite` here: that is the point of this offer (§8.2).
  ];

  for (const section of sections) {
    const codecs: SectionCodec[] =
      section.direction === 'recvonly' ? recvCodecs(routerCaps, section.kind) : section.rtpParameters.codecs;
    const extensions =
      section.direction === 'recvonly'
        ? recvExtensions(routerCaps, section.kind, extensionUris)
        : (section.rtpParameters.headerExtensions ?? []).filter((e) => extensionUris.includes(e.uri));

    lines.push(`m=${section.kind} 9 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`);
    lines.push('c=IN IP4 0.0.0.0');
    lines.push(`a=ice-ufrag:${transport.iceParameters.usernameFragment}`);
    lines.push(`a=ice-pwd:${transport.iceParameters.password}`);
    // §8.2: a single sha-256 fingerprint with actpass; the browser answers active.
    lines.push(`a=fingerprint:sha-256 ${fingerprint.value.toUpperCase()}`);
    lines.push('a=setup:actpass');
    lines.push(`a=mid:${section.mid}`);
    lines.push(`a=${section.direction}`);
    // §4.2: rtcp-mux is mandatory (Chrome's rtcpMuxPolicy 'require').
    lines.push('a=rtcp-mux');
    if (section.kind === 'video') lines.push('a=rtcp-rsize');
    for (const codec of codecs) {
      lines.push(`a=rtpmap:${codec.payloadType} ${rtpmap(codec)}`);
      const params = fmtp(codec.parameters);
      if (params) lines.push(`a=fmtp:${codec.payloadType} ${params}`);
      for (const fb of codec.rtcpFeedback ?? []) {
        lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
      }
    }
    for (const ext of extensions) lines.push(`a=extmap:${ext.id} ${ext.uri}`);
    if (section.direction === 'sendonly') {
      const encoding = section.rtpParameters.encodings?.[0];
      if (encoding?.ssrc === undefined) throw new Error(`consumer for mid ${section.mid} has no SSRC`);
      const cname = section.rtpParameters.rtcp?.cname ?? 'hummingbird';
      const ssrcs = [encoding.ssrc, ...(encoding.rtx?.ssrc !== undefined ? [encoding.rtx.ssrc] : [])];
      lines.push(`a=msid:${section.streamId} ${section.trackId}`);
      // §4.3: receivers get exactly one primary + one RTX SSRC, paired by FID (never SIM).
      if (ssrcs.length === 2) lines.push(`a=ssrc-group:FID ${ssrcs.join(' ')}`);
      for (const ssrc of ssrcs) {
        lines.push(`a=ssrc:${ssrc} cname:${cname}`);
        lines.push(`a=ssrc:${ssrc} msid:${section.streamId} ${section.trackId}`);
      }
    }
    // §8.2: ALL candidates, UDP and TCP (passive); no others will ever be sent (§4.2).
    for (const c of transport.iceCandidates) {
      const tcp = c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : '';
      lines.push(`a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${tcp} generation 0`);
    }
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface AnswerSection {
  mid: string;
  kind: string;
  port: number;
  direction: string;
  payloadTypes: number[];
  extensions: types.RtpHeaderExtensionParameters[];
  /** Distinct SSRCs in order of their first `a=ssrc` line. */
  ssrcs: number[];
  /** `a=ssrc-group:FID primary rtx` pairs. */
  fidGroups: [number, number][];
  /** `a=rtcp-fb` per payload type, as answered (Chrome drops e.g. audio nack). */
  rtcpFeedback: Record<number, types.RtcpFeedback[]>;
}

export interface ParsedAnswer {
  fingerprint: types.DtlsFingerprint;
  setup: string;
  iceUfrag: string;
  sections: AnswerSection[];
}

/** Parses the browser's answer into what the bridge uses (§4.3: fingerprint, setup, sources, groups). */
export function parseAnswer(sdp: string): ParsedAnswer {
  let fingerprint: types.DtlsFingerprint | undefined;
  let setup: string | undefined;
  let iceUfrag: string | undefined;
  const sections: AnswerSection[] = [];
  let current: AnswerSection | undefined;

  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(\w+) (\d+) \S+ (.*)$/.exec(line);
    if (m) {
      current = {
        mid: '',
        kind: m[1] ?? '',
        port: Number(m[2]),
        direction: 'sendrecv',
        payloadTypes: (m[3] ?? '').split(' ').map(Number),
        extensions: [],
        ssrcs: [],
        fidGroups: [],
        rtcpFeedback: {},
      };
      sections.push(current);
      continue;
    }
    const fp = /^a=fingerprint:(\S+) (\S+)$/.exec(line);
    if (fp) {
      // UPPER case: the 3.19.3 worker compares the remote fingerprint with its own "%.2X:" rendering
      // of the certificate hash, case-sensitively (DtlsTransport.cpp), although the TypeScript docs
      // say "lowercase". A lowercase value makes DTLS fail right after the handshake (measured).
      if (fp[1] === 'sha-256') fingerprint = { algorithm: 'sha-256', value: (fp[2] ?? '').toUpperCase() };
      continue;
    }
    const st = /^a=setup:(\S+)$/.exec(line);
    if (st) {
      setup ??= st[1];
      continue;
    }
    const uf = /^a=ice-ufrag:(\S+)$/.exec(line);
    if (uf) {
      iceUfrag ??= uf[1];
      continue;
    }
    if (!current) continue;
    const mid = /^a=mid:(\S+)$/.exec(line);
    if (mid) current.mid = mid[1] ?? '';
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line);
    if (dir) current.direction = dir[1] ?? current.direction;
    const ext = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (ext) current.extensions.push({ id: Number(ext[1]), uri: ext[2] as types.RtpHeaderExtensionUri });
    const ssrc = /^a=ssrc:(\d+) /.exec(line);
    if (ssrc) {
      const value = Number(ssrc[1]);
      if (!current.ssrcs.includes(value)) current.ssrcs.push(value);
    }
    const fid = /^a=ssrc-group:FID (\d+) (\d+)$/.exec(line);
    if (fid) current.fidGroups.push([Number(fid[1]), Number(fid[2])]);
    const fb = /^a=rtcp-fb:(\d+) (\S+)(?: (\S+))?$/.exec(line);
    if (fb) {
      const list = (current.rtcpFeedback[Number(fb[1])] ??= []);
      list.push({ type: fb[2] ?? '', parameter: fb[3] ?? '' });
    }
  }
  if (!fingerprint) throw new Error('the answer has no sha-256 fingerprint');
  if (!setup) throw new Error('the answer has no a=setup');
  if (!iceUfrag) throw new Error('the answer has no a=ice-ufrag');
  return { fingerprint, setup, iceUfrag, sections };
}

/**
 * `produce()` parameters for the browser's track on one answered m-line (§8.1, §8.3): the router's
 * codecs (the browser answers with the offered PTs), the extensions it answered, and encodings from
 * its `a=ssrc` lines with RTX from the FID group. No `mid` and no `rtcp.cname`: Jingle does not
 * signal them (§8.1), so the producer must be found by SSRC alone.
 */
export function producerRtpParameters(
  routerCaps: types.RtpCapabilities,
  section: AnswerSection,
): types.RtpParameters {
  const kind = section.kind as types.MediaKind;
  const codecs: types.RtpCodecParameters[] = recvCodecs(routerCaps, kind)
    .filter((c) => section.payloadTypes.includes(c.payloadType))
    .map((c) => ({
      mimeType: c.mimeType,
      payloadType: c.payloadType,
      clockRate: c.clockRate,
      ...(c.channels !== undefined ? { channels: c.channels } : {}),
      parameters: c.parameters ?? {},
      // What both sides agreed on: the router offered it and the browser kept it.
      rtcpFeedback: (c.rtcpFeedback ?? []).filter((fb) =>
        (section.rtcpFeedback[c.payloadType] ?? []).some((a) => a.type === fb.type && a.parameter === (fb.parameter ?? '')),
      ),
    }));
  const primary = section.ssrcs.find((s) => !section.fidGroups.some(([, rtx]) => rtx === s));
  if (primary === undefined) throw new Error(`answer m-line ${section.mid} (${section.kind}) has no sending SSRC`);
  const rtx = section.fidGroups.find(([p]) => p === primary)?.[1];
  return {
    codecs,
    headerExtensions: section.extensions,
    encodings: [rtx !== undefined ? { ssrc: primary, rtx: { ssrc: rtx } } : { ssrc: primary }],
    rtcp: { reducedSize: true },
  };
}
