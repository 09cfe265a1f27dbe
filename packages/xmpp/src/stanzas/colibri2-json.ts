// The JSON form of COLIBRI2 (`spec/jicofo-jvb.md` §3.1): Jitsi defines one (jitsi-xmpp-extensions'
// Colibri2JSONSerializer/Deserializer) and JVB serves it at `/colibri/v2/conferences` when its COLIBRI REST API
// is on. Same typed values as the XML form (colibri2.ts), so a non-XMPP control plane can reuse them.
//
// Layout, as Jitsi writes it: element names pluralised for lists (`endpoints`, `relays`, `medias`,
// `payload-types`, `rtp-hdrexts`, `rtcp-fbs`, `ssrc-groups`, `capabilities`, `candidates`, `fingerprints`,
// `web-sockets`); payload-type and candidate attributes as strings; rtp-hdrext ids and SSRCs as numbers; fmtp
// parameters as an object (`"null"` key for a nameless one); a source with nothing but its SSRC as a bare
// number; flags only when they differ from their default (`create`/`expire` true, `rtcstats-enabled` false,
// `ice-controlling`/`use-unique-port` true). Attributes Jitsi's serializer leaves out are written here under
// their XML names (`diarize`, `ice-restart`, `synthetic`, connect `id`/`create`/`expire`/`exports`/`requests`),
// so nothing a Hummingbird value holds is lost; Jitsi's deserializer ignores keys it does not know.
import { NS } from '../namespaces.js';
import type {
  Colibri2Connect, Colibri2Endpoint, Colibri2EndpointResult, Colibri2Media, Colibri2MediaSource, Colibri2Relay,
  Colibri2RelayEndpoint, Colibri2Transport, ConferenceModified, ConferenceModify,
} from './colibri2.js';
import { CANDIDATE_TYPES, DTLS_SETUP, type DtlsFingerprint, type IceCandidate, type IceUdpTransport } from './ice.js';
import { MAX_SSRC, MAX_VALUE_LENGTH, fail, parseBool, parseUint } from './read.js';
import type { FmtpParameter, HeaderExtension, PayloadType, RtcpFb, RtpSource, SsrcGroup } from './rtp.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const MAX_ITEMS = 4096;

// --- reading helpers (every failure is a MalformedStanzaError with a JSON path)

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'not a JSON object');
  return v as Record<string, unknown>;
}

function get(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function arr(o: Record<string, unknown>, key: string, path: string): unknown[] | undefined {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(`${path}.${key}`, 'not an array');
  const items = v as unknown[];
  if (items.length > MAX_ITEMS) fail(`${path}.${key}`, `more than ${MAX_ITEMS} entries`);
  return items;
}

function list<T>(o: Record<string, unknown>, key: string, path: string, f: (v: unknown, p: string) => T): T[] {
  return (arr(o, key, path) ?? []).map((v, i) => f(v, `${path}.${key}[${i}]`));
}

function str(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(`${path}.${key}`, 'not a string');
  if (v.length > MAX_VALUE_LENGTH) fail(`${path}.${key}`, 'too long');
  return v;
}

function reqStr(o: Record<string, unknown>, key: string, path: string): string {
  const v = str(o, key, path);
  if (v === undefined || v.length === 0) fail(`${path}.${key}`, 'required');
  return v;
}

function bool(o: Record<string, unknown>, key: string, path: string): boolean | undefined {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return parseBool(v, `${path}.${key}`);
  return fail(`${path}.${key}`, 'not a boolean');
}

/** Jitsi writes attribute numbers as strings and some as numbers; both are accepted. */
function uint(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number | undefined {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < min || v > max) fail(`${path}.${key}`, `not an integer in ${min}..${max}`);
    return v;
  }
  if (typeof v === 'string') return parseUint(v, min, max, `${path}.${key}`);
  return fail(`${path}.${key}`, 'not a number');
}

function reqUint(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number {
  const v = uint(o, key, path, min, max);
  if (v === undefined) fail(`${path}.${key}`, 'required');
  return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, path: string, allowed: readonly T[]): T | undefined {
  const v = str(o, key, path);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) fail(`${path}.${key}`, `not one of ${allowed.join(', ')}`);
  return v as T;
}

const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [key]: v } as { [P in K]: V }));

// --- RTP pieces

function parametersToJson(ps: readonly { readonly name?: string; readonly value?: string }[]): JsonObject {
  return Object.fromEntries(ps.map((p) => [p.name ?? 'null', p.value ?? null]));
}

function parametersFromJson(v: unknown, path: string): { name?: string; value?: string }[] {
  const o = obj(v, path);
  return Object.keys(o).map((name) => {
    const value = o[name];
    if (value !== null && typeof value !== 'string') fail(`${path}.${name}`, 'not a string');
    return { ...(name === 'null' ? {} : { name }), ...(value === null ? {} : { value }) };
  });
}

function payloadTypeToJson(p: PayloadType): JsonObject {
  return {
    id: String(p.id),
    ...opt('name', p.name),
    ...opt('clockrate', p.clockrate === undefined ? undefined : String(p.clockrate)),
    ...opt('channels', p.channels === undefined ? undefined : String(p.channels)),
    ...opt('ptime', p.ptime === undefined ? undefined : String(p.ptime)),
    ...opt('maxptime', p.maxptime === undefined ? undefined : String(p.maxptime)),
    ...(p.parameters.length > 0 ? { parameters: parametersToJson(p.parameters) } : {}),
    ...(p.rtcpFbs.length > 0 ? { 'rtcp-fbs': p.rtcpFbs.map((f) => ({ type: f.type, ...opt('subtype', f.subtype) })) } : {}),
  };
}

function payloadTypeFromJson(v: unknown, path: string): PayloadType {
  const o = obj(v, path);
  const params = get(o, 'parameters');
  const parameters: FmtpParameter[] = params === undefined ? [] : parametersFromJson(params, `${path}.parameters`).map((p) => {
    if (p.value === undefined) fail(`${path}.parameters`, 'a parameter without value');
    return p.name === undefined ? { value: p.value } : { name: p.name, value: p.value };
  });
  const rtcpFbs: RtcpFb[] = list(o, 'rtcp-fbs', path, (f, p) => {
    const fo = obj(f, p);
    return { type: reqStr(fo, 'type', p), ...opt('subtype', str(fo, 'subtype', p)) };
  });
  return {
    id: reqUint(o, 'id', path, 0, 127),
    ...opt('name', str(o, 'name', path)),
    ...opt('clockrate', uint(o, 'clockrate', path, 1, 0xffffffff)),
    ...opt('channels', uint(o, 'channels', path, 1, 255)),
    ...opt('ptime', uint(o, 'ptime', path, 0, 0xffff)),
    ...opt('maxptime', uint(o, 'maxptime', path, 0, 0xffff)),
    parameters,
    rtcpFbs,
  };
}

function hdrextToJson(h: HeaderExtension): JsonObject {
  return { id: h.id, uri: h.uri, ...opt('senders', h.senders) };
}

function hdrextFromJson(v: unknown, path: string): HeaderExtension {
  const o = obj(v, path);
  return { id: reqUint(o, 'id', path, 1, 255), uri: reqStr(o, 'uri', path), ...opt('senders', str(o, 'senders', path)) };
}

function mediaToJson(m: Colibri2Media): JsonObject {
  return {
    type: m.type,
    ...(m.payloadTypes.length > 0 ? { 'payload-types': m.payloadTypes.map(payloadTypeToJson) } : {}),
    ...(m.headerExtensions.length > 0 ? { 'rtp-hdrexts': m.headerExtensions.map(hdrextToJson) } : {}),
    ...(m.extmapAllowMixed ? { 'extmap-allow-mixed': true } : {}),
  };
}

function mediaFromJson(v: unknown, path: string): Colibri2Media {
  const o = obj(v, path);
  const type = oneOf(o, 'type', path, ['audio', 'video'] as const);
  if (type === undefined) fail(`${path}.type`, 'required');
  return {
    type,
    payloadTypes: list(o, 'payload-types', path, payloadTypeFromJson),
    headerExtensions: list(o, 'rtp-hdrexts', path, hdrextFromJson),
    extmapAllowMixed: bool(o, 'extmap-allow-mixed', path) ?? false,
  };
}

function sourceToJson(s: RtpSource): Json {
  if (s.name === undefined && s.videoType === undefined && s.parameters.length === 0) return s.ssrc;
  return {
    ssrc: s.ssrc,
    ...opt('name', s.name),
    ...opt('videoType', s.videoType),
    ...(s.parameters.length > 0 ? { parameters: parametersToJson(s.parameters) } : {}),
  };
}

function ssrcFromJson(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SSRC) return v;
  if (typeof v === 'string') return parseUint(v, 0, MAX_SSRC, path);
  return fail(path, 'not an SSRC');
}

function sourceFromJson(v: unknown, path: string): RtpSource {
  if (typeof v === 'number' || typeof v === 'string') return { ssrc: ssrcFromJson(v, path), parameters: [] };
  const o = obj(v, path);
  const params = get(o, 'parameters');
  return {
    ssrc: ssrcFromJson(get(o, 'ssrc'), `${path}.ssrc`),
    ...opt('name', str(o, 'name', path)),
    ...opt('videoType', str(o, 'videoType', path)),
    parameters: params === undefined ? [] : parametersFromJson(params, `${path}.parameters`).map((p) => {
      if (p.name === undefined) fail(`${path}.parameters`, 'a source parameter needs a name');
      return p.value === undefined ? { name: p.name } : { name: p.name, value: p.value };
    }),
  };
}

function groupToJson(g: SsrcGroup): JsonObject {
  return { semantics: g.semantics, sources: [...g.ssrcs] };
}

function groupFromJson(v: unknown, path: string): SsrcGroup {
  const o = obj(v, path);
  const ssrcs = list(o, 'sources', path, ssrcFromJson);
  if (ssrcs.length === 0) fail(`${path}.sources`, 'a group needs at least one ssrc');
  return { semantics: reqStr(o, 'semantics', path), ssrcs };
}

function mediaSourceToJson(m: Colibri2MediaSource): JsonObject {
  return {
    type: m.type,
    id: m.id,
    ...opt('synthetic', m.synthetic),
    ...(m.sources.length > 0 ? { sources: m.sources.map(sourceToJson) } : {}),
    ...(m.ssrcGroups.length > 0 ? { 'ssrc-groups': m.ssrcGroups.map(groupToJson) } : {}),
  };
}

function mediaSourceFromJson(v: unknown, path: string): Colibri2MediaSource {
  const o = obj(v, path);
  const type = oneOf(o, 'type', path, ['audio', 'video'] as const);
  if (type === undefined) fail(`${path}.type`, 'required');
  return {
    type,
    id: reqStr(o, 'id', path),
    ...opt('synthetic', bool(o, 'synthetic', path)),
    sources: list(o, 'sources', path, sourceFromJson),
    ssrcGroups: list(o, 'ssrc-groups', path, groupFromJson),
  };
}

// --- transports

function fingerprintToJson(f: DtlsFingerprint): JsonObject {
  return { fingerprint: f.value, hash: f.hash, ...opt('setup', f.setup), ...opt('cryptex', f.cryptex) };
}

function fingerprintFromJson(v: unknown, path: string): DtlsFingerprint {
  const o = obj(v, path);
  const value = reqStr(o, 'fingerprint', path);
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/.test(value)) fail(`${path}.fingerprint`, 'not colon-separated hex');
  return { hash: reqStr(o, 'hash', path), ...opt('setup', oneOf(o, 'setup', path, DTLS_SETUP)), value, ...opt('cryptex', bool(o, 'cryptex', path)) };
}

function candidateToJson(c: IceCandidate): JsonObject {
  const s = (n: number | undefined): string | undefined => (n === undefined ? undefined : String(n));
  return {
    component: String(c.component), foundation: c.foundation, ...opt('generation', s(c.generation)), ...opt('id', c.id), ip: c.ip,
    ...opt('network', s(c.network)), port: String(c.port), priority: String(c.priority), protocol: c.protocol, type: c.type,
    ...opt('rel-addr', c.relAddr), ...opt('rel-port', s(c.relPort)), ...opt('tcptype', c.tcptype),
  };
}

function candidateFromJson(v: unknown, path: string): IceCandidate {
  const o = obj(v, path);
  const type = oneOf(o, 'type', path, CANDIDATE_TYPES);
  if (type === undefined) fail(`${path}.type`, 'required');
  const ip = reqStr(o, 'ip', path);
  if (!/^[0-9A-Za-z.:%_-]{1,255}$/.test(ip)) fail(`${path}.ip`, 'not an IP address or host name');
  return {
    component: reqUint(o, 'component', path, 1, 256),
    foundation: reqStr(o, 'foundation', path),
    ...opt('generation', uint(o, 'generation', path, 0, 0xffffffff)),
    ...opt('id', str(o, 'id', path)),
    ip,
    ...opt('network', uint(o, 'network', path, 0, 0xffffffff)),
    port: reqUint(o, 'port', path, 0, 65535),
    priority: reqUint(o, 'priority', path, 0, 0xffffffff),
    protocol: reqStr(o, 'protocol', path),
    type,
    ...opt('relAddr', str(o, 'rel-addr', path)),
    ...opt('relPort', uint(o, 'rel-port', path, 0, 65535)),
    ...opt('tcptype', str(o, 'tcptype', path)),
  };
}

function iceUdpToJson(t: IceUdpTransport): JsonObject {
  return {
    xmlns: NS.JINGLE_ICE_UDP,
    ...opt('ufrag', t.ufrag),
    ...opt('pwd', t.pwd),
    ...opt('ice-generation', t.iceGeneration === undefined ? undefined : String(t.iceGeneration)),
    ...(t.fingerprints.length > 0 ? { fingerprints: t.fingerprints.map(fingerprintToJson) } : {}),
    ...(t.candidates.length > 0 ? { candidates: t.candidates.map(candidateToJson) } : {}),
    ...(t.webSockets.length > 0 ? { 'web-sockets': [...t.webSockets] } : {}),
    ...(t.rtcpMux ? { 'rtcp-mux': true } : {}),
  };
}

function iceUdpFromJson(v: unknown, path: string): IceUdpTransport {
  const o = obj(v, path);
  const xmlns = str(o, 'xmlns', path);
  if (xmlns !== undefined && xmlns !== NS.JINGLE_ICE_UDP) fail(`${path}.xmlns`, `not ${NS.JINGLE_ICE_UDP}`);
  return {
    ...opt('ufrag', str(o, 'ufrag', path)),
    ...opt('pwd', str(o, 'pwd', path)),
    ...opt('iceGeneration', uint(o, 'ice-generation', path, 0, 0xffffffff)),
    fingerprints: list(o, 'fingerprints', path, fingerprintFromJson),
    candidates: list(o, 'candidates', path, candidateFromJson),
    webSockets: list(o, 'web-sockets', path, (w, p) => {
      if (typeof w !== 'string' || !/^wss?:\/\/\S+$/.test(w) || w.length > MAX_VALUE_LENGTH) fail(p, 'not a ws:// or wss:// URL');
      return w;
    }),
    rtcpMux: bool(o, 'rtcp-mux', path) ?? false,
  };
}

function transportToJson(t: Colibri2Transport): JsonObject {
  return {
    ...opt('ice-controlling', t.iceControlling),
    ...opt('use-unique-port', t.useUniquePort),
    ...opt('ice-restart', t.iceRestart),
    ...(t.iceUdp === undefined ? {} : { transport: iceUdpToJson(t.iceUdp) }),
    ...(t.sctp === undefined ? {} : { sctp: { ...opt('port', t.sctp.port), ...opt('role', t.sctp.role) } }),
  };
}

function transportFromJson(v: unknown, path: string): Colibri2Transport {
  const o = obj(v, path);
  const ice = get(o, 'transport');
  const sctpV = get(o, 'sctp');
  let sctp: Colibri2Transport['sctp'];
  if (sctpV !== undefined) {
    const so = obj(sctpV, `${path}.sctp`);
    sctp = { ...opt('role', oneOf(so, 'role', `${path}.sctp`, ['server', 'client'] as const)), ...opt('port', uint(so, 'port', `${path}.sctp`, 0, 65535)) };
  }
  return {
    ...opt('iceControlling', bool(o, 'ice-controlling', path)),
    ...opt('useUniquePort', bool(o, 'use-unique-port', path)),
    ...opt('iceRestart', bool(o, 'ice-restart', path)),
    ...(ice === undefined ? {} : { iceUdp: iceUdpFromJson(ice, `${path}.transport`) }),
    ...(sctp === undefined ? {} : { sctp }),
  };
}

// --- endpoints, relays, connects

function endpointToJson(e: Colibri2Endpoint): JsonObject {
  return {
    id: e.id,
    ...opt('create', e.create),
    ...opt('expire', e.expire),
    ...(e.media.length > 0 ? { medias: e.media.map(mediaToJson) } : {}),
    ...(e.transport === undefined ? {} : { transport: transportToJson(e.transport) }),
    ...(e.sources === undefined ? {} : { sources: e.sources.map(mediaSourceToJson) }),
    ...opt('stats-id', e.statsId),
    ...opt('muc-role', e.mucRole),
    ...opt('diarize', e.diarize),
    ...(e.forceMute === undefined ? {} : { 'force-mute': { ...opt('audio', e.forceMute.audio), ...opt('video', e.forceMute.video) } }),
    ...(e.initialLastN === undefined ? {} : { 'initial-last-n': { value: e.initialLastN } }),
    ...(e.capabilities.length > 0 ? { capabilities: [...e.capabilities] } : {}),
  };
}

function endpointFromJson(v: unknown, path: string): Colibri2Endpoint {
  const o = obj(v, path);
  const transport = get(o, 'transport');
  const sources = arr(o, 'sources', path);
  const fm = get(o, 'force-mute');
  const lastN = get(o, 'initial-last-n');
  return {
    id: reqStr(o, 'id', path),
    ...opt('create', bool(o, 'create', path)),
    ...opt('expire', bool(o, 'expire', path)),
    ...opt('statsId', str(o, 'stats-id', path)),
    ...opt('mucRole', str(o, 'muc-role', path)),
    ...opt('diarize', bool(o, 'diarize', path)),
    media: list(o, 'medias', path, mediaFromJson),
    ...(transport === undefined ? {} : { transport: transportFromJson(transport, `${path}.transport`) }),
    ...(sources === undefined ? {} : { sources: sources.map((s, i) => mediaSourceFromJson(s, `${path}.sources[${i}]`)) }),
    ...(fm === undefined ? {} : {
      forceMute: ((f) => ({ ...opt('audio', bool(f, 'audio', `${path}.force-mute`)), ...opt('video', bool(f, 'video', `${path}.force-mute`)) }))(obj(fm, `${path}.force-mute`)),
    }),
    capabilities: list(o, 'capabilities', path, (c, p) => {
      if (typeof c !== 'string' || c.length === 0) fail(p, 'not a capability name');
      return c;
    }),
    ...(lastN === undefined ? {} : { initialLastN: reqUint(obj(lastN, `${path}.initial-last-n`), 'value', `${path}.initial-last-n`, 0, 0xffffffff) }),
  };
}

function relayEndpointToJson(e: Colibri2RelayEndpoint): JsonObject {
  return {
    id: e.id, ...opt('create', e.create), ...opt('expire', e.expire), ...opt('stats-id', e.statsId),
    ...(e.sources === undefined ? {} : { sources: e.sources.map(mediaSourceToJson) }),
  };
}

function relayEndpointFromJson(v: unknown, path: string): Colibri2RelayEndpoint {
  const o = obj(v, path);
  const sources = arr(o, 'sources', path);
  return {
    id: reqStr(o, 'id', path), ...opt('create', bool(o, 'create', path)), ...opt('expire', bool(o, 'expire', path)),
    ...opt('statsId', str(o, 'stats-id', path)),
    ...(sources === undefined ? {} : { sources: sources.map((s, i) => mediaSourceFromJson(s, `${path}.sources[${i}]`)) }),
  };
}

function relayToJson(r: Colibri2Relay): JsonObject {
  return {
    id: r.id, ...opt('create', r.create), ...opt('expire', r.expire),
    ...(r.media.length > 0 ? { medias: r.media.map(mediaToJson) } : {}),
    ...(r.transport === undefined ? {} : { transport: transportToJson(r.transport) }),
    ...opt('mesh-id', r.meshId),
    ...(r.endpoints === undefined ? {} : { endpoints: r.endpoints.map(relayEndpointToJson) }),
  };
}

function relayFromJson(v: unknown, path: string): Colibri2Relay {
  const o = obj(v, path);
  const transport = get(o, 'transport');
  const eps = arr(o, 'endpoints', path);
  return {
    id: reqStr(o, 'id', path), ...opt('create', bool(o, 'create', path)), ...opt('expire', bool(o, 'expire', path)),
    ...opt('meshId', str(o, 'mesh-id', path)),
    media: list(o, 'medias', path, mediaFromJson),
    ...(transport === undefined ? {} : { transport: transportFromJson(transport, `${path}.transport`) }),
    ...(eps === undefined ? {} : { endpoints: eps.map((e, i) => relayEndpointFromJson(e, `${path}.endpoints[${i}]`)) }),
  };
}

function connectToJson(c: Colibri2Connect): JsonObject {
  return {
    id: c.id, ...opt('url', c.url), ...opt('protocol', c.protocol), ...opt('type', c.type), ...opt('audio', c.audio), ...opt('video', c.video),
    ...opt('create', c.create), ...opt('expire', c.expire),
    ...(c.httpHeaders.length > 0 ? { headers: Object.fromEntries(c.httpHeaders.map((h) => [h.name, h.value])) } : {}),
    ...(c.ping === undefined ? {} : { ping: { ...opt('interval', c.ping.interval), ...opt('timeout', c.ping.timeout) } }),
    ...(c.exports.length > 0 ? { exports: [...c.exports] } : {}),
    ...(c.requests.length > 0 ? { requests: [...c.requests] } : {}),
  };
}

function connectFromJson(v: unknown, path: string): Colibri2Connect {
  const o = obj(v, path);
  const url = str(o, 'url', path);
  if (url !== undefined && !/^wss?:\/\/\S+$/.test(url)) fail(`${path}.url`, 'not a ws:// or wss:// URL');
  const headersV = get(o, 'headers');
  const headers = headersV === undefined ? {} : obj(headersV, `${path}.headers`);
  const pingV = get(o, 'ping');
  const names = (key: string): string[] => list(o, key, path, (x, p) => {
    if (typeof x !== 'string' || x.length === 0) fail(p, 'not a name');
    return x;
  });
  return {
    id: reqStr(o, 'id', path),
    ...opt('url', url), ...opt('protocol', str(o, 'protocol', path)), ...opt('type', str(o, 'type', path)),
    ...opt('audio', bool(o, 'audio', path)), ...opt('video', bool(o, 'video', path)),
    ...opt('create', bool(o, 'create', path)), ...opt('expire', bool(o, 'expire', path)),
    httpHeaders: Object.keys(headers).map((name) => ({ name, value: reqStr(headers, name, `${path}.headers`) })),
    ...(pingV === undefined ? {} : {
      ping: ((p) => ({ ...opt('interval', uint(p, 'interval', `${path}.ping`, 0, 0xffffffff)), ...opt('timeout', uint(p, 'timeout', `${path}.ping`, 0, 0xffffffff)) }))(obj(pingV, `${path}.ping`)),
    }),
    exports: names('exports'),
    requests: names('requests'),
  };
}

// --- top level

export function conferenceModifyToJson(m: ConferenceModify): JsonObject {
  return {
    'meeting-id': m.meetingId,
    ...opt('name', m.name),
    ...opt('create', m.create),
    ...opt('expire', m.expire),
    ...opt('rtcstats-enabled', m.rtcstatsEnabled),
    ...opt('callstats-enabled', m.callstatsEnabled),
    ...(m.endpoints.length > 0 ? { endpoints: m.endpoints.map(endpointToJson) } : {}),
    ...(m.relays.length > 0 ? { relays: m.relays.map(relayToJson) } : {}),
    ...(m.connects === undefined ? {} : { connects: m.connects.map(connectToJson) }),
  };
}

/** Parses the JSON form (a value from `JSON.parse`). Throws MalformedStanzaError with a JSON path. */
export function conferenceModifyFromJson(v: unknown): ConferenceModify {
  const path = 'conference-modify';
  const o = obj(v, path);
  const connects = arr(o, 'connects', path);
  return {
    meetingId: reqStr(o, 'meeting-id', path),
    ...opt('name', str(o, 'name', path)),
    ...opt('create', bool(o, 'create', path)),
    ...opt('expire', bool(o, 'expire', path)),
    ...opt('rtcstatsEnabled', bool(o, 'rtcstats-enabled', path)),
    ...opt('callstatsEnabled', bool(o, 'callstats-enabled', path)),
    endpoints: list(o, 'endpoints', path, endpointFromJson),
    relays: list(o, 'relays', path, relayFromJson),
    ...(connects === undefined ? {} : { connects: connects.map((c, i) => connectFromJson(c, `${path}.connects[${i}]`)) }),
  };
}

function resultToJson(r: Colibri2EndpointResult): JsonObject {
  return { id: r.id, ...opt('expire', r.expire), ...(r.transport === undefined ? {} : { transport: transportToJson(r.transport) }) };
}

function resultFromJson(v: unknown, path: string): Colibri2EndpointResult {
  const o = obj(v, path);
  const transport = get(o, 'transport');
  return {
    id: reqStr(o, 'id', path), ...opt('expire', bool(o, 'expire', path)),
    ...(transport === undefined ? {} : { transport: transportFromJson(transport, `${path}.transport`) }),
  };
}

export function conferenceModifiedToJson(m: ConferenceModified): JsonObject {
  return {
    ...(m.endpoints.length > 0 ? { endpoints: m.endpoints.map(resultToJson) } : {}),
    ...(m.relays.length > 0 ? { relays: m.relays.map(resultToJson) } : {}),
    ...(m.sources === undefined ? {} : { sources: m.sources.map(mediaSourceToJson) }),
  };
}

export function conferenceModifiedFromJson(v: unknown): ConferenceModified {
  const path = 'conference-modified';
  const o = obj(v, path);
  const sources = arr(o, 'sources', path);
  return {
    endpoints: list(o, 'endpoints', path, resultFromJson),
    relays: list(o, 'relays', path, resultFromJson),
    ...(sources === undefined ? {} : { sources: sources.map((s, i) => mediaSourceFromJson(s, `${path}.sources[${i}]`)) }),
  };
}
