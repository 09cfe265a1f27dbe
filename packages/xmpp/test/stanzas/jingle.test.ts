// Jingle with Jitsi's extensions (jitsi-client-protocol §4): the values the focus and the bridge act on, read
// from the real traces, a session-initiate built from scratch, and hostile input per element.
import { describe, expect, it } from 'vitest';
import { NS } from '../../src/namespaces.ts';
import { buildJingle, bundleGroup, parseJingle, type Jingle } from '../../src/stanzas/jingle.ts';
import { buildJsonSources, jsonSourcesToRtp, parseJsonSources } from '../../src/stanzas/jingle-json.ts';
import { normalizeFingerprint } from '../../src/stanzas/ice.ts';
import { sourceMsid } from '../../src/stanzas/rtp.ts';
import { parseXmlString, type Element } from '../../src/xml.ts';
import { expectMalformed } from './support/assert.ts';
import { fixtureStanza, payloadOf } from './support/pick.ts';

const jingle = (action: string): Element => payloadOf(fixtureStanza('jingle', (t) => t.includes(`action="${action}"`)));
const jsonSourceAdd = (): Element => payloadOf(fixtureStanza('jingle', (t) => t.includes('"sources":{"') && t.includes('source-add')));

describe('Jingle: values from the traces', () => {
  it('session-initiate: contents, codecs, header extensions, feedback source, transport, BUNDLE, bridge-session', () => {
    const j = parseJingle(jingle('session-initiate'));
    expect(j.action).toBe('session-initiate');
    expect(j.contents.map((c) => [c.name, c.creator, c.senders])).toEqual([['audio', 'initiator', 'both'], ['video', 'initiator', 'both']]);
    const audio = j.contents[0]?.description;
    expect(audio?.payloadTypes[0]).toEqual({
      id: 111, name: 'opus', clockrate: 48000, channels: 2,
      parameters: [{ name: 'minptime', value: '10' }, { name: 'useinbandfec', value: '1' }], rtcpFbs: [{ type: 'transport-cc' }],
    });
    expect(audio?.headerExtensions.map((h) => [h.id, h.uri.split(/[:/]/).pop()])).toEqual([[10, 'ssrc-audio-level'], [1, 'mid'], [5, 'draft-holmer-rmcat-transport-wide-cc-extensions-01']]);
    expect(audio?.rtcpMux).toBe(true);
    expect(audio?.extmapAllowMixed).toBe(true);
    expect(audio?.sources[0]).toEqual({ ssrc: 1111, name: 'jvb-a0', parameters: [{ name: 'msid', value: 'mixedmslabel mixedlabelaudio0' }], owner: 'jvb' });
    const video = j.contents[1]?.description;
    expect(video?.payloadTypes.map((p) => [p.id, p.name])).toEqual([[100, 'VP8'], [96, 'rtx']]);
    expect(video?.payloadTypes[1]?.parameters).toEqual([{ name: 'apt', value: '100' }]);
    expect(video?.payloadTypes[0]?.rtcpFbs).toEqual([{ type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' }, { type: 'transport-cc' }]);
    const t = j.contents[0]?.transport;
    expect(t).toMatchObject({ ufrag: 'mockufrag', rtcpMux: true });
    expect(t?.fingerprints).toEqual([{ hash: 'sha-256', setup: 'actpass', value: expect.stringMatching(/^B0:A7:/) as unknown }]);
    expect(t?.candidates).toEqual([{ component: 1, foundation: '1', generation: 0, id: 'c1', ip: '127.0.0.1', network: 0, port: 10000, priority: 2130706431, protocol: 'udp', type: 'host' }]);
    expect(t?.webSockets[0]).toMatch(/^ws:\/\/127\.0\.0\.1:8766\/colibri-ws\/mock\/conf1\/[0-9a-f]{8}\?pwd=x$/);
    expect(j.groups).toEqual([{ semantics: 'BUNDLE', contents: ['audio', 'video'] }]);
    expect(j.bridgeSession).toMatchObject({ region: 'local' });
  });

  it('session-accept: simulcast as SIM (low → high) with FID per layer; BUNDLE lists data although none was offered', () => {
    const j = parseJingle(jingle('session-accept'));
    expect(j.groups[0]?.contents).toEqual(['audio', 'video', 'data']);
    const video = j.contents.find((c) => c.name === 'video')?.description;
    expect(video?.sources).toHaveLength(6);
    expect(new Set(video?.sources.map((s) => s.name)).size).toBe(1);
    expect(video?.sources.every((s) => s.videoType === 'camera' && sourceMsid(s) !== undefined)).toBe(true);
    expect(video?.ssrcGroups.map((g) => g.semantics)).toEqual(['FID', 'SIM', 'FID', 'FID']);
    expect(j.contents[0]?.transport?.fingerprints[0]?.setup).toBe('active');
    expect(j.contents[0]?.transport?.candidates).toEqual([]);
  });

  it('session-terminate: connectivity-error, "ICE FAILED", bridge-session restart (§4.7)', () => {
    const j = parseJingle(jingle('session-terminate'));
    expect(j.reason).toEqual({ condition: 'connectivity-error', text: 'ICE FAILED' });
    expect(j.bridgeSession?.restart).toBe(true);
  });

  it('JSON source-add (§4.4): owners, sources, FID groups, expanded like ljm does', () => {
    const j = parseJingle(jsonSourceAdd());
    const owner = j.jsonSources?.owners[0];
    expect(owner?.video).toHaveLength(2);
    expect(owner?.videoGroups[0]?.semantics).toBe('FID');
    expect(owner?.audio[0]?.name).toMatch(/-a0$/);
    const rtp = jsonSourcesToRtp(j.jsonSources ?? { owners: [] });
    expect(rtp.video.sources[0]).toMatchObject({ owner: owner?.owner, parameters: [{ name: 'msid', value: owner?.video[0]?.msid }] });
    expect(rtp.video.ssrcGroups[0]?.ssrcs).toEqual(owner?.video.map((s) => s.ssrc));
  });
});

describe('Jingle: building', () => {
  it('builds a session-initiate from a value and parses it back identically', () => {
    const contents = (['audio', 'video'] as const).map((media) => ({
      name: media, creator: 'initiator' as const, senders: 'both' as const,
      description: {
        media, payloadTypes: [{ id: media === 'audio' ? 111 : 100, name: media === 'audio' ? 'opus' : 'VP8', clockrate: media === 'audio' ? 48000 : 90000, parameters: [], rtcpFbs: [] }],
        headerExtensions: [{ id: 4, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' }], extmapAllowMixed: true, rtcpMux: true,
        sources: [{ ssrc: media === 'audio' ? 1 : 2, name: `jvb-${media[0]}0`, parameters: [{ name: 'msid', value: `mixedmslabel mixedlabel${media}0` }], owner: 'jvb' }],
        ssrcGroups: [],
      },
      transport: {
        ufrag: 'u', pwd: 'p'.repeat(22), fingerprints: [{ hash: 'sha-256', setup: 'actpass' as const, value: Array(32).fill('AB').join(':') }],
        candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c0', ip: '::1', network: 0, port: 40000, priority: 1, protocol: 'tcp', type: 'host' as const, tcptype: 'passive' }],
        webSockets: ['wss://bridge.example/colibri-ws/b/c/e?pwd=s'], rtcpMux: true,
      },
    }));
    const j: Jingle = { action: 'session-initiate', sid: 's1', initiator: 'focus@focus.example/focus', contents, groups: [bundleGroup(contents)], bridgeSession: { id: 'bs1', region: 'r' }, startMuted: { audio: false, video: true } };
    const el = buildJingle(j);
    expect(el.getChild('group', NS.JINGLE_GROUPING)?.getChildren('content').map((c) => c.attrs.name)).toEqual(['audio', 'video']);
    expect(parseJingle(el)).toEqual(j);
  });

  it('refuses to encode a group the JSON form cannot express', () => {
    expect(() => buildJsonSources({ owners: [{ owner: 'a', video: [], videoGroups: [{ semantics: 'FEC', ssrcs: [1, 2] }], audio: [], audioGroups: [] }] })).toThrow(TypeError);
  });
});

describe('Jingle: hostile input', () => {
  const J = (attrs: string, inner = ''): Element => parseXmlString(`<jingle xmlns="urn:xmpp:jingle:1" ${attrs}>${inner}</jingle>`);
  const desc = (inner: string): string => `<content name="audio"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio">${inner}</description></content>`;
  const tr = (inner: string, attrs = 'ufrag="u" pwd="p"'): string => `<content name="audio"><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ${attrs}>${inner}</transport></content>`;
  const cand = (over: Record<string, string>): string => {
    const a = { component: '1', foundation: '1', generation: '0', id: 'c', ip: '10.0.0.1', network: '0', port: '1000', priority: '1', protocol: 'udp', type: 'host', ...over };
    return `<candidate ${Object.entries(a).map(([k, v]) => `${k}="${v}"`).join(' ')}/>`;
  };

  it('rejects unknown actions (incl. the legacy addsource, §4.1), a missing sid, and the wrong element', () => {
    expectMalformed(() => parseJingle(J('action="addsource" sid="s"')), /^jingle@action$/);
    expectMalformed(() => parseJingle(J('action="source-add"')), /^jingle@sid$/);
    expectMalformed(() => parseJingle(J('sid="s"')), /^jingle@action$/);
    expectMalformed(() => parseJingle(parseXmlString('<jingle xmlns="urn:xmpp:jingle:0" action="source-add" sid="s"/>')), /^jingle$/);
  });

  it('rejects a session-initiate without content and duplicate content names', () => {
    expectMalformed(() => parseJingle(J('action="session-initiate" sid="s"')), /content$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', '<content name="a"/><content name="a"/>')), /content$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', '<content name="a" senders="sometimes"/>')), /content\[0\]@senders$/);
  });

  it('rejects payload types with ids outside 0..127 or not decimal, and a parameter without value', () => {
    for (const id of ['128', '-1', '1e2', '0x10', ' 96', '']) {
      expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<payload-type id="${id}" name="x" clockrate="1"/>`))), /payload-type\[0\]@id$/);
    }
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc('<payload-type id="1"><parameter name="a"/></payload-type>'))), /parameter\[0\]@value$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc('<payload-type id="1"><rtcp-fb xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0"/></payload-type>'))), /rtcp-fb\[0\]@type$/);
  });

  it('rejects SSRCs outside 32 bits, empty ssrc-groups, header extension ids outside 1..255', () => {
    const ss = `xmlns="${NS.JINGLE_SSMA}"`;
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<source ${ss} ssrc="4294967296"/>`))), /source\[0\]@ssrc$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<source ${ss} ssrc="12"><ssrc-info xmlns="${NS.JITMEET}"/></source>`))), /ssrc-info@owner$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<ssrc-group ${ss} semantics="FID"/>`))), /ssrc-group\[0\]\/source$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<ssrc-group ${ss} semantics="FID"><source ssrc="x"/></ssrc-group>`))), /ssrc-group\[0\]\/source\[0\]@ssrc$/);
    expectMalformed(() => parseJingle(J('action="source-add" sid="s"', desc(`<rtp-hdrext xmlns="${NS.JINGLE_RTP_HDREXT}" id="0" uri="u"/>`))), /rtp-hdrext\[0\]@id$/);
  });

  it('rejects bad candidates, fingerprints and web-socket URLs', () => {
    const ti = (inner: string): Element => J('action="transport-info" sid="s"', tr(inner));
    expectMalformed(() => parseJingle(ti(cand({ port: '70000' }))), /candidate\[0\]@port$/);
    expectMalformed(() => parseJingle(ti(cand({ type: 'bogus' }))), /candidate\[0\]@type$/);
    expectMalformed(() => parseJingle(ti(cand({ ip: '1.2.3.4 5' }))), /candidate\[0\]@ip$/);
    expectMalformed(() => parseJingle(ti(cand({ priority: '4294967296' }))), /candidate\[0\]@priority$/);
    expectMalformed(() => parseJingle(ti(`<fingerprint xmlns="${NS.JINGLE_DTLS}" hash="sha-256">zz:zz</fingerprint>`)), /fingerprint\[0\]$/);
    expectMalformed(() => parseJingle(ti(`<fingerprint xmlns="${NS.JINGLE_DTLS}" hash="sha-256" setup="both">${Array(32).fill('AA').join(':')}</fingerprint>`)), /fingerprint\[0\]@setup$/);
    expectMalformed(() => parseJingle(ti(`<web-socket xmlns="${NS.COLIBRI}" url="javascript:alert(1)"/>`)), /web-socket\[0\]@url$/);
    expectMalformed(() => parseJingle(J('action="transport-info" sid="s"', tr('', 'ice-generation="-1"'))), /transport@ice-generation$/);
  });

  it('rejects a reason without a condition or with two, and a duplicated bridge-session', () => {
    expectMalformed(() => parseJingle(J('action="session-terminate" sid="s"', '<reason><text>x</text></reason>')), /reason$/);
    expectMalformed(() => parseJingle(J('action="session-terminate" sid="s"', '<reason><success/><busy/></reason>')), /reason$/);
    const bs = `<bridge-session xmlns="${NS.FOCUS}" id="a"/>`;
    expectMalformed(() => parseJingle(J('action="session-info" sid="s"', bs + bs)), /bridge-session$/);
    expectMalformed(() => parseJingle(J('action="session-info" sid="s"', `<bridge-session xmlns="${NS.FOCUS}" id="a" ice-restart="yes"/>`)), /bridge-session@ice-restart$/);
  });

  it('rejects malformed JSON sources (§4.4) and keeps a __proto__ owner as data', () => {
    const jm = (text: string): Element => J('action="source-add" sid="s"', `<json-message xmlns="${NS.JITMEET}">${text}</json-message>`);
    expectMalformed(() => parseJingle(jm('{"sources":')), /json-message$/);
    expectMalformed(() => parseJingle(jm('{"sources":[]}')), /json-message\.sources$/);
    expectMalformed(() => parseJingle(jm('{"sources":{"a":[[],[]]}}')), /sources\["a"\]$/);
    expectMalformed(() => parseJingle(jm('{"sources":{"a":[[{"s":"x"}],[],[]]}}')), /\[0\]\[0\]\.s$/);
    expectMalformed(() => parseJingle(jm('{"sources":{"a":[[{"s":4294967296}],[],[]]}}')), /\[0\]\[0\]\.s$/);
    expectMalformed(() => parseJingle(jm('{"sources":{"a":[[],[["x","1","2"]],[]]}}')), /\[1\]\[0\]\[0\]$/);
    expectMalformed(() => parseJingle(jm('{"sources":{"a":[[{"s":"1","n":5}],[],[]]}}')), /\.n$/);
    expectMalformed(() => parseJingle(jm(`{"sources":{"a":[${'['.repeat(5000)}${']'.repeat(5000)}]}}`)), /json-message/);
    const v = parseJsonSources('{"sources":{"__proto__":[[],[],[{"s":"7"}]]}}', 'j');
    expect(v.owners[0]?.owner).toBe('__proto__');
    expect(buildJsonSources(v)).toBe('{"sources":{"__proto__":[[],[],[{"s":"7"}],[]]}}');
  });
});

describe('DTLS fingerprint normalisation', () => {
  it('upper-cases for mediasoup (lower case makes its DTLS fail) and rejects non-hex', () => {
    expect(normalizeFingerprint(' ab:cd:0f ')).toBe('AB:CD:0F');
    expectMalformed(() => normalizeFingerprint('ab:cd:0g'), /fingerprint/);
    expectMalformed(() => normalizeFingerprint(''), /fingerprint/);
  });
});
