// COLIBRI2, the focus ⇄ bridge allocation protocol (`spec/jicofo-jvb.md` §3): `conference-modify` (§3.2),
// `conference-modified` (§3.4) and the error reasons (§3.5). Kept faithful to Jitsi's wire format so either
// half can be mixed with Jitsi's own (ARCHITECTURE.md). Both IQ types (`get`, `set`) carry the same element
// (§3.1); the IQ envelope is the router's business.
import { StanzaError, STANZA_ERROR_CONDITIONS, type StanzaErrorCondition, type StanzaErrorType } from '../errors.js';
import { JidError, parseJid } from '../jid.js';
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { buildIceUdpTransport, parseIceUdpTransport, type IceUdpTransport } from './ice.js';
import {
  appendAll, child, childElements, children, el, expectElement, fail, isXmlElement, localName, nsOf, optBool, optEnum, optString,
  optToken, optUint, reqEnum, reqString, reqToken, singleChild, text, withText,
} from './read.js';
import {
  HDREXT_NS, buildHeaderExtension, buildPayloadType, buildSource, buildSsrcGroup, parseHeaderExtension, parsePayloadType,
  parseSources, type HeaderExtension, type PayloadType, type RtpSource, type SsrcGroup,
} from './rtp.js';

const C2 = NS.COLIBRI2;

export const MEDIA_TYPES = ['audio', 'video'] as const;
export type Colibri2MediaType = (typeof MEDIA_TYPES)[number];

/** `<media type>`: the codecs and header extensions of one kind (can only be added to, §3.2). */
export interface Colibri2Media {
  readonly type: Colibri2MediaType;
  readonly payloadTypes: readonly PayloadType[];
  readonly headerExtensions: readonly HeaderExtension[];
  readonly extmapAllowMixed: boolean;
}

export interface Colibri2Sctp {
  readonly role?: 'server' | 'client';
  readonly port?: number;
}

/** The colibri2 `<transport>` wrapper around an optional ICE-UDP transport and SCTP request. */
export interface Colibri2Transport {
  readonly iceControlling?: boolean;
  readonly useUniquePort?: boolean;
  /** (2026) in-place ICE restart request. */
  readonly iceRestart?: boolean;
  readonly iceUdp?: IceUdpTransport;
  readonly sctp?: Colibri2Sctp;
}

/** `<media-source type id [synthetic]>`: one named source with its SSRCs and groups. */
export interface Colibri2MediaSource {
  readonly type: Colibri2MediaType;
  /** The source name, e.g. `abcd1234-v0`, or `jvb-a0` for feedback sources. */
  readonly id: string;
  readonly synthetic?: boolean;
  readonly sources: readonly RtpSource[];
  readonly ssrcGroups: readonly SsrcGroup[];
}

export interface Colibri2ForceMute {
  readonly audio?: boolean;
  readonly video?: boolean;
}

export interface Colibri2Endpoint {
  readonly id: string;
  readonly create?: boolean;
  readonly expire?: boolean;
  readonly statsId?: string;
  /** `visitor` makes a receive-only endpoint (§3.2). */
  readonly mucRole?: string;
  readonly diarize?: boolean;
  readonly media: readonly Colibri2Media[];
  readonly transport?: Colibri2Transport;
  /** `undefined`: no `<sources>` element; `[]`: an empty one (clears the endpoint's sources). */
  readonly sources?: readonly Colibri2MediaSource[];
  readonly forceMute?: Colibri2ForceMute;
  /** `source-names` (mandatory on create), `ssrc-rewriting`, `private-address-connectivity`, `rtp-mid-demux`. */
  readonly capabilities: readonly string[];
  readonly initialLastN?: number;
}

/** An endpoint behind a relay (`<relay><endpoints><endpoint>`). */
export interface Colibri2RelayEndpoint {
  readonly id: string;
  readonly create?: boolean;
  readonly expire?: boolean;
  readonly statsId?: string;
  readonly sources?: readonly Colibri2MediaSource[];
}

export interface Colibri2Relay {
  /** The remote bridge's relay id. */
  readonly id: string;
  readonly create?: boolean;
  readonly expire?: boolean;
  readonly meshId?: string;
  readonly media: readonly Colibri2Media[];
  readonly transport?: Colibri2Transport;
  readonly endpoints?: readonly Colibri2RelayEndpoint[];
}

/** `<connect>`: media export over WebSocket (`mediajson`) to a recorder, transcriber or translator. */
export interface Colibri2Connect {
  readonly id: string;
  readonly url?: string;
  readonly protocol?: string;
  readonly type?: string;
  readonly audio?: boolean;
  readonly video?: boolean;
  readonly create?: boolean;
  readonly expire?: boolean;
  readonly httpHeaders: readonly { readonly name: string; readonly value: string }[];
  readonly ping?: { readonly interval?: number; readonly timeout?: number };
  readonly exports: readonly string[];
  readonly requests: readonly string[];
}

export interface ConferenceModify {
  /** The bridge's lookup key for the conference (the room's `muc#roominfo_meetingId`). */
  readonly meetingId: string;
  /** Room JID, sent only with create; must be a bare JID (§3.2). */
  readonly name?: string;
  /** true: the conference must not exist yet (else `conflict`). */
  readonly create?: boolean;
  readonly expire?: boolean;
  readonly rtcstatsEnabled?: boolean;
  /** Older Jicofo versions send `callstats-enabled`; carried so such requests round-trip. */
  readonly callstatsEnabled?: boolean;
  readonly endpoints: readonly Colibri2Endpoint[];
  readonly relays: readonly Colibri2Relay[];
  readonly connects?: readonly Colibri2Connect[];
}

export interface Colibri2EndpointResult {
  readonly id: string;
  readonly expire?: boolean;
  /** Only on create, or on an accepted ICE restart (§3.4). */
  readonly transport?: Colibri2Transport;
  /**
   * Hummingbird addition (additive; Jicofo ignores it): on create, the payload types and header-extension ids of
   * the conference's router, so the focus builds its offer from the bridge's own numbers
   * (jitsi-client-protocol.md §8.3). Same `<media>` shape as in the request.
   */
  readonly media?: readonly Colibri2Media[];
}

export interface ConferenceModified {
  readonly endpoints: readonly Colibri2EndpointResult[];
  readonly relays: readonly Colibri2EndpointResult[];
  /** Feedback sources (`jvb-a0`/`jvb-v0`), included when the conference or an endpoint was created. */
  readonly sources?: readonly Colibri2MediaSource[];
}

function list<T>(parent: Element, name: string, ns: string, path: string, parse: (e: Element, p: string) => T): T[] {
  return children(parent, name, ns).map((c, i) => parse(c, `${path}/${name}[${i}]`));
}

export function parseMedia(e: Element, path: string): Colibri2Media {
  return {
    type: reqEnum(e, 'type', path, MEDIA_TYPES),
    payloadTypes: list(e, 'payload-type', NS.JINGLE_RTP, path, parsePayloadType),
    headerExtensions: list(e, 'rtp-hdrext', HDREXT_NS, path, parseHeaderExtension),
    extmapAllowMixed: child(e, 'extmap-allow-mixed', HDREXT_NS) !== undefined,
  };
}

export function buildMedia(m: Colibri2Media): Element {
  const e = el('media', { type: m.type });
  appendAll(e, m.payloadTypes.map((p) => buildPayloadType(p, NS.JINGLE_RTP)));
  appendAll(e, m.headerExtensions.map(buildHeaderExtension));
  if (m.extmapAllowMixed) e.cnode(el('extmap-allow-mixed', { xmlns: HDREXT_NS }));
  return e;
}

function parseTransport(e: Element, path: string): Colibri2Transport {
  const iceControlling = optBool(e, 'ice-controlling', path);
  const useUniquePort = optBool(e, 'use-unique-port', path);
  const iceRestart = optBool(e, 'ice-restart', path);
  const ice = singleChild(e, 'transport', NS.JINGLE_ICE_UDP, path);
  const sctpEl = singleChild(e, 'sctp', C2, path);
  let sctp: Colibri2Sctp | undefined;
  if (sctpEl !== undefined) {
    const sp = `${path}/sctp`;
    const role = optEnum(sctpEl, 'role', sp, ['server', 'client'] as const);
    const port = optUint(sctpEl, 'port', sp, 0, 65535);
    sctp = { ...(role === undefined ? {} : { role }), ...(port === undefined ? {} : { port }) };
  }
  return {
    ...(iceControlling === undefined ? {} : { iceControlling }),
    ...(useUniquePort === undefined ? {} : { useUniquePort }),
    ...(iceRestart === undefined ? {} : { iceRestart }),
    ...(ice === undefined ? {} : { iceUdp: parseIceUdpTransport(ice, `${path}/transport`) }),
    ...(sctp === undefined ? {} : { sctp }),
  };
}

function buildTransport(t: Colibri2Transport): Element {
  return el(
    'transport',
    { 'ice-controlling': t.iceControlling, 'use-unique-port': t.useUniquePort, 'ice-restart': t.iceRestart },
    t.iceUdp !== undefined && buildIceUdpTransport(t.iceUdp),
    t.sctp !== undefined && el('sctp', { role: t.sctp.role, port: t.sctp.port }),
  );
}

export function parseMediaSource(e: Element, path: string): Colibri2MediaSource {
  const synthetic = optBool(e, 'synthetic', path);
  return {
    type: reqEnum(e, 'type', path, MEDIA_TYPES),
    id: reqToken(e, 'id', path),
    ...(synthetic === undefined ? {} : { synthetic }),
    ...parseSources(e, path),
  };
}

export function buildMediaSource(m: Colibri2MediaSource): Element {
  const e = el('media-source', { type: m.type, id: m.id, synthetic: m.synthetic });
  appendAll(e, m.sources.map(buildSource));
  return appendAll(e, m.ssrcGroups.map(buildSsrcGroup));
}

function parseSourcesElement(parent: Element, path: string): Colibri2MediaSource[] | undefined {
  const s = singleChild(parent, 'sources', C2, path);
  return s === undefined ? undefined : list(s, 'media-source', C2, `${path}/sources`, parseMediaSource);
}

function buildSourcesElement(sources: readonly Colibri2MediaSource[]): Element {
  return appendAll(el('sources', {}), sources.map(buildMediaSource));
}

function parseEndpoint(e: Element, path: string): Colibri2Endpoint {
  const create = optBool(e, 'create', path);
  const expire = optBool(e, 'expire', path);
  const statsId = optToken(e, 'stats-id', path);
  const mucRole = optToken(e, 'muc-role', path);
  const diarize = optBool(e, 'diarize', path);
  const transport = singleChild(e, 'transport', C2, path);
  const sources = parseSourcesElement(e, path);
  const fm = singleChild(e, 'force-mute', C2, path);
  const lastN = singleChild(e, 'initial-last-n', C2, path);
  const initialLastN = lastN === undefined ? undefined : optUint(lastN, 'value', `${path}/initial-last-n`, 0, 0xffffffff);
  if (lastN !== undefined && initialLastN === undefined) fail(`${path}/initial-last-n@value`, 'required attribute missing');
  let forceMute: Colibri2ForceMute | undefined;
  if (fm !== undefined) {
    const audio = optBool(fm, 'audio', `${path}/force-mute`);
    const video = optBool(fm, 'video', `${path}/force-mute`);
    forceMute = { ...(audio === undefined ? {} : { audio }), ...(video === undefined ? {} : { video }) };
  }
  return {
    id: reqToken(e, 'id', path),
    ...(create === undefined ? {} : { create }),
    ...(expire === undefined ? {} : { expire }),
    ...(statsId === undefined ? {} : { statsId }),
    ...(mucRole === undefined ? {} : { mucRole }),
    ...(diarize === undefined ? {} : { diarize }),
    media: list(e, 'media', C2, path, parseMedia),
    ...(transport === undefined ? {} : { transport: parseTransport(transport, `${path}/transport`) }),
    ...(sources === undefined ? {} : { sources }),
    ...(forceMute === undefined ? {} : { forceMute }),
    capabilities: list(e, 'capability', C2, path, (c, p) => reqToken(c, 'name', p)),
    ...(initialLastN === undefined ? {} : { initialLastN }),
  };
}

function buildEndpoint(ep: Colibri2Endpoint): Element {
  const e = el('endpoint', {
    id: ep.id, create: ep.create, expire: ep.expire, 'stats-id': ep.statsId, 'muc-role': ep.mucRole, diarize: ep.diarize,
  });
  appendAll(e, ep.media.map(buildMedia));
  if (ep.transport !== undefined) e.cnode(buildTransport(ep.transport));
  if (ep.sources !== undefined) e.cnode(buildSourcesElement(ep.sources));
  if (ep.forceMute !== undefined) e.cnode(el('force-mute', { audio: ep.forceMute.audio, video: ep.forceMute.video }));
  appendAll(e, ep.capabilities.map((name) => el('capability', { name })));
  if (ep.initialLastN !== undefined) e.cnode(el('initial-last-n', { value: ep.initialLastN }));
  return e;
}

function parseRelayEndpoint(e: Element, path: string): Colibri2RelayEndpoint {
  const create = optBool(e, 'create', path);
  const expire = optBool(e, 'expire', path);
  const statsId = optToken(e, 'stats-id', path);
  const sources = parseSourcesElement(e, path);
  return {
    id: reqToken(e, 'id', path),
    ...(create === undefined ? {} : { create }),
    ...(expire === undefined ? {} : { expire }),
    ...(statsId === undefined ? {} : { statsId }),
    ...(sources === undefined ? {} : { sources }),
  };
}

function parseRelay(e: Element, path: string): Colibri2Relay {
  const create = optBool(e, 'create', path);
  const expire = optBool(e, 'expire', path);
  const meshId = optToken(e, 'mesh-id', path);
  const transport = singleChild(e, 'transport', C2, path);
  const eps = singleChild(e, 'endpoints', C2, path);
  return {
    id: reqToken(e, 'id', path),
    ...(create === undefined ? {} : { create }),
    ...(expire === undefined ? {} : { expire }),
    ...(meshId === undefined ? {} : { meshId }),
    media: list(e, 'media', C2, path, parseMedia),
    ...(transport === undefined ? {} : { transport: parseTransport(transport, `${path}/transport`) }),
    ...(eps === undefined ? {} : { endpoints: list(eps, 'endpoint', C2, `${path}/endpoints`, parseRelayEndpoint) }),
  };
}

function buildRelay(r: Colibri2Relay): Element {
  const e = el('relay', { id: r.id, create: r.create, expire: r.expire, 'mesh-id': r.meshId });
  appendAll(e, r.media.map(buildMedia));
  if (r.transport !== undefined) e.cnode(buildTransport(r.transport));
  if (r.endpoints !== undefined) {
    e.cnode(appendAll(el('endpoints', {}), r.endpoints.map((ep) => {
      const x = el('endpoint', { id: ep.id, create: ep.create, expire: ep.expire, 'stats-id': ep.statsId });
      if (ep.sources !== undefined) x.cnode(buildSourcesElement(ep.sources));
      return x;
    })));
  }
  return e;
}

function parseConnect(e: Element, path: string): Colibri2Connect {
  const url = optToken(e, 'url', path);
  if (url !== undefined && !/^wss?:\/\/\S+$/.test(url)) fail(`${path}@url`, 'not a ws:// or wss:// URL');
  const protocol = optToken(e, 'protocol', path);
  const type = optToken(e, 'type', path);
  const audio = optBool(e, 'audio', path);
  const video = optBool(e, 'video', path);
  const create = optBool(e, 'create', path);
  const expire = optBool(e, 'expire', path);
  const pingEl = singleChild(e, 'ping', C2, path);
  let ping: Colibri2Connect['ping'];
  if (pingEl !== undefined) {
    const interval = optUint(pingEl, 'interval', `${path}/ping`, 0, 0xffffffff);
    const timeout = optUint(pingEl, 'timeout', `${path}/ping`, 0, 0xffffffff);
    ping = { ...(interval === undefined ? {} : { interval }), ...(timeout === undefined ? {} : { timeout }) };
  }
  const exportsEl = singleChild(e, 'exports', C2, path);
  const requestsEl = singleChild(e, 'requests', C2, path);
  return {
    id: reqToken(e, 'id', path),
    ...(url === undefined ? {} : { url }),
    ...(protocol === undefined ? {} : { protocol }),
    ...(type === undefined ? {} : { type }),
    ...(audio === undefined ? {} : { audio }),
    ...(video === undefined ? {} : { video }),
    ...(create === undefined ? {} : { create }),
    ...(expire === undefined ? {} : { expire }),
    httpHeaders: list(e, 'http-header', C2, path, (h, p) => ({ name: reqToken(h, 'name', p), value: reqString(h, 'value', p) })),
    ...(ping === undefined ? {} : { ping }),
    exports: exportsEl === undefined ? [] : list(exportsEl, 'export', C2, `${path}/exports`, (x, p) => reqToken(x, 'name', p)),
    requests: requestsEl === undefined ? [] : list(requestsEl, 'request', C2, `${path}/requests`, (x, p) => reqToken(x, 'name', p)),
  };
}

function buildConnect(c: Colibri2Connect): Element {
  const e = el('connect', {
    id: c.id, url: c.url, protocol: c.protocol, type: c.type, audio: c.audio, video: c.video, create: c.create, expire: c.expire,
  });
  appendAll(e, c.httpHeaders.map((h) => el('http-header', { name: h.name, value: h.value })));
  if (c.ping !== undefined) e.cnode(el('ping', { interval: c.ping.interval, timeout: c.ping.timeout }));
  if (c.exports.length > 0) e.cnode(appendAll(el('exports', {}), c.exports.map((name) => el('export', { name }))));
  if (c.requests.length > 0) e.cnode(appendAll(el('requests', {}), c.requests.map((name) => el('request', { name }))));
  return e;
}

export function parseConferenceModify(input: Element): ConferenceModify {
  const path = 'conference-modify';
  const e = expectElement(input, 'conference-modify', C2, path);
  const name = optToken(e, 'name', path);
  if (name !== undefined) {
    // §3.2: must parse as a bare JID, else bad-request.
    try {
      if (parseJid(name).resource !== undefined) fail(`${path}@name`, 'must be a bare JID');
    } catch (err) {
      if (err instanceof JidError) fail(`${path}@name`, err.message);
      throw err;
    }
  }
  const create = optBool(e, 'create', path);
  const expire = optBool(e, 'expire', path);
  const rtcstatsEnabled = optBool(e, 'rtcstats-enabled', path);
  const callstatsEnabled = optBool(e, 'callstats-enabled', path);
  const connects = singleChild(e, 'connects', C2, path);
  return {
    meetingId: reqToken(e, 'meeting-id', path),
    ...(name === undefined ? {} : { name }),
    ...(create === undefined ? {} : { create }),
    ...(expire === undefined ? {} : { expire }),
    ...(rtcstatsEnabled === undefined ? {} : { rtcstatsEnabled }),
    ...(callstatsEnabled === undefined ? {} : { callstatsEnabled }),
    endpoints: list(e, 'endpoint', C2, path, parseEndpoint),
    relays: list(e, 'relay', C2, path, parseRelay),
    ...(connects === undefined ? {} : { connects: list(connects, 'connect', C2, `${path}/connects`, parseConnect) }),
  };
}

export function buildConferenceModify(m: ConferenceModify): Element {
  const e = el('conference-modify', {
    xmlns: C2, 'meeting-id': m.meetingId, name: m.name, create: m.create, expire: m.expire, 'rtcstats-enabled': m.rtcstatsEnabled,
    'callstats-enabled': m.callstatsEnabled,
  });
  appendAll(e, m.endpoints.map(buildEndpoint));
  appendAll(e, m.relays.map(buildRelay));
  if (m.connects !== undefined) e.cnode(appendAll(el('connects', {}), m.connects.map(buildConnect)));
  return e;
}

/**
 * The bridge's request-shape limits (§3.2 `validateRequest`): returns the reason a parsed request must be
 * refused with `feature-not-implemented`, or undefined when its shape is acceptable.
 */
export function conferenceModifyShapeError(m: ConferenceModify): string | undefined {
  if (m.endpoints.length > 0 && m.relays.length > 0) return 'a request may not contain both endpoints and relays';
  if (m.relays.length > 1) return 'at most one relay per request';
  const heavy = m.endpoints.filter((ep) => ep.create === true || ep.media.length > 0 || ep.transport !== undefined || ep.sources !== undefined);
  if (heavy.length > 1) return 'at most one endpoint may carry create, media, transport or sources';
  return undefined;
}

function parseEndpointResult(e: Element, path: string): Colibri2EndpointResult {
  const expire = optBool(e, 'expire', path);
  const transport = singleChild(e, 'transport', C2, path);
  const media = list(e, 'media', C2, path, parseMedia);
  return {
    id: reqToken(e, 'id', path),
    ...(expire === undefined ? {} : { expire }),
    ...(transport === undefined ? {} : { transport: parseTransport(transport, `${path}/transport`) }),
    ...(media.length === 0 ? {} : { media }),
  };
}

function buildEndpointResult(name: 'endpoint' | 'relay', r: Colibri2EndpointResult): Element {
  const e = el(name, { id: r.id, expire: r.expire });
  if (r.media !== undefined) appendAll(e, r.media.map(buildMedia));
  if (r.transport !== undefined) e.cnode(buildTransport(r.transport));
  return e;
}

export function parseConferenceModified(input: Element): ConferenceModified {
  const path = 'conference-modified';
  const e = expectElement(input, 'conference-modified', C2, path);
  const sources = parseSourcesElement(e, path);
  return {
    endpoints: list(e, 'endpoint', C2, path, parseEndpointResult),
    relays: list(e, 'relay', C2, path, parseEndpointResult),
    ...(sources === undefined ? {} : { sources }),
  };
}

export function buildConferenceModified(m: ConferenceModified): Element {
  const e = el('conference-modified', { xmlns: C2 });
  appendAll(e, m.endpoints.map((r) => buildEndpointResult('endpoint', r)));
  appendAll(e, m.relays.map((r) => buildEndpointResult('relay', r)));
  if (m.sources !== undefined) e.cnode(buildSourcesElement(m.sources));
  return e;
}

// --- errors (§3.5)

export const COLIBRI2_ERROR_REASONS = [
  'conference_not_found', 'conference_already_exists', 'feature_not_implemented', 'graceful_shutdown', 'unknown_endpoint',
  'unspecified',
] as const;
export type Colibri2ErrorReason = (typeof COLIBRI2_ERROR_REASONS)[number];

export interface Colibri2Error {
  readonly type: StanzaErrorType;
  readonly condition: StanzaErrorCondition;
  readonly text?: string;
  /** `<error xmlns="jitsi:colibri2" reason>`; absent for plain bad-request/conflict answers. */
  readonly reason?: Colibri2ErrorReason;
  /** `<endpoint xmlns="jitsi:colibri2" id>`, with `unknown_endpoint`: which endpoint to re-invite (§3.6). */
  readonly endpointId?: string;
}

const ERROR_TYPES = ['auth', 'cancel', 'continue', 'modify', 'wait'] as const;

/** Parses the `<error>` child of a COLIBRI2 IQ error response. */
export function parseColibri2Error(input: Element): Colibri2Error {
  const path = 'error';
  if (!isXmlElement(input) || localName(input) !== 'error') fail(path, 'not an <error> element');
  const type = reqEnum(input, 'type', path, ERROR_TYPES);
  let condition: StanzaErrorCondition | undefined;
  let errText: string | undefined;
  let reason: Colibri2ErrorReason | undefined;
  let endpointId: string | undefined;
  for (const c of childElements(input)) {
    const ns = nsOf(c);
    const name = localName(c);
    if (ns === NS.STANZAS && name === 'text') errText = text(c, `${path}/text`);
    else if (ns === NS.STANZAS && (STANZA_ERROR_CONDITIONS as readonly string[]).includes(name)) {
      if (condition !== undefined) fail(path, 'more than one condition');
      condition = name as StanzaErrorCondition;
    } else if (ns === C2 && name === 'error') {
      // As Jitsi reads it: case-insensitive, and a missing reason means `unspecified`.
      const raw = optString(c, 'reason', `${path}/error`)?.toLowerCase() ?? 'unspecified';
      if (!(COLIBRI2_ERROR_REASONS as readonly string[]).includes(raw)) fail(`${path}/error@reason`, 'not a colibri2 error reason');
      reason = raw as Colibri2ErrorReason;
    }
    else if (ns === C2 && name === 'endpoint') endpointId = reqToken(c, 'id', `${path}/endpoint`);
  }
  if (condition === undefined) fail(path, 'no defined condition');
  return {
    type, condition,
    ...(errText === undefined ? {} : { text: errText }),
    ...(reason === undefined ? {} : { reason }),
    ...(endpointId === undefined ? {} : { endpointId }),
  };
}

export function buildColibri2Error(e: Colibri2Error): Element {
  const out = el('error', { type: e.type }, el(e.condition, { xmlns: NS.STANZAS }));
  if (e.text !== undefined) out.cnode(withText(el('text', { xmlns: NS.STANZAS }), e.text));
  if (e.reason !== undefined) out.cnode(el('error', { xmlns: C2, reason: e.reason }));
  if (e.endpointId !== undefined) out.cnode(el('endpoint', { xmlns: C2, id: e.endpointId }));
  return out;
}

/**
 * The §3.5 table as StanzaErrors the IQ router can answer with. The app-specific child is the
 * `<error xmlns="jitsi:colibri2" reason>` element (for `unknown_endpoint`, `buildColibri2Error` also
 * carries the endpoint id; StanzaError has room for one app-specific child only).
 */
export function colibri2StanzaError(reason: Colibri2ErrorReason, text?: string): StanzaError {
  const app = el('error', { xmlns: C2, reason });
  switch (reason) {
    case 'conference_already_exists': return new StanzaError('conflict', 'cancel', text, app);
    case 'graceful_shutdown': return new StanzaError('service-unavailable', 'cancel', text, app);
    case 'conference_not_found': return new StanzaError('item-not-found', 'cancel', text, app);
    case 'unknown_endpoint': return new StanzaError('item-not-found', 'cancel', text, app);
    case 'feature_not_implemented': return new StanzaError('feature-not-implemented', 'cancel', text, app);
    case 'unspecified': return new StanzaError('internal-server-error', 'wait', text, app);
  }
}

/** Reads the colibri2 reason from a StanzaError's app-specific child, if it has one. */
export function colibri2ReasonOf(err: StanzaError): Colibri2ErrorReason | undefined {
  const app = err.appSpecific;
  if (app === undefined || localName(app) !== 'error' || nsOf(app) !== C2) return undefined;
  const r = optString(app, 'reason', 'error');
  return (COLIBRI2_ERROR_REASONS as readonly (string | undefined)[]).includes(r) ? (r as Colibri2ErrorReason) : undefined;
}
