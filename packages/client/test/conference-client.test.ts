// Unit tests of the Hummingbird test client's own logic (packages/client/src), on Node, against the real
// lib-jitsi-meet traces (fixtures copied in packages/xmpp/test/data/lib-jitsi-meet): the XML parser (with hostile
// input), Jingle → SDP (ljm's unified-plan split), source-add / source-remove, simulcast munging and the
// session-accept it sends, the XMPP framing with a scripted server.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { capsVer } from '../src/conference.js';
import {
  JingleError, addLocalMline, addRemoteSources, applySourcesMap, jingleSources, localJingleContents, mungeSimulcast, offerSdp, parseJsonSources,
  parseLocalSdp, parseOffer, removeRemoteSources, type SimulcastState,
} from '../src/jingle.js';
import { NS, clientFeatures } from '../src/ns.js';
import { XmlError, el, parseXml, type El } from '../src/xml.js';
import { XmppConnection, type WebSocketLike } from '../src/xmpp.js';

const DATA = '../../xmpp/test/data/lib-jitsi-meet/';

function trace(file: string): { direction: 'IN' | 'OUT'; xml: string }[] {
  const text = readFileSync(fileURLToPath(new URL(`${DATA}${file}`, import.meta.url)), 'utf8');
  return text
    .split('\n')
    .map((l) => /^(IN|OUT) +(<.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ direction: m[1] as 'IN' | 'OUT', xml: m[2] as string }));
}

function jingleOf(xml: string): El {
  const j = parseXml(xml).first('jingle', NS.jingle);
  if (!j) throw new Error('no jingle');
  return j;
}

const clientA = trace('jingle-sources.client-a.websocket.trace.txt');
const initiate = jingleOf(clientA.find((f) => f.direction === 'IN' && f.xml.includes('action="session-initiate"'))?.xml ?? '');
const sourceAdds = clientA.filter((f) => f.direction === 'IN' && f.xml.includes('action="source-add"')).map((f) => jingleOf(f.xml));
const realAccept = jingleOf(clientA.find((f) => f.direction === 'OUT' && f.xml.includes('action="session-accept"'))?.xml ?? '');

describe('xml', () => {
  it('parses every frame of the real traces and serializes them back to an equal tree', () => {
    let n = 0;
    for (const file of ['xmpp-only.client-a.websocket.trace.txt', 'jingle-sources.client-a.websocket.trace.txt', 'ssrc-rewriting.client-c.websocket.trace.txt']) {
      for (const f of trace(file)) {
        const e = parseXml(f.xml);
        const again = parseXml(e.toString());
        expect(again.toString()).toBe(e.toString());
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it('resolves namespaces through prefixes and inheritance', () => {
    const e = parseXml('<stream:features xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/><x/></stream:features>');
    expect(e.local).toBe('features');
    expect(e.ns).toBe('http://etherx.jabber.org/streams');
    expect(e.first('bind')?.ns).toBe(NS.bind);
    expect(e.first('x')?.ns).toBe('jabber:client');
  });

  it('unescapes entities and character references, and escapes on output', () => {
    const e = parseXml(`<a b="&quot;x&apos; &lt;&amp;&gt;">1 &lt; 2 &#x263A; &#65;</a>`);
    expect(e.attrs['b']).toBe(`"x' <&>`);
    expect(e.text()).toBe('1 < 2 ☺ A');
    expect(el('a', { b: '"<&' }, 'x<y&').toString()).toBe('<a b="&quot;&lt;&amp;">x&lt;y&amp;</a>');
  });

  const hostile: [string, string][] = [
    ['unclosed element', '<a><b></a>'],
    ['no root', '   '],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>junk'],
    ['DOCTYPE (entity expansion)', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
    ['comment', '<a><!-- c --></a>'],
    ['CDATA', '<a><![CDATA[x]]></a>'],
    ['processing instruction', '<a><?pi x?></a>'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['unterminated entity', '<a>&amp</a>'],
    ['NUL character reference', '<a>&#0;</a>'],
    ['surrogate character reference', '<a>&#xD800;</a>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['unquoted attribute', '<a x=1/>'],
    ['unterminated attribute', '<a x="1/>'],
    ['< in an attribute', '<a x="<"/>'],
    ['mismatched close', '<a></b>'],
    ['truncated', '<a x="1"'],
    ['attributes without whitespace', '<a x="1"y="2"/>'],
  ];
  for (const [what, input] of hostile) {
    it(`refuses ${what}`, () => {
      expect(() => parseXml(input)).toThrow(XmlError);
    });
  }

  it('bounds depth and length', () => {
    expect(() => parseXml(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`)).toThrow(/deeper than 64/);
    expect(() => parseXml(`<a>${'x'.repeat(2000)}</a>`, { maxLength: 1000 })).toThrow(/longer than 1000/);
    expect(parseXml(`${'<a>'.repeat(60)}${'</a>'.repeat(60)}`).local).toBe('a');
  });
});

describe('Jingle → remote SDP (ljm unified-plan mapping, §4.2)', () => {
  it('reads the real session-initiate: transport, colibri-ws URL, feedback m-lines first', () => {
    const s = parseOffer(initiate);
    expect(s.sid).toBe('3499a8baf205');
    expect(s.transport.webSocket).toBe('ws://127.0.0.1:8766/colibri-ws/mock/conf1/eacff97a?pwd=x');
    expect(s.transport.fingerprint.setup).toBe('actpass');
    expect(s.transport.candidates).toHaveLength(1);
    expect(s.bridgeSessionId).toBe('bs-3499a8baf205');
    expect(s.mlines.map((m) => [m.mid, m.kind, m.role, m.source?.ssrc])).toEqual([
      ['0', 'audio', 'feedback', 1111],
      ['1', 'video', 'feedback', 2222],
    ]);
    expect(s.media.video.codecs.map((c) => c.name)).toEqual(['VP8', 'rtx']);
  });

  it('renders an offer Chrome can take: BUNDLE, one fingerprint + setup per m-line, msid on every source, rtcp-mux', () => {
    const sdp = offerSdp(parseOffer(initiate));
    expect(sdp).toContain('a=group:BUNDLE 0 1\r\n');
    expect(sdp).toContain('a=ssrc:1111 msid:mixedmslabel mixedlabelaudio0\r\n');
    expect(sdp).toContain('a=fmtp:96 apt=100\r\n');
    expect(sdp).toContain('a=candidate:1 1 udp 2130706431 127.0.0.1 10000 typ host generation 0\r\n');
    expect(sdp.match(/a=setup:/g)).toHaveLength(2);
    expect(sdp.match(/a=rtcp-mux/g)).toHaveLength(2);
    expect(sdp.match(/a=sendrecv/g)).toHaveLength(2);
    expect(sdp).not.toContain('a=ice-lite');
  });

  it('source-add (JSON): one sendonly m-line per source with its FID partner; source-remove rejects it, mids never reused', () => {
    const s = parseOffer(initiate);
    const added = addRemoteSources(s, jingleSources(sourceAdds[0] as El));
    expect(added.map((a) => [a.owner, a.name, a.kind, a.ssrc, a.rtx])).toEqual([
      ['49d082b5', '49d082b5-v0', 'video', 3198353046, 1649836403],
      ['49d082b5', '49d082b5-a0', 'audio', 3313999992, undefined],
    ]);
    // the same source again is not added twice
    expect(addRemoteSources(s, jingleSources(sourceAdds[0] as El))).toHaveLength(0);
    let sdp = offerSdp(s);
    expect(sdp).toContain('a=group:BUNDLE 0 1 2 3\r\n');
    expect(sdp).toContain('a=ssrc-group:FID 3198353046 1649836403\r\n');
    expect(sdp.match(/a=sendonly/g)).toHaveLength(2);
    removeRemoteSources(s, [3198353046]);
    addRemoteSources(s, jingleSources(sourceAdds[1] as El));
    sdp = offerSdp(s);
    expect(sdp).toContain('m=video 0 UDP/TLS/RTP/SAVPF');
    expect(sdp).toContain('a=group:BUNDLE 0 1 3 4 5\r\n');
    expect(s.mlines.map((m) => m.mid)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(sdp).not.toContain('a=ssrc:3198353046');
  });

  it('XML sources: owner from ssrc-info (the resource of a JID), FID pairs, desktop videoType', () => {
    const j = parseXml(`<jingle xmlns="${NS.jingle}" action="source-add" sid="x"><content name="video"><description xmlns="${NS.rtp}" media="video">
      <source xmlns="${NS.ssma}" ssrc="10" name="ab-v1" videoType="desktop"><parameter name="msid" value="s t"/><ssrc-info xmlns="${NS.jitmeet}" owner="room@conference.x/ab"/></source>
      <source xmlns="${NS.ssma}" ssrc="11" name="ab-v1" videoType="desktop"><parameter name="msid" value="s t"/></source>
      <source xmlns="${NS.ssma}" ssrc="12x"/>
      <ssrc-group xmlns="${NS.ssma}" semantics="FID"><source ssrc="10"/><source ssrc="11"/></ssrc-group>
    </description></content></jingle>`);
    expect(jingleSources(j)).toEqual([{ kind: 'video', ssrc: 10, rtx: 11, owner: 'ab', name: 'ab-v1', msid: 's t', videoType: 'desktop' }]);
  });

  it('hostile JSON sources give a JingleError or are dropped (§4.4: SSRCs outside 0..2^32-1)', () => {
    expect(() => parseJsonSources('{')).toThrow(JingleError);
    expect(() => parseJsonSources('7')).toThrow(JingleError);
    expect(() => parseJsonSources('{"sources":[]}')).toThrow(JingleError);
    expect(() => parseJsonSources('{"sources":{"a":5}}')).toThrow(JingleError);
    expect(() => parseJsonSources('{"sources":{"a":[7]}}')).toThrow(JingleError);
    expect(() => parseJsonSources('{"sources":{"a":[[null]]}}')).toThrow(JingleError);
    expect(parseJsonSources('{"sources":{"a":[[{"s":"99999999999"},{"s":"-1"},{"s":"1e3"}],[],[{"s":"5","n":"a-a0"}]]}}')).toEqual([
      { kind: 'audio', ssrc: 5, owner: 'a', name: 'a-a0' },
    ]);
    expect(parseJsonSources('{}')).toEqual([]);
  });

  it('ssrc-rewriting maps (§4.6): new SSRCs become sources with rtx, known ones are re-mapped, junk is skipped', () => {
    const s = parseOffer(initiate);
    const video = {
      colibriClass: 'VideoSourcesMap',
      mappedSources: [
        { source: 'bb-v0', owner: 'bb', ssrc: 100002, rtx: 100003, videoType: 'CAMERA' },
        { source: 'cc-v1', owner: 'cc', ssrc: '100010', rtx: '100011', videoType: 'DESKTOP' },
        { source: 'x', owner: 'x', ssrc: 'abc' }, { ssrc: -4 }, null, 7, { ssrc: 2 ** 33 },
      ],
    };
    const first = applySourcesMap(s, video, 0);
    expect(first.added.map((a) => [a.owner, a.name, a.ssrc, a.rtx, a.videoType, a.msid])).toEqual([
      ['bb', 'bb-v0', 100002, 100003, 'camera', 'remote-video-1 remote-video-1'],
      ['cc', 'cc-v1', 100010, 100011, 'desktop', 'remote-video-2 remote-video-2'],
    ]);
    const audio = applySourcesMap(s, { colibriClass: 'AudioSourcesMap', mappedSources: [{ source: 'bb-a0', owner: 'bb', ssrc: 100000 }] }, first.counter);
    expect(audio.added.map((a) => [a.kind, a.ssrc, a.rtx])).toEqual([['audio', 100000, undefined]]);
    // The bridge re-uses a slot for another endpoint: the same m-line, a new owner.
    const again = applySourcesMap(s, { colibriClass: 'VideoSourcesMap', mappedSources: [{ source: 'dd-v0', owner: 'dd', ssrc: 100002, rtx: 100003 }] }, audio.counter);
    expect(again.added).toEqual([]);
    expect(s.mlines.find((m) => m.source?.ssrc === 100002)?.source).toMatchObject({ owner: 'dd', name: 'dd-v0' });
    expect(applySourcesMap(s, { colibriClass: 'VideoSourcesMap', mappedSources: 'x' }, 0).added).toEqual([]);
    expect(applySourcesMap(s, { colibriClass: 'EndpointMessage' }, 0).added).toEqual([]);
    expect(offerSdp(s)).toContain('a=ssrc-group:FID 100010 100011\r\n');
  });

  it('a session-initiate without transport or without audio/video is refused', () => {
    expect(() => parseOffer(parseXml(`<jingle xmlns="${NS.jingle}" sid="s"><content name="audio"><description xmlns="${NS.rtp}" media="audio"/></content></jingle>`))).toThrow(/transport/);
    const noVideo = initiate.toString().replace(/<content creator="initiator" senders="both" name="video">.*<\/content><group/, '<group');
    expect(() => parseOffer(jingleOf(`<iq>${noVideo}</iq>`))).toThrow(/audio and video/);
    const badPort = initiate.toString().replace('port="10000"', 'port="99999"');
    expect(() => parseOffer(jingleOf(`<iq>${badPort}</iq>`))).toThrow(JingleError);
  });
});

// A Chrome-like answer to the session-initiate above (the shape Chromium 156 produces; values are test data).
const ANSWER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:mYIJ', 'a=ice-pwd:RT6YHcVcrAeeMEVF8o+4JNa1',
  'a=fingerprint:sha-256 6E:C2:7E:C8', 'a=setup:active', 'a=mid:0', 'a=extmap:10 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=sendrecv', 'a=msid:s1 a1', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=ssrc:2008787768 cname:c1', 'a=ssrc:2008787768 msid:s1 a1',
  'm=video 9 UDP/TLS/RTP/SAVPF 100 96', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:mYIJ', 'a=ice-pwd:RT6YHcVcrAeeMEVF8o+4JNa1',
  'a=fingerprint:sha-256 6E:C2:7E:C8', 'a=setup:active', 'a=mid:1', 'a=extmap:4 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=sendrecv', 'a=msid:s1 v1', 'a=rtcp-mux', 'a=rtpmap:100 VP8/90000', 'a=rtcp-fb:100 ccm fir', 'a=rtcp-fb:100 nack',
  'a=rtcp-fb:100 nack pli', 'a=rtcp-fb:100 transport-cc', 'a=rtpmap:96 rtx/90000', 'a=fmtp:96 apt=100',
  'a=ssrc-group:FID 249138415 324133172', 'a=ssrc:249138415 cname:c1', 'a=ssrc:249138415 msid:s1 v1', 'a=ssrc:324133172 cname:c1', 'a=ssrc:324133172 msid:s1 v1',
  '',
].join('\r\n');

describe('local side: simulcast munging and session-accept (§4.3)', () => {
  it('adds two SIM layers with their RTX, low → high, stable across renegotiations', () => {
    const state: SimulcastState = new Map();
    const munged = mungeSimulcast(ANSWER, new Set(['1']), state);
    const local = parseLocalSdp(munged);
    const video = local.sections[1];
    expect(video?.ssrcs).toHaveLength(6);
    const sim = video?.groups.find((g) => g.semantics === 'SIM');
    expect(sim?.ssrcs[0]).toBe(249138415);
    expect(sim?.ssrcs).toHaveLength(3);
    expect(video?.groups.filter((g) => g.semantics === 'FID')).toHaveLength(3);
    expect(munged.match(/a=ssrc:\d+ cname:c1/g)).toHaveLength(7);
    expect(mungeSimulcast(ANSWER, new Set(['1']), state)).toBe(munged);
    // audio and other mids untouched
    expect(local.sections[0]?.groups).toEqual([]);
    expect(mungeSimulcast(ANSWER, new Set(['7']), new Map())).toBe(ANSWER);
  });

  it('session-accept contents have the structure the real client sends', () => {
    const local = parseLocalSdp(mungeSimulcast(ANSWER, new Set(['1']), new Map()));
    const contents = localJingleContents(local, [
      { mid: '0', name: 'eacff97a-a0', msid: 'eacff97a-audio-0-1 t-1' },
      { mid: '1', name: 'eacff97a-v0', videoType: 'camera', msid: 'eacff97a-video-0-1 u-1' },
    ], { withTransport: true });
    const ours = el('jingle', { xmlns: NS.jingle }, ...contents);
    const shape = (j: El): string[] => {
      const out = new Set<string>();
      const walk = (e: El, path: string): void => {
        const p = `${path}/${e.local}@${e.ns ?? ''}`;
        out.add(`${p}[${Object.keys(e.attrs).filter((k) => k !== 'xmlns').sort().join(',')}]`);
        for (const c of e.elements()) walk(c, p);
      };
      for (const c of j.all('content')) walk(c, '');
      return [...out].sort();
    };
    expect(shape(ours)).toEqual(shape(realAccept));
    const video = contents[1]?.first('description', NS.rtp);
    expect(video?.all('source', NS.ssma).every((s) => s.attrs['name'] === 'eacff97a-v0' && s.attrs['videoType'] === 'camera')).toBe(true);
    expect(video?.all('ssrc-group', NS.ssma).map((g) => g.attrs['semantics'])).toEqual(['FID', 'SIM', 'FID', 'FID']);
    expect(contents[0]?.first('transport', NS.ice)?.first('fingerprint', NS.dtls)?.attrs['setup']).toBe('active');
  });

  it('source-add for a screen share carries only the new source, in a video content without transport', () => {
    const s = parseOffer(initiate);
    const line = addLocalMline(s, 'video');
    expect(line.mid).toBe('2');
    expect(offerSdp(s)).toMatch(/a=mid:2\r\na=recvonly/);
    const answer = ANSWER.replace('a=mid:1', 'a=mid:2');
    const local = parseLocalSdp(mungeSimulcast(answer, new Set(['2']), new Map()));
    const contents = localJingleContents(local, [{ mid: '2', name: 'ep-v1', videoType: 'desktop', msid: 'ep-video-1-1 d-1' }], { withTransport: false });
    expect(contents).toHaveLength(1);
    expect(contents[0]?.attrs['name']).toBe('video');
    expect(contents[0]?.first('transport')).toBeUndefined();
    expect(contents[0]?.first('description')?.all('source').map((x) => x.attrs['videoType'])).toEqual(Array(6).fill('desktop'));
  });
});

describe('features and caps (§1.5)', () => {
  it('answers the same disco#info features as the real client', () => {
    const reply = trace('xmpp-only.client-a.websocket.trace.txt').find((f) => f.direction === 'OUT' && f.xml.includes('disco#info" node='));
    const real = parseXml(reply?.xml ?? '').first('query')?.all('feature').map((f) => f.attrs['var']);
    expect(clientFeatures()).toEqual(real);
    expect(clientFeatures({ ssrcRewriting: true })).toContain('http://jitsi.org/ssrc-rewriting-1');
    expect(clientFeatures({ xmlSources: true })).not.toContain('http://jitsi.org/json-encoded-sources');
  });

  it('computes a XEP-0115 ver', async () => {
    const ver = await capsVer(clientFeatures());
    expect(ver).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    expect(await capsVer([...clientFeatures()].reverse())).toBe(ver);
    expect(await capsVer(clientFeatures({ ssrcRewriting: true }))).not.toBe(ver);
  });
});

/** A scripted RFC 7395 server on a fake WebSocket. */
function fakeServer(script: (frame: El, reply: (xml: string) => void) => void): { factory: (url: string) => WebSocketLike; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    factory: (url: string) => {
      urls.push(url);
      const ws: WebSocketLike = {
        readyState: 1,
        onopen: null, onclose: null, onerror: null, onmessage: null,
        send(data: string) {
          const frame = parseXml(data);
          queueMicrotask(() => script(frame, (xml) => ws.onmessage?.({ data: xml })));
        },
        close() {
          ws.onclose?.({ code: 1000, reason: '' });
        },
      };
      setTimeout(() => ws.onopen?.({}), 0);
      return ws;
    },
  };
}

describe('XMPP over WebSocket (RFC 7395, §1.1)', () => {
  const FEATURES_SASL = `<stream:features xmlns:stream="http://etherx.jabber.org/streams"><mechanisms xmlns="${NS.sasl}"><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>`;
  const FEATURES_BIND = `<stream:features xmlns:stream="http://etherx.jabber.org/streams"><bind xmlns="${NS.bind}"/></stream:features>`;
  const OPEN = `<open xmlns="${NS.framing}" from="meet.x" id="1" version="1.0"/>`;

  it('opens, authenticates anonymously with the token on the URL, binds', async () => {
    let opens = 0;
    const sent: string[] = [];
    const server = fakeServer((f, reply) => {
      sent.push(f.toString());
      if (f.local === 'open') {
        reply(OPEN);
        reply(opens++ === 0 ? FEATURES_SASL : FEATURES_BIND);
      } else if (f.local === 'auth') reply(`<success xmlns="${NS.sasl}"/>`);
      else if (f.local === 'iq') reply(`<iq xmlns="jabber:client" type="result" id="${f.attrs['id'] ?? ''}"><bind xmlns="${NS.bind}"><jid>abc@meet.x/r1</jid></bind></iq>`);
    });
    const c = new XmppConnection({ url: 'ws://h/xmpp-websocket', domain: 'meet.x', token: 'a.b c', webSocket: server.factory });
    expect(await c.connect()).toBe('abc@meet.x/r1');
    expect(server.urls).toEqual(['ws://h/xmpp-websocket?token=a.b%20c']);
    expect(sent[0]).toBe(`<open xmlns="${NS.framing}" to="meet.x" version="1.0"/>`);
    expect(sent[1]).toBe(`<auth xmlns="${NS.sasl}" mechanism="ANONYMOUS"/>`);
  });

  it('reports a SASL failure with its text, and a server without ANONYMOUS', async () => {
    const failing = fakeServer((f, reply) => {
      if (f.local === 'open') {
        reply(OPEN);
        reply(FEATURES_SASL);
      } else reply(`<failure xmlns="${NS.sasl}"><not-allowed/><text>token expired</text></failure>`);
    });
    await expect(new XmppConnection({ url: 'ws://h', domain: 'd', webSocket: failing.factory }).connect()).rejects.toThrow(/not-allowed \(token expired\)/);
    const plainOnly = fakeServer((f, reply) => {
      if (f.local === 'open') {
        reply(OPEN);
        reply(FEATURES_SASL.replace('ANONYMOUS', 'PLAIN'));
      }
    });
    await expect(new XmppConnection({ url: 'ws://h', domain: 'd', webSocket: plainOnly.factory }).connect()).rejects.toThrow(/no SASL ANONYMOUS/);
  });

  it('IQ errors and timeouts reject; a garbage frame closes the connection', async () => {
    let opens = 0;
    const server = fakeServer((f, reply) => {
      if (f.local === 'open') {
        reply(OPEN);
        reply(opens++ === 0 ? FEATURES_SASL : FEATURES_BIND);
      } else if (f.local === 'auth') reply(`<success xmlns="${NS.sasl}"/>`);
      else if (f.first('bind')) reply(`<iq type="result" id="${f.attrs['id'] ?? ''}"><bind xmlns="${NS.bind}"><jid>a@d/r</jid></bind></iq>`);
      else if (f.first('ping')) reply(`<iq type="error" id="${f.attrs['id'] ?? ''}"><error type="cancel"><service-unavailable xmlns="${NS.stanzas}"/></error></iq>`);
      else if (f.first('query')) reply('<iq type="result" id="x"><a></iq>');
    });
    const c = new XmppConnection({ url: 'ws://h', domain: 'd', webSocket: server.factory, iqTimeoutMs: 200 });
    let closed = '';
    c.onClose = (r) => (closed = r);
    await c.connect();
    await expect(c.iq(el('iq', { type: 'get' }, el('ping', { xmlns: NS.ping })))).rejects.toThrow(/service-unavailable/);
    await expect(c.iq(el('iq', { type: 'get' }, el('vcard')))).rejects.toThrow(/timed out/);
    await expect(c.iq(el('iq', { type: 'get' }, el('query', { xmlns: NS.discoInfo })))).rejects.toThrow(/connection closed/);
    expect(closed).toMatch(/unparsable frame/);
  });
});
