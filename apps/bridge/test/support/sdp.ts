// SDP for the browser peers, built from what the focus has in hand — the COLIBRI2 answer (the bridge's ICE-UDP
// transport and router media) and the consumer report — the way lib-jitsi-meet turns the focus's Jingle into an
// SDP offer (jitsi-client-protocol.md §4.2, §4.4): BUNDLE, the same transport on every m-line, no a=ice-lite
// (Jingle cannot carry it, §8.2), the client's own m-lines first (recvonly on the bridge side), then one sendonly
// m-line per remote source with its FID group and msid. And the reverse: the browser's answer as COLIBRI2
// transport + sources (§3.3 item 3), with the SIM group ljm's simulcast munging adds.
import type { Colibri2Media, Colibri2MediaSource, IceUdpTransport, RtpSource, SsrcGroup } from '@hummingbird/xmpp';

export interface RemoteSection {
  readonly mid: string;
  readonly source: Colibri2MediaSource;
}

export interface OfferInput {
  readonly transport: IceUdpTransport;
  readonly media: readonly Colibri2Media[];
  readonly remote: readonly RemoteSection[];
  readonly sessionId: string;
  readonly version: number;
}

function mediaOf(media: readonly Colibri2Media[], kind: string): Colibri2Media {
  const m = media.find((x) => x.type === kind);
  if (m === undefined) throw new Error(`no ${kind} media from the bridge`);
  return m;
}

function msidOf(s: RtpSource): string | undefined {
  return s.parameters.find((p) => p.name === 'msid')?.value;
}

export function buildOffer(input: OfferInput): string {
  const { transport } = input;
  const fp = transport.fingerprints[0];
  if (fp === undefined) throw new Error('the bridge transport has no fingerprint');
  const sections: { mid: string; kind: 'audio' | 'video'; dir: 'recvonly' | 'sendonly'; source?: Colibri2MediaSource }[] = [
    { mid: '0', kind: 'audio', dir: 'recvonly' },
    { mid: '1', kind: 'video', dir: 'recvonly' },
    ...input.remote.map((r) => ({ mid: r.mid, kind: r.source.type, dir: 'sendonly' as const, source: r.source })),
  ];
  const lines = [
    'v=0',
    `o=- ${input.sessionId} ${input.version} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  for (const s of sections) {
    const m = mediaOf(input.media, s.kind);
    lines.push(`m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${m.payloadTypes.map((p) => p.id).join(' ')}`);
    lines.push('c=IN IP4 0.0.0.0');
    lines.push(`a=ice-ufrag:${transport.ufrag ?? ''}`);
    lines.push(`a=ice-pwd:${transport.pwd ?? ''}`);
    lines.push(`a=fingerprint:${fp.hash} ${fp.value}`);
    lines.push(`a=setup:${fp.setup ?? 'actpass'}`);
    lines.push(`a=mid:${s.mid}`);
    lines.push(`a=${s.dir}`);
    lines.push('a=rtcp-mux');
    if (s.kind === 'video') lines.push('a=rtcp-rsize');
    for (const p of m.payloadTypes) {
      lines.push(`a=rtpmap:${p.id} ${p.name ?? ''}/${p.clockrate ?? 0}${p.channels !== undefined && p.channels > 1 ? `/${p.channels}` : ''}`);
      const fmtp = p.parameters.filter((x) => x.name !== undefined).map((x) => `${x.name ?? ''}=${x.value}`).join(';');
      if (fmtp !== '') lines.push(`a=fmtp:${p.id} ${fmtp}`);
      for (const fb of p.rtcpFbs) lines.push(`a=rtcp-fb:${p.id} ${fb.type}${fb.subtype !== undefined ? ` ${fb.subtype}` : ''}`);
    }
    for (const h of m.headerExtensions) lines.push(`a=extmap:${h.id} ${h.uri}`);
    if (m.extmapAllowMixed) lines.push('a=extmap-allow-mixed');
    if (s.source !== undefined) {
      const first = s.source.sources[0];
      const msid = (first === undefined ? undefined : msidOf(first)) ?? `${s.source.id} ${s.source.id}`;
      lines.push(`a=msid:${msid}`);
      for (const g of s.source.ssrcGroups) lines.push(`a=ssrc-group:${g.semantics} ${g.ssrcs.join(' ')}`);
      for (const src of s.source.sources) {
        lines.push(`a=ssrc:${src.ssrc} cname:${s.source.id}`);
        lines.push(`a=ssrc:${src.ssrc} msid:${msid}`);
      }
    }
    for (const c of transport.candidates) {
      const tcp = c.protocol === 'tcp' ? ` tcptype ${c.tcptype ?? 'passive'}` : '';
      lines.push(`a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}${tcp} generation ${c.generation ?? 0}`);
    }
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface ParsedAnswer {
  readonly transport: IceUdpTransport;
  /** The browser's own sources (mids 0 and 1), named `<endpoint>-a0` / `<endpoint>-v0` as ljm names them (§4.5). */
  readonly sources: Colibri2MediaSource[];
  /** mid → accepted (port ≠ 0). */
  readonly accepted: Map<string, boolean>;
}

/** The browser's answer as the focus would forward it to the bridge after session-accept (§3.3 item 3). */
export function parseAnswer(sdp: string, endpointId: string): ParsedAnswer {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  let fingerprint: { hash: string; value: string } | undefined;
  let setup: string | undefined;
  const accepted = new Map<string, boolean>();
  const bySection: { kind: string; mid: string; port: number; ssrcs: Map<number, string | undefined>; groups: SsrcGroup[] }[] = [];
  let cur: (typeof bySection)[number] | undefined;
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(\w+) (\d+) /.exec(line);
    if (m) {
      cur = { kind: m[1] ?? '', mid: '', port: Number(m[2]), ssrcs: new Map(), groups: [] };
      bySection.push(cur);
      continue;
    }
    ufrag ??= /^a=ice-ufrag:(\S+)/.exec(line)?.[1];
    pwd ??= /^a=ice-pwd:(\S+)/.exec(line)?.[1];
    setup ??= /^a=setup:(\S+)/.exec(line)?.[1];
    const fp = /^a=fingerprint:(\S+) (\S+)/.exec(line);
    if (fp && fingerprint === undefined) fingerprint = { hash: fp[1] ?? '', value: fp[2] ?? '' };
    if (!cur) continue;
    const mid = /^a=mid:(\S+)/.exec(line);
    if (mid) cur.mid = mid[1] ?? '';
    const ssrc = /^a=ssrc:(\d+) (\w+):?(.*)$/.exec(line);
    if (ssrc) {
      const n = Number(ssrc[1]);
      if (!cur.ssrcs.has(n)) cur.ssrcs.set(n, undefined);
      if (ssrc[2] === 'msid') cur.ssrcs.set(n, ssrc[3]);
    }
    const g = /^a=ssrc-group:(\w+) ([\d ]+)$/.exec(line);
    if (g) cur.groups.push({ semantics: g[1] ?? '', ssrcs: (g[2] ?? '').trim().split(' ').map(Number) });
  }
  if (!ufrag || !pwd || !fingerprint || !setup) throw new Error('incomplete answer');
  const sources: Colibri2MediaSource[] = [];
  for (const s of bySection) {
    accepted.set(s.mid, s.port !== 0);
    if (s.mid !== '0' && s.mid !== '1') continue;
    if (s.ssrcs.size === 0) continue;
    const kind = s.kind === 'audio' ? 'audio' : 'video';
    const name = `${endpointId}-${kind === 'audio' ? 'a' : 'v'}0`;
    sources.push({
      type: kind, id: name,
      sources: [...s.ssrcs].map(([ssrc, msid]) => ({
        ssrc, name, parameters: msid === undefined ? [] : [{ name: 'msid', value: msid }], ...(kind === 'video' ? { videoType: 'camera' } : {}),
      })),
      ssrcGroups: s.groups,
    });
  }
  return {
    transport: {
      ufrag, pwd, fingerprints: [{ hash: fingerprint.hash, value: fingerprint.value, setup: setup as 'active' }], candidates: [], webSockets: [],
      rtcpMux: true,
    },
    sources,
    accepted,
  };
}
