// Jingle ⇄ SDP for the JVB session, the way current lib-jitsi-meet maps it in unified plan
// (spec/jitsi-client-protocol.md §4.2–§4.6):
//  - `parseOffer` reads a session-initiate into a RemoteSession: codecs, header extensions, the shared ICE/DTLS
//    transport, the colibri-ws URL and the remote sources (XML `source` elements or the JSON `json-message`).
//  - `offerSdp` renders the remote description: one m-line per distinct remote source (its RTX partner and FID
//    group in the same m-line); the first m-line of each media type (the bridge's feedback source, `mixedmslabel`
//    first) stays sendrecv and carries the local track; later ones are sendonly (bridge → client). Removed sources
//    leave a rejected m-line (port 0) behind, exactly as ljm does, so mids are never reused.
//  - `parseLocalSdp` / `mungeSimulcast` / `localJingleContents` go the other way, for session-accept and
//    source-add: SSRC-based SIM (3 layers, low → high) with one FID RTX per layer, source names `<ep>-a0`,
//    `<ep>-v0`, `<ep>-v1` (desktop).

import { NS } from './ns.js';
import type { El} from './xml.js';
import { el } from './xml.js';

export class JingleError extends Error {
  override name = 'JingleError';
}

export type MediaKind = 'audio' | 'video';

export interface Codec {
  id: number;
  name: string;
  clockrate: number;
  channels?: number;
  params: { name?: string; value: string }[];
  fb: { type: string; subtype?: string }[];
}

export interface HdrExt {
  id: number;
  uri: string;
}

export interface MediaDescription {
  kind: MediaKind;
  codecs: Codec[];
  hdrexts: HdrExt[];
  extmapAllowMixed: boolean;
}

export interface Candidate {
  foundation: string;
  component: number;
  protocol: string;
  priority: number;
  ip: string;
  port: number;
  type: string;
  generation: number;
  relAddr?: string;
  relPort?: number;
  tcptype?: string;
}

export interface Transport {
  ufrag: string;
  pwd: string;
  fingerprint: { hash: string; setup: string; value: string };
  candidates: Candidate[];
  webSocket?: string;
}

/** One remote source: a primary SSRC (and its RTX for video), owned by an endpoint. */
export interface RemoteSource {
  kind: MediaKind;
  ssrc: number;
  rtx?: number;
  owner: string;
  name?: string;
  msid?: string;
  videoType?: 'camera' | 'desktop';
}

/** One m-line of the remote description. */
export interface MLine {
  mid: string;
  kind: MediaKind;
  /** Feedback (bridge) m-line: sendrecv and carries the local track; else a receive-only line for one source. */
  role: 'feedback' | 'remote' | 'local-extra';
  source?: RemoteSource;
  rejected: boolean;
}

export interface RemoteSession {
  sid: string;
  transport: Transport;
  media: Record<MediaKind, MediaDescription>;
  mlines: MLine[];
  bridgeSessionId?: string;
  /** The offer has a BUNDLE group (ljm rebuilds BUNDLE only then). */
  bundle: boolean;
  version: number;
}

const SSRC_MAX = 0xffffffff;

function int(value: string | undefined, what: string, max = 0x7fffffff): number {
  if (value === undefined || !/^\d{1,10}$/.test(value)) throw new JingleError(`${what}: not a decimal number: ${String(value)}`);
  const n = Number(value);
  if (n > max) throw new JingleError(`${what}: ${n} is out of range`);
  return n;
}

function token(value: string | undefined, what: string): string {
  if (value === undefined || value === '' || /[\s\r\n]/.test(value)) throw new JingleError(`${what}: missing or not a token`);
  return value;
}

/** §4.4: ljm drops any SSRC that is not a plain decimal in 0..2^32-1. */
function ssrcOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= SSRC_MAX ? n : undefined;
}

function parseDescription(desc: El, kind: MediaKind): MediaDescription {
  const codecs: Codec[] = desc.all('payload-type').map((pt) => {
    const params = pt.all('parameter').map((p) => ({ ...(p.attrs['name'] ? { name: token(p.attrs['name'], 'parameter name') } : {}), value: token(p.attrs['value'], 'parameter value') }));
    const fb = pt.all('rtcp-fb', NS.rtcpFb).map((f) => ({ type: token(f.attrs['type'], 'rtcp-fb type'), ...(f.attrs['subtype'] ? { subtype: token(f.attrs['subtype'], 'rtcp-fb subtype') } : {}) }));
    const channels = pt.attrs['channels'];
    return {
      id: int(pt.attrs['id'], 'payload-type id', 127),
      name: token(pt.attrs['name'], 'payload-type name'),
      clockrate: int(pt.attrs['clockrate'], 'payload-type clockrate'),
      ...(channels !== undefined && channels !== '1' ? { channels: int(channels, 'channels', 8) } : {}),
      params,
      fb,
    };
  });
  const hdrexts = desc.all('rtp-hdrext', NS.hdrext).map((h) => ({ id: int(h.attrs['id'], 'rtp-hdrext id', 255), uri: token(h.attrs['uri'], 'rtp-hdrext uri') }));
  return { kind, codecs, hdrexts, extmapAllowMixed: desc.first('extmap-allow-mixed', NS.hdrext) !== undefined };
}

function parseTransport(t: El): Transport {
  const fp = t.first('fingerprint', NS.dtls);
  if (!fp) throw new JingleError('transport without a DTLS fingerprint');
  const candidates = t.all('candidate').map((c): Candidate => {
    const relPort = c.attrs['rel-port'];
    return {
      foundation: token(c.attrs['foundation'], 'candidate foundation'),
      component: int(c.attrs['component'], 'candidate component', 2),
      protocol: token(c.attrs['protocol'], 'candidate protocol').toLowerCase(),
      priority: int(c.attrs['priority'], 'candidate priority', SSRC_MAX),
      ip: token(c.attrs['ip'], 'candidate ip'),
      port: int(c.attrs['port'], 'candidate port', 65535),
      type: token(c.attrs['type'], 'candidate type'),
      generation: c.attrs['generation'] === undefined ? 0 : int(c.attrs['generation'], 'candidate generation'),
      ...(c.attrs['rel-addr'] ? { relAddr: token(c.attrs['rel-addr'], 'rel-addr') } : {}),
      ...(relPort !== undefined ? { relPort: int(relPort, 'rel-port', 65535) } : {}),
      ...(c.attrs['tcptype'] ? { tcptype: token(c.attrs['tcptype'], 'tcptype') } : {}),
    };
  });
  const ws = t.first('web-socket', NS.colibri)?.attrs['url'];
  return {
    ufrag: token(t.attrs['ufrag'], 'ice ufrag'),
    pwd: token(t.attrs['pwd'], 'ice pwd'),
    fingerprint: { hash: token(fp.attrs['hash'], 'fingerprint hash'), setup: fp.attrs['setup'] ?? 'actpass', value: token(fp.text().trim(), 'fingerprint') },
    candidates,
    ...(ws ? { webSocket: ws } : {}),
  };
}

/** The JSON form of §4.4: {"sources":{"<owner>":[[videoSrcs],[videoGroups],[audioSrcs],[audioGroups]]}}. */
export function parseJsonSources(text: string): RemoteSource[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new JingleError('json-message is not JSON');
  }
  if (typeof data !== 'object' || data === null) throw new JingleError('json-message is not an object');
  const sources = (data as Record<string, unknown>)['sources'];
  if (sources === undefined) return [];
  if (typeof sources !== 'object' || sources === null || Array.isArray(sources)) throw new JingleError('json-message sources is not an object');
  const out: RemoteSource[] = [];
  for (const [owner, value] of Object.entries(sources as Record<string, unknown>)) {
    if (!Array.isArray(value)) throw new JingleError(`sources of ${owner} is not an array`);
    const [vSrcs, vGroups, aSrcs, aGroups] = value as unknown[];
    const addKind = (kind: MediaKind, srcs: unknown, groups: unknown): void => {
      if (srcs === undefined) return;
      if (!Array.isArray(srcs)) throw new JingleError(`${kind} sources of ${owner} is not an array`);
      const list = srcs.map((s: unknown) => {
        if (typeof s !== 'object' || s === null) throw new JingleError(`a ${kind} source of ${owner} is not an object`);
        const r = s as Record<string, unknown>;
        return { ssrc: ssrcOf(typeof r['s'] === 'string' ? r['s'] : typeof r['s'] === 'number' ? String(r['s']) : undefined), n: r['n'], m: r['m'], v: r['v'] };
      });
      const fids = new Map<number, number>();
      if (groups !== undefined) {
        if (!Array.isArray(groups)) throw new JingleError(`${kind} groups of ${owner} is not an array`);
        for (const g of groups as unknown[]) {
          if (!Array.isArray(g) || g[0] !== 'f') continue;
          const a = ssrcOf(String(g[1])), b = ssrcOf(String(g[2]));
          if (a !== undefined && b !== undefined) fids.set(b, a);
        }
      }
      const rtxOf = new Map<number, number>([...fids].map(([rtx, primary]) => [primary, rtx]));
      for (const s of list) {
        if (s.ssrc === undefined || fids.has(s.ssrc)) continue;
        const rtx = rtxOf.get(s.ssrc);
        out.push({
          kind, ssrc: s.ssrc, owner,
          ...(rtx !== undefined ? { rtx } : {}),
          ...(typeof s.n === 'string' ? { name: s.n } : {}),
          ...(typeof s.m === 'string' ? { msid: s.m } : {}),
          ...(kind === 'video' ? { videoType: s.v ? 'desktop' as const : 'camera' as const } : {}),
        });
      }
    };
    addKind('video', vSrcs, vGroups);
    addKind('audio', aSrcs, aGroups);
  }
  return out;
}

/** Sources of one `description` (XML form): primaries with their FID RTX, owner from `ssrc-info` (resource part). */
function xmlSources(desc: El, kind: MediaKind): RemoteSource[] {
  const rtxOf = new Map<number, number>();
  const isRtx = new Set<number>();
  for (const g of desc.all('ssrc-group', NS.ssma)) {
    if (g.attrs['semantics'] !== 'FID') continue;
    const [a, b] = g.all('source').map((s) => ssrcOf(s.attrs['ssrc']));
    if (a !== undefined && b !== undefined) {
      rtxOf.set(a, b);
      isRtx.add(b);
    }
  }
  const seen = new Set<number>();
  const out: RemoteSource[] = [];
  for (const s of desc.all('source', NS.ssma)) {
    const ssrc = ssrcOf(s.attrs['ssrc']);
    if (ssrc === undefined || isRtx.has(ssrc) || seen.has(ssrc)) continue;
    seen.add(ssrc);
    const ownerAttr = s.first('ssrc-info', NS.jitmeet)?.attrs['owner'];
    const owner = ownerAttr === undefined ? 'unknown' : ownerAttr.includes('/') ? ownerAttr.slice(ownerAttr.lastIndexOf('/') + 1) : ownerAttr;
    const msid = s.all('parameter').find((p) => p.attrs['name'] === 'msid')?.attrs['value'];
    const rtx = rtxOf.get(ssrc);
    const vt = s.attrs['videoType'];
    out.push({
      kind, ssrc, owner,
      ...(rtx !== undefined ? { rtx } : {}),
      ...(s.attrs['name'] ? { name: s.attrs['name'] } : {}),
      ...(msid ? { msid } : {}),
      ...(kind === 'video' ? { videoType: vt === 'desktop' ? 'desktop' as const : 'camera' as const } : {}),
    });
  }
  return out;
}

/** All sources carried by a Jingle element (session-initiate, source-add, source-remove): XML and JSON forms. */
export function jingleSources(jingle: El): RemoteSource[] {
  const out: RemoteSource[] = [];
  for (const content of jingle.all('content')) {
    const desc = content.first('description', NS.rtp);
    if (!desc) continue;
    const kind = desc.attrs['media'] ?? content.attrs['name'];
    if (kind !== 'audio' && kind !== 'video') continue;
    out.push(...xmlSources(desc, kind));
  }
  const json = jingle.first('json-message', NS.jitmeet);
  if (json) out.push(...parseJsonSources(json.text()));
  return out;
}

const isFeedback = (s: RemoteSource): boolean => s.owner === 'jvb' || (s.msid?.startsWith('mixedmslabel') ?? false);

/** Reads a session-initiate (§4.2). */
export function parseOffer(jingle: El): RemoteSession {
  const sid = token(jingle.attrs['sid'], 'jingle sid');
  let transport: Transport | undefined;
  const media: Partial<Record<MediaKind, MediaDescription>> = {};
  for (const content of jingle.all('content')) {
    const desc = content.first('description', NS.rtp);
    const kind = desc?.attrs['media'];
    if (!desc || (kind !== 'audio' && kind !== 'video')) continue; // e.g. a data content: this client never uses SCTP (§5.1)
    media[kind] = parseDescription(desc, kind);
    const t = content.first('transport', NS.ice);
    if (t && !transport) transport = parseTransport(t);
  }
  if (!transport) throw new JingleError('session-initiate without an ICE transport');
  if (!media.audio || !media.video) throw new JingleError('session-initiate without audio and video contents');
  // ljm re-splits: mixedmslabel (feedback) sources first, one m-line per distinct SSRC, mids 0,1,2… (§4.2).
  const sources = jingleSources(jingle);
  const mlines: MLine[] = [];
  for (const kind of ['audio', 'video'] as const) {
    const ofKind = sources.filter((s) => s.kind === kind);
    const ordered = [...ofKind.filter(isFeedback), ...ofKind.filter((s) => !isFeedback(s))];
    if (ordered.length === 0 || !isFeedback(ordered[0] as RemoteSource)) {
      // No feedback source: the content's own m-line still carries the local track.
      mlines.push({ mid: String(mlines.length), kind, role: 'feedback', rejected: false });
    }
    for (const [i, s] of ordered.entries()) {
      mlines.push({ mid: String(mlines.length), kind, role: i === 0 && isFeedback(s) ? 'feedback' : 'remote', source: s, rejected: false });
    }
  }
  const bs = jingle.first('bridge-session', NS.focus)?.attrs['id'];
  return {
    sid,
    transport,
    media: { audio: media.audio, video: media.video },
    mlines,
    ...(bs ? { bridgeSessionId: bs } : {}),
    bundle: jingle.first('group', NS.grouping) !== undefined,
    version: 1,
  };
}

/** source-add (§4.4): one new sendonly m-line per new source, mid = next index. Returns the sources added. */
export function addRemoteSources(session: RemoteSession, sources: readonly RemoteSource[]): RemoteSource[] {
  const known = new Set(session.mlines.filter((m) => m.source && !m.rejected).map((m) => m.source?.ssrc));
  const added: RemoteSource[] = [];
  for (const s of sources) {
    if (known.has(s.ssrc) || isFeedback(s)) continue;
    known.add(s.ssrc);
    session.mlines.push({ mid: String(session.mlines.length), kind: s.kind, role: 'remote', source: s, rejected: false });
    added.push(s);
  }
  return added;
}

/**
 * §4.6, ssrc-rewriting mode: a bridge `AudioSourcesMap` / `VideoSourcesMap`. A new SSRC becomes a new remote source
 * (msid `remote-<kind>-N`, FID with the numeric rtx for video); a known SSRC whose owner or source changed (the bridge
 * re-using a slot) is re-mapped in place. Malformed entries are skipped. Returns the sources added and the counter.
 */
export function applySourcesMap(session: RemoteSession, message: Record<string, unknown>, counter: number): { added: RemoteSource[]; counter: number } {
  const cls = message['colibriClass'];
  if (cls !== 'VideoSourcesMap' && cls !== 'AudioSourcesMap') return { added: [], counter };
  const kind: MediaKind = cls === 'VideoSourcesMap' ? 'video' : 'audio';
  const mapped = message['mappedSources'];
  if (!Array.isArray(mapped)) return { added: [], counter };
  const fresh: RemoteSource[] = [];
  for (const entry of mapped as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const ssrc = ssrcOf(typeof e['ssrc'] === 'number' || typeof e['ssrc'] === 'string' ? String(e['ssrc']) : undefined);
    if (ssrc === undefined || ssrc === 0) continue;
    const owner = typeof e['owner'] === 'string' && e['owner'] !== '' ? e['owner'] : 'unknown';
    const name = typeof e['source'] === 'string' ? e['source'] : undefined;
    const existing = session.mlines.find((l) => l.source?.ssrc === ssrc && !l.rejected);
    if (existing?.source) {
      existing.source.owner = owner;
      if (name !== undefined) existing.source.name = name;
      continue;
    }
    const rtx = ssrcOf(typeof e['rtx'] === 'number' || typeof e['rtx'] === 'string' ? String(e['rtx']) : undefined);
    const n = ++counter;
    fresh.push({
      kind, ssrc, owner, msid: `remote-${kind}-${n} remote-${kind}-${n}`,
      ...(name !== undefined ? { name } : {}),
      ...(kind === 'video' && rtx !== undefined && rtx !== 0 ? { rtx } : {}),
      ...(kind === 'video' ? { videoType: String(e['videoType']).toLowerCase() === 'desktop' ? 'desktop' as const : 'camera' as const } : {}),
    });
  }
  return { added: addRemoteSources(session, fresh), counter };
}

/** source-remove (§4.4): the m-line of each removed SSRC is rejected (port 0), never reused. */
export function removeRemoteSources(session: RemoteSession, ssrcs: Iterable<number>): RemoteSource[] {
  const gone = new Set(ssrcs);
  const removed: RemoteSource[] = [];
  for (const m of session.mlines) {
    if (m.role !== 'remote' || m.rejected || !m.source || !gone.has(m.source.ssrc)) continue;
    m.rejected = true;
    removed.push(m.source);
  }
  return removed;
}

/** A second local video source (screen share): ljm adds a recvonly m-line to the remote description for it. */
export function addLocalMline(session: RemoteSession, kind: MediaKind): MLine {
  const m: MLine = { mid: String(session.mlines.length), kind, role: 'local-extra', rejected: false };
  session.mlines.push(m);
  return m;
}

function candidateLine(c: Candidate): string {
  let line = `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`;
  if (c.relAddr !== undefined && c.relPort !== undefined) line += ` raddr ${c.relAddr} rport ${c.relPort}`;
  if (c.tcptype !== undefined) line += ` tcptype ${c.tcptype}`;
  return `${line} generation ${c.generation}`;
}

/** Renders the remote description (an offer) as ljm's fromJingle + unified-plan split would. */
export function offerSdp(session: RemoteSession): string {
  const { transport } = session;
  const active = session.mlines.filter((m) => !m.rejected);
  const lines = ['v=0', `o=- 1923518516 ${session.version} IN IP4 0.0.0.0`, 's=-', 't=0 0'];
  if (session.bundle) lines.push(`a=group:BUNDLE ${active.map((m) => m.mid).join(' ')}`);
  lines.push('a=msid-semantic: WMS *');
  for (const m of session.mlines) {
    const desc = session.media[m.kind];
    lines.push(`m=${m.kind} ${m.rejected ? 0 : 9} UDP/TLS/RTP/SAVPF ${desc.codecs.map((c) => c.id).join(' ')}`);
    lines.push('c=IN IP4 0.0.0.0');
    if (!m.rejected) {
      lines.push(`a=ice-ufrag:${transport.ufrag}`, `a=ice-pwd:${transport.pwd}`);
      lines.push(`a=fingerprint:${transport.fingerprint.hash} ${transport.fingerprint.value}`, `a=setup:${transport.fingerprint.setup}`);
    }
    lines.push(`a=mid:${m.mid}`);
    lines.push(`a=${m.rejected ? 'inactive' : m.role === 'feedback' ? 'sendrecv' : m.role === 'local-extra' ? 'recvonly' : 'sendonly'}`);
    lines.push('a=rtcp-mux');
    for (const c of desc.codecs) {
      lines.push(`a=rtpmap:${c.id} ${c.name}/${c.clockrate}${c.channels ? `/${c.channels}` : ''}`);
      for (const fb of c.fb) lines.push(`a=rtcp-fb:${c.id} ${fb.type}${fb.subtype ? ` ${fb.subtype}` : ''}`);
      if (c.params.length > 0) lines.push(`a=fmtp:${c.id} ${c.params.map((p) => (p.name ? `${p.name}=${p.value}` : p.value)).join(';')}`);
    }
    for (const h of desc.hdrexts) lines.push(`a=extmap:${h.id} ${h.uri}`);
    if (desc.extmapAllowMixed) lines.push('a=extmap-allow-mixed');
    const s = m.source;
    if (s && !m.rejected && s.msid) {
      // §4.2: a source without an msid parameter yields no a=ssrc line at all.
      if (s.rtx !== undefined) lines.push(`a=ssrc-group:FID ${s.ssrc} ${s.rtx}`);
      for (const ssrc of s.rtx !== undefined ? [s.ssrc, s.rtx] : [s.ssrc]) lines.push(`a=ssrc:${ssrc} msid:${s.msid}`);
    }
    if (!m.rejected) {
      for (const c of transport.candidates) lines.push(candidateLine(c));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// The local side: the answer Chrome produced, munged for simulcast, turned into Jingle.

export interface LocalSection {
  mid: string;
  kind: MediaKind;
  direction: string;
  /** SSRCs in order of their first a=ssrc line. */
  ssrcs: number[];
  msid?: string;
  cname?: string;
  groups: { semantics: string; ssrcs: number[] }[];
  codecs: Codec[];
  hdrexts: HdrExt[];
  extmapAllowMixed: boolean;
}

export interface LocalSdp {
  ufrag: string;
  pwd: string;
  fingerprint: { hash: string; value: string; setup: string };
  sections: LocalSection[];
}

export function parseLocalSdp(sdp: string): LocalSdp {
  const sections: LocalSection[] = [];
  let ufrag: string | undefined, pwd: string | undefined;
  let fp: { hash: string; value: string } | undefined, setup: string | undefined;
  let cur: LocalSection | undefined;
  let sessionAllowMixed = false;
  const codecById = (id: number): Codec | undefined => cur?.codecs.find((c) => c.id === id);
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^m=(audio|video|application) \d+ \S+ ?(.*)$/.exec(line);
    if (m) {
      if (m[1] === 'application') {
        cur = undefined;
        continue;
      }
      cur = { mid: '', kind: m[1] as MediaKind, direction: 'sendrecv', ssrcs: [], groups: [], codecs: [], hdrexts: [], extmapAllowMixed: sessionAllowMixed };
      sections.push(cur);
      continue;
    }
    let r: RegExpExecArray | null;
    if ((r = /^a=ice-ufrag:(\S+)$/.exec(line))) ufrag ??= r[1];
    else if ((r = /^a=ice-pwd:(\S+)$/.exec(line))) pwd ??= r[1];
    else if ((r = /^a=fingerprint:(\S+) (\S+)$/.exec(line))) fp ??= { hash: r[1] as string, value: r[2] as string };
    else if ((r = /^a=setup:(\S+)$/.exec(line))) setup ??= r[1];
    // Chrome writes extmap-allow-mixed at session level; ljm puts it in every description.
    if (!cur && line === 'a=extmap-allow-mixed') sessionAllowMixed = true;
    if (!cur) continue;
    if ((r = /^a=mid:(\S+)$/.exec(line))) cur.mid = r[1] as string;
    else if ((r = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line))) cur.direction = r[1] as string;
    else if ((r = /^a=ssrc:(\d+) (\w+):?(.*)$/.exec(line))) {
      const ssrc = Number(r[1]);
      if (!cur.ssrcs.includes(ssrc)) cur.ssrcs.push(ssrc);
      if (r[2] === 'msid') cur.msid ??= r[3];
      if (r[2] === 'cname') cur.cname ??= r[3];
    } else if ((r = /^a=msid:(\S+ \S+)$/.exec(line))) cur.msid ??= r[1];
    else if ((r = /^a=ssrc-group:(\w+) ([\d ]+)$/.exec(line))) cur.groups.push({ semantics: r[1] as string, ssrcs: (r[2] as string).split(' ').map(Number) });
    else if ((r = /^a=rtpmap:(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?$/.exec(line))) {
      const channels = r[4] !== undefined && r[4] !== '1' ? Number(r[4]) : undefined;
      cur.codecs.push({ id: Number(r[1]), name: r[2] as string, clockrate: Number(r[3]), ...(channels ? { channels } : {}), params: [], fb: [] });
    } else if ((r = /^a=fmtp:(\d+) (.*)$/.exec(line))) {
      const c = codecById(Number(r[1]));
      if (c) for (const kv of (r[2] as string).split(';')) {
        const [k, v] = kv.split('=');
        if (k !== undefined && v !== undefined) c.params.push({ name: k.trim(), value: v.trim() });
        else if (k) c.params.push({ value: k.trim() });
      }
    } else if ((r = /^a=rtcp-fb:(\d+) (\S+)(?: (\S+))?$/.exec(line))) {
      codecById(Number(r[1]))?.fb.push({ type: r[2] as string, ...(r[3] ? { subtype: r[3] } : {}) });
    } else if ((r = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line))) cur.hdrexts.push({ id: Number(r[1]), uri: r[2] as string });
    else if (line === 'a=extmap-allow-mixed') cur.extmapAllowMixed = true;
  }
  if (!ufrag || !pwd) throw new JingleError('local description without ICE credentials');
  if (!fp) throw new JingleError('local description without a fingerprint');
  return { ufrag, pwd, fingerprint: { ...fp, setup: setup ?? 'active' }, sections };
}

/** SIM SSRCs added per primary SSRC, stable across renegotiations (ljm keeps them in its simulcast state). */
export type SimulcastState = Map<number, { layers: number[]; rtx: number[] }>;

function randomSsrc(taken: Set<number>): number {
  for (;;) {
    const v = crypto.getRandomValues(new Uint32Array(1))[0] ?? 1;
    if (v !== 0 && !taken.has(v)) {
      taken.add(v);
      return v;
    }
  }
}

/**
 * SSRC-based simulcast by SDP munging (§4.3): for each given video mid that sends, two more layers are added
 * with their own RTX, `a=ssrc-group:SIM p1 p2 p3` (low → high) and one FID per layer. Run on the answer before
 * setLocalDescription, as ljm does on Chromium.
 */
export function mungeSimulcast(sdp: string, mids: ReadonlySet<string>, state: SimulcastState): string {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  const taken = new Set<number>();
  for (const l of lines) {
    const m = /^a=ssrc:(\d+) /.exec(l);
    if (m) taken.add(Number(m[1]));
  }
  // Split into the session part and one block per m-line.
  const blocks: string[][] = [[]];
  for (const l of lines) {
    if (l.startsWith('m=')) blocks.push([]);
    blocks[blocks.length - 1]?.push(l);
  }
  for (const block of blocks) {
    const mid = block.find((l) => l.startsWith('a=mid:'))?.slice(6);
    if (!block[0]?.startsWith('m=video') || mid === undefined || !mids.has(mid)) continue;
    if (block.some((l) => l.startsWith('a=ssrc-group:SIM'))) continue;
    const fid = block.map((l) => /^a=ssrc-group:FID (\d+) (\d+)$/.exec(l)).find((m) => m !== null);
    if (!fid) continue;
    const primary = Number(fid[1]);
    let layers = state.get(primary);
    if (!layers) {
      layers = { layers: [randomSsrc(taken), randomSsrc(taken)], rtx: [randomSsrc(taken), randomSsrc(taken)] };
      state.set(primary, layers);
    }
    const attrs = block.filter((l) => l.startsWith(`a=ssrc:${primary} `)).map((l) => l.slice(`a=ssrc:${primary} `.length));
    block.push(`a=ssrc-group:SIM ${[primary, ...layers.layers].join(' ')}`);
    for (const [i, p] of layers.layers.entries()) block.push(`a=ssrc-group:FID ${p} ${layers.rtx[i] ?? 0}`);
    for (const [i, p] of layers.layers.entries()) {
      for (const a of attrs) block.push(`a=ssrc:${p} ${a}`);
      for (const a of attrs) block.push(`a=ssrc:${layers.rtx[i] ?? 0} ${a}`);
    }
  }
  return `${blocks.flat().join('\r\n')}\r\n`;
}

export interface LocalSourceSpec {
  mid: string;
  name: string;
  videoType?: 'camera' | 'desktop';
  /** ljm's msid: "<ep>-<audio|video>-<idx>-<tpc> <trackId>-<tpc>". */
  msid: string;
}

function sourceElements(section: LocalSection, spec: LocalSourceSpec): El[] {
  const out: El[] = [];
  for (const ssrc of section.ssrcs) {
    out.push(el('source', { xmlns: NS.ssma, ssrc, name: spec.name, ...(section.kind === 'video' ? { videoType: spec.videoType ?? 'camera' } : {}) }, el('parameter', { name: 'msid', value: spec.msid })));
  }
  // FID groups and the SIM group, the order ljm writes them (FID first, §4.3 capture).
  const fids = section.groups.filter((g) => g.semantics === 'FID');
  const sim = section.groups.find((g) => g.semantics === 'SIM');
  const group = (g: { semantics: string; ssrcs: number[] }): El => el('ssrc-group', { xmlns: NS.ssma, semantics: g.semantics }, ...g.ssrcs.map((s) => el('source', { ssrc: s })));
  const first = fids[0];
  if (first) out.push(group(first));
  if (sim) out.push(group(sim));
  for (const g of fids.slice(1)) out.push(group(g));
  return out;
}

function payloadElements(section: LocalSection): El[] {
  return section.codecs.map((c) =>
    el('payload-type', { id: c.id, name: c.name, clockrate: c.clockrate, channels: c.channels ?? 1 },
      ...c.params.map((p) => el('parameter', { name: p.name, value: p.value })),
      ...c.fb.map((f) => el('rtcp-fb', { xmlns: NS.rtcpFb, type: f.type, subtype: f.subtype })),
    ),
  );
}

/**
 * `content` elements for session-accept (withTransport) or source-add / source-remove: per media, the local
 * sources (name, videoType, msid; SIM and FID groups) of the listed mids.
 */
export function localJingleContents(local: LocalSdp, specs: readonly LocalSourceSpec[], options: { withTransport: boolean }): El[] {
  const contents: El[] = [];
  for (const kind of ['audio', 'video'] as const) {
    const mine = specs
      .map((spec) => ({ spec, section: local.sections.find((s) => s.mid === spec.mid && s.kind === kind) }))
      .filter((x): x is { spec: LocalSourceSpec; section: LocalSection } => x.section !== undefined);
    const base = local.sections.find((s) => s.kind === kind);
    if (!options.withTransport && mine.length === 0) continue;
    if (!base) continue;
    const desc = el('description', { xmlns: NS.rtp, media: kind });
    if (options.withTransport) desc.append(...payloadElements(base));
    for (const { spec, section } of mine) desc.append(...sourceElements(section, spec));
    if (options.withTransport) {
      desc.append(el('rtcp-mux'));
      for (const h of base.hdrexts) desc.append(el('rtp-hdrext', { xmlns: NS.hdrext, id: h.id, uri: h.uri }));
      if (base.extmapAllowMixed) desc.append(el('extmap-allow-mixed', { xmlns: NS.hdrext }));
    }
    const content = el('content', { creator: 'responder', name: kind, ...(options.withTransport ? { senders: 'both' } : {}) }, desc);
    if (options.withTransport) {
      content.append(
        el('transport', { xmlns: NS.ice, ufrag: local.ufrag, pwd: local.pwd },
          el('fingerprint', { xmlns: NS.dtls, hash: local.fingerprint.hash, setup: local.fingerprint.setup }, local.fingerprint.value),
        ),
      );
    }
    contents.push(content);
  }
  return contents;
}
