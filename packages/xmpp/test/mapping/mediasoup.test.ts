// Jingle ⇄ mediasoup mapping (jitsi-client-protocol §8, with the sdes:mid finding of packages/e2e/README.md).
// Router capabilities are mediasoup 3.19.3's own output (test/data/README.md); the answers are the real
// client's session-accepts from the traces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RtpCapabilities, RtpParameters } from 'mediasoup/types';
import { describe, expect, it } from 'vitest';
import { MalformedStanzaError } from '../../src/errors.ts';
import {
  MappingError, OFFERED_HEADER_EXTENSIONS, SDES_MID_URI, consumerMid, consumerRtpCapabilities, consumerSources,
  dtlsParametersFromTransport, encodingsFromSsrcs, iceUdpTransportFromMediasoup, offerDescription, producerRtpParameters,
  signalledSources, type MidMode,
} from '../../src/mapping/mediasoup.ts';
import { buildJingle, parseJingle, type Jingle, type RtpDescription } from '../../src/stanzas/jingle.ts';
import { fixtureStanza, payloadOf } from '../stanzas/support/pick.ts';

const routerCaps = JSON.parse(readFileSync(join(import.meta.dirname, '../data/mediasoup-router-rtp-capabilities.json'), 'utf8')) as RtpCapabilities;
const accept = (): Jingle => parseJingle(payloadOf(fixtureStanza('jingle', (t) => t.includes('action="session-accept"'))));
const desc = (j: Jingle, media: string): RtpDescription => {
  const d = j.contents.find((c) => c.description?.media === media)?.description;
  if (d === undefined) throw new Error(`no ${media} description`);
  return d;
};
const vp8Only = { codecFilter: (c: { mimeType: string }) => c.mimeType !== 'video/H264' };

describe('offer from router.rtpCapabilities (§8.3)', () => {
  it('uses the router PTs, keeps rtx next to its codec, and the router extension ids', () => {
    const video = offerDescription(routerCaps, 'video', { midMode: 'no-mid-extension', ...vp8Only });
    expect(video.payloadTypes.map((p) => [p.id, p.name])).toEqual([[101, 'VP8'], [102, 'rtx']]);
    expect(video.payloadTypes[1]?.parameters).toEqual([{ name: 'apt', value: '101' }]);
    expect(video.payloadTypes[0]?.rtcpFbs).toContainEqual({ type: 'nack', subtype: 'pli' });
    expect(video.payloadTypes[0]?.rtcpFbs).toContainEqual({ type: 'transport-cc' });
    for (const h of video.headerExtensions) {
      expect(routerCaps.headerExtensions?.find((r) => r.kind === 'video' && r.uri === h.uri)?.preferredId).toBe(h.id);
    }
    expect(video.rtcpMux).toBe(true);
    const all = offerDescription(routerCaps, 'video', { midMode: 'no-mid-extension' });
    expect(all.payloadTypes.map((p) => p.name)).toEqual(['VP8', 'rtx', 'H264', 'rtx']);
  });

  it('offers sdes:mid only in consumer-mid mode (finding: omitting it from consumer caps does not stop MID stamping)', () => {
    const without = offerDescription(routerCaps, 'audio', { midMode: 'no-mid-extension' });
    const withMid = offerDescription(routerCaps, 'audio', { midMode: 'consumer-mid' });
    expect(without.headerExtensions.map((h) => h.uri)).not.toContain(SDES_MID_URI);
    expect(withMid.headerExtensions.find((h) => h.uri === SDES_MID_URI)?.id).toBe(1);
  });

  it('never offers the rid extensions (Jitsi simulcast is SSRC-based, §4.3) and offers the §4.2 set', () => {
    const video = offerDescription(routerCaps, 'video', { midMode: 'consumer-mid' });
    const uris = video.headerExtensions.map((h) => h.uri);
    expect(uris.filter((u) => u.includes('stream-id'))).toEqual([]);
    for (const u of uris) expect([...OFFERED_HEADER_EXTENSIONS, SDES_MID_URI]).toContain(u);
  });

  it('an answer that echoes the offer yields consumer caps matching the router exactly', () => {
    for (const midMode of ['no-mid-extension', 'consumer-mid'] as MidMode[]) {
      const contents = (['audio', 'video'] as const).map((media) => ({ name: media, description: offerDescription(routerCaps, media, { midMode, ...vp8Only }) }));
      // Through the wire format, as the client would see and echo it.
      const echoed = parseJingle(buildJingle({ action: 'session-accept', sid: 's', contents, groups: [] }));
      const caps = consumerRtpCapabilities(echoed.contents.map((c) => c.description as RtpDescription), midMode);
      for (const c of caps.codecs ?? []) {
        const r = routerCaps.codecs?.find((x) => x.mimeType.toLowerCase() === c.mimeType.toLowerCase() && x.preferredPayloadType === c.preferredPayloadType);
        expect(r, `${c.mimeType}/${c.preferredPayloadType}`).toBeDefined();
        expect(c.clockRate).toBe(r?.clockRate);
        expect(c.parameters).toEqual(r?.parameters);
      }
      for (const h of caps.headerExtensions ?? []) {
        expect(routerCaps.headerExtensions?.find((r) => r.kind === h.kind && r.uri === h.uri)?.preferredId).toBe(h.preferredId);
      }
      expect((caps.headerExtensions ?? []).some((h) => h.uri === SDES_MID_URI)).toBe(midMode === 'consumer-mid');
    }
  });
});

describe('session-accept → produce() (§8.1)', () => {
  it('video: one encoding per SIM SSRC in SIM order (low → high), RTX from the FID groups; no mid, no rid', () => {
    const j = accept();
    const video = desc(j, 'video');
    const [source] = signalledSources(video);
    if (source === undefined) throw new Error('no video source');
    expect(source.name).toMatch(/-v0$/);
    expect(source.ssrcs).toHaveLength(6);
    const params = producerRtpParameters(video, source, 'no-mid-extension');
    const sim = video.ssrcGroups.find((g) => g.semantics === 'SIM')?.ssrcs ?? [];
    const fid = new Map(video.ssrcGroups.filter((g) => g.semantics === 'FID').map((g) => [g.ssrcs[0], g.ssrcs[1]]));
    expect(params.encodings).toEqual(sim.map((ssrc) => ({ ssrc, rtx: { ssrc: fid.get(ssrc) } })));
    expect(params.mid).toBeUndefined();
    expect(params.encodings?.some((e) => e.rid !== undefined)).toBe(false);
    expect(params.codecs.map((c) => [c.mimeType, c.payloadType, c.channels])).toEqual([['video/VP8', 100, undefined], ['video/rtx', 96, undefined]]);
    expect(params.codecs[1]?.parameters).toEqual({ apt: 100 });
    expect(params.headerExtensions?.map((h) => h.uri)).not.toContain(SDES_MID_URI);
    expect(producerRtpParameters(video, source, 'consumer-mid').headerExtensions?.map((h) => h.uri)).toContain(SDES_MID_URI);
  });

  it('audio: a single encoding; opus keeps channels and numeric fmtp values', () => {
    const audio = desc(accept(), 'audio');
    const [source] = signalledSources(audio);
    if (source === undefined) throw new Error('no audio source');
    const params = producerRtpParameters(audio, source, 'no-mid-extension');
    expect(params.encodings).toEqual([{ ssrc: source.ssrcs[0] }]);
    expect(params.codecs[0]).toMatchObject({ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 } });
  });

  it('without SIM: [{ ssrc, rtx }]; two SIM groups for one source is an error', () => {
    expect(encodingsFromSsrcs([5, 6], [{ semantics: 'FID', ssrcs: [5, 6] }])).toEqual([{ ssrc: 5, rtx: { ssrc: 6 } }]);
    expect(encodingsFromSsrcs([5], [])).toEqual([{ ssrc: 5 }]);
    expect(() => encodingsFromSsrcs([1, 2, 3, 4], [{ semantics: 'SIM', ssrcs: [1, 2] }, { semantics: 'SIM', ssrcs: [3, 4] }])).toThrow(MappingError);
    expect(() => encodingsFromSsrcs([], [])).toThrow(MappingError);
  });

  it('older clients without source names (§10): grouped by msid, else by FID pair', () => {
    const d: RtpDescription = {
      media: 'video', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: true,
      sources: [
        { ssrc: 1, parameters: [{ name: 'msid', value: 's t1' }] }, { ssrc: 2, parameters: [{ name: 'msid', value: 's t1' }] },
        { ssrc: 7, parameters: [] }, { ssrc: 8, parameters: [] },
      ],
      ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }, { semantics: 'FID', ssrcs: [7, 8] }],
    };
    expect(signalledSources(d).map((s) => [s.msid, s.ssrcs])).toEqual([['s t1', [1, 2]], [undefined, [7, 8]]]);
  });
});

describe('consumer → the receiver\'s source-add (§4.4)', () => {
  const consumerParams = (mid?: string): RtpParameters => ({
    codecs: [], encodings: [{ ssrc: 100002, rtx: { ssrc: 100003 } }], ...(mid === undefined ? {} : { mid }),
  });
  const who = { owner: 'bfd9a49b', name: 'bfd9a49b-v0', msid: 'bfd9a49b-video-0-1 t-1', videoType: 'camera' };

  it('one primary SSRC + RTX in a FID group, with the sender\'s owner/name/msid; never SIM', () => {
    const { sources, ssrcGroups } = consumerSources(consumerParams(), { ...who, midMode: 'no-mid-extension' });
    expect(sources.map((s) => [s.ssrc, s.owner, s.name, s.videoType])).toEqual([[100002, 'bfd9a49b', 'bfd9a49b-v0', 'camera'], [100003, 'bfd9a49b', 'bfd9a49b-v0', 'camera']]);
    expect(sources[0]?.parameters).toEqual([{ name: 'msid', value: who.msid }]);
    expect(ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [100002, 100003] }]);
  });

  it('consumer-mid mode signals parameter mid = the consumer mid (non-numeric), and requires one', () => {
    const mid = consumerMid(3);
    expect(mid).toBe('r3');
    const { sources } = consumerSources(consumerParams(mid), { ...who, midMode: 'consumer-mid' });
    expect(sources[0]?.parameters).toContainEqual({ name: 'mid', value: 'r3' });
    expect(() => consumerSources(consumerParams(), { ...who, midMode: 'consumer-mid' })).toThrow(MappingError);
    expect(() => consumerMid(-1)).toThrow(MappingError);
  });

  it('goes on the wire as a Jingle source-add that parses back', () => {
    const { sources, ssrcGroups } = consumerSources(consumerParams('r1'), { ...who, midMode: 'consumer-mid' });
    const j: Jingle = {
      action: 'source-add', sid: 's', groups: [],
      contents: [{ name: 'video', description: { media: 'video', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources, ssrcGroups } }],
    };
    expect(parseJingle(buildJingle(j))).toEqual(j);
  });
});

describe('transports', () => {
  it('connect(): the client answers setup=active, so the remote DTLS role is client; fingerprint upper-cased', () => {
    const t = accept().contents[0]?.transport;
    if (t === undefined) throw new Error('no transport');
    const lower = { ...t, fingerprints: t.fingerprints.map((f) => ({ ...f, value: f.value.toLowerCase() })) };
    const dtls = dtlsParametersFromTransport(lower);
    expect(dtls.role).toBe('client');
    expect(dtls.fingerprints).toEqual([{ algorithm: 'sha-256', value: t.fingerprints[0]?.value.toUpperCase() }]);
    expect(() => dtlsParametersFromTransport({ ...t, fingerprints: [] })).toThrow(MappingError);
    expect(() => dtlsParametersFromTransport({ ...t, fingerprints: [{ hash: 'sha-256', value: 'nothex' }] })).toThrow(MalformedStanzaError);
  });

  it('session-initiate transport from a WebRtcTransport: all candidates (TCP passive), one sha-256 actpass fingerprint, ws URL', () => {
    const t = iceUdpTransportFromMediasoup({
      iceParameters: { usernameFragment: 'uf', password: 'pw'.repeat(11), iceLite: true },
      iceCandidates: [
        { foundation: 'udpcandidate', priority: 1076302079, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'udp', port: 40000, type: 'host' },
        { foundation: 'tcpcandidate', priority: 1076276479, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'tcp', port: 40001, type: 'host', tcpType: 'passive' },
      ],
      dtlsParameters: {
        role: 'auto',
        fingerprints: [{ algorithm: 'sha-1', value: Array(20).fill('ab').join(':') }, { algorithm: 'sha-256', value: Array(32).fill('cd').join(':') }],
      },
    }, { webSocketUrl: 'ws://127.0.0.1:8080/colibri-ws/b/c/e?pwd=s' });
    expect(t.candidates.map((c) => [c.protocol, c.port, c.tcptype])).toEqual([['udp', 40000, undefined], ['tcp', 40001, 'passive']]);
    expect(t.fingerprints).toEqual([{ hash: 'sha-256', setup: 'actpass', value: Array(32).fill('CD').join(':') }]);
    const j: Jingle = { action: 'transport-info', sid: 's', groups: [], contents: [{ name: 'audio', transport: t }] };
    expect(parseJingle(buildJingle(j))).toEqual(j);
  });
});

describe('packaging', () => {
  it('imports mediasoup for types only (this package never loads the worker)', async () => {
    const { readdirSync: ls, readFileSync: read } = await import('node:fs');
    const root = join(import.meta.dirname, '../../src');
    const files = (ls(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const offenders = files.filter((f) => /^\s*import\s+(?!type\b)[^;]*from\s+['"]mediasoup/m.test(read(join(root, f), 'utf8')));
    expect(files.length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
