// The focus's Jingle builders (jitsi-client-protocol §4.2, §4.4): a session-initiate with the same element
// tree the real client accepted in the traces, and JSON source-add text identical to the traces'.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RtpCapabilities } from 'mediasoup/types';
import { describe, expect, it } from 'vitest';
import { MappingError, consumerSources, iceUdpTransportFromMediasoup } from '../../src/mapping/mediasoup.ts';
import { feedbackSource, jsonSourcesFor, sessionInitiate, type OwnedSources } from '../../src/mapping/session.ts';
import { buildJsonSources, jsonSourcesToRtp } from '../../src/stanzas/jingle-json.ts';
import { buildJingle, parseJingle } from '../../src/stanzas/jingle.ts';
import type { Element } from '../../src/xml.ts';
import { fixtureStanza, payloadOf } from '../stanzas/support/pick.ts';

const routerCaps = JSON.parse(readFileSync(join(import.meta.dirname, '../data/mediasoup-router-rtp-capabilities.json'), 'utf8')) as RtpCapabilities;
const transport = iceUdpTransportFromMediasoup({
  iceParameters: { usernameFragment: 'uf', password: 'p'.repeat(24) },
  iceCandidates: [{ foundation: 'udpcandidate', priority: 1076302079, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'udp', port: 40000, type: 'host' }],
  dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('0a').join(':') }] },
}, { webSocketUrl: 'ws://127.0.0.1:9000/colibri-ws/b/c/e?pwd=s' });
const base = {
  sid: 's1', initiator: 'focus@focus.meet.test/focus', routerCaps, midMode: 'consumer-mid' as const, transport,
  feedbackSsrcs: { audio: 1111, video: 2222 }, codecFilter: (c: { mimeType: string }) => c.mimeType !== 'video/H264',
  bridgeSession: { id: 'bs-s1', region: 'local' },
};

/** Element paths with their attribute names, values dropped, duplicates merged: the "shape" of a tree. */
function shape(el: Element, prefix = ''): Set<string> {
  const out = new Set<string>();
  const path = `${prefix}/${el.getName()}`;
  out.add(`${path}[${Object.keys(el.attrs).filter((a) => a !== 'xmlns').sort().join(',')}]{${el.getNS() ?? ''}}`);
  for (const c of el.getChildElements()) for (const s of shape(c, path)) out.add(s);
  return out;
}

describe('sessionInitiate', () => {
  it('has exactly the element/attribute shape of the session-initiate the real client accepted (bar the ignored maxptime)', () => {
    const ours = shape(buildJingle(sessionInitiate({ ...base, remoteJson: { owners: [] } })));
    const theirs = shape(payloadOf(fixtureStanza('jingle', (t) => t.includes('action="session-initiate"'))));
    const ignored = (s: string): boolean => s.startsWith('/jingle/content/description[maxptime,media]');
    expect([...ours].filter((s) => !theirs.has(s))).toEqual([]);
    expect([...theirs].filter((s) => !ours.has(s) && !ignored(s))).toEqual([]);
  });

  it('puts the feedback source first, remote sources after, the transport in every content, BUNDLE over all', () => {
    const remote = consumerSources({ codecs: [], encodings: [{ ssrc: 5000, rtx: { ssrc: 5001 } }], mid: 'r0' }, { owner: 'ab12cd34', name: 'ab12cd34-v0', msid: 'm t', midMode: 'consumer-mid' });
    const j = sessionInitiate({ ...base, remote: { video: remote } });
    const video = j.contents[1]?.description;
    expect(video?.sources.map((s) => [s.ssrc, s.owner])).toEqual([[2222, 'jvb'], [5000, 'ab12cd34'], [5001, 'ab12cd34']]);
    expect(video?.sources[0]).toEqual(feedbackSource('video', 2222));
    expect(j.contents.every((c) => c.transport === transport)).toBe(true);
    expect(j.groups).toEqual([{ semantics: 'BUNDLE', contents: ['audio', 'video'] }]);
    expect(parseJingle(buildJingle(j))).toEqual(j);
  });

  it('refuses SIM groups for receivers, more than one fingerprint, and no media', () => {
    const sim = { sources: [], ssrcGroups: [{ semantics: 'SIM', ssrcs: [1, 2, 3] }] };
    expect(() => sessionInitiate({ ...base, remote: { video: sim } })).toThrow(MappingError);
    const two = { ...transport, fingerprints: [...transport.fingerprints, ...transport.fingerprints] };
    expect(() => sessionInitiate({ ...base, transport: two })).toThrow(MappingError);
    expect(() => sessionInitiate({ ...base, media: [] })).toThrow(MappingError);
  });
});

describe('jsonSourcesFor', () => {
  it('rebuilds the exact JSON sources text of the traces from per-owner sources', () => {
    // The stub focus sent a newcomer the existing sources of two owners inside its session-initiate.
    const el = payloadOf(fixtureStanza('jingle', (t) => t.includes('"eacff97a":[') && t.includes('"49d082b5":[')));
    const original = el.getChildText('json-message') ?? '';
    const parsed = parseJingle(el).jsonSources ?? { owners: [] };
    const entries: OwnedSources[] = parsed.owners.flatMap((o) => {
      const rtp = jsonSourcesToRtp({ owners: [o] });
      return [
        { owner: o.owner, media: 'video' as const, ...rtp.video },
        { owner: o.owner, media: 'audio' as const, ...rtp.audio },
      ];
    });
    expect(buildJsonSources(jsonSourcesFor(entries))).toBe(original);
  });

  it('marks desktop sources and refuses anything but FID groups', () => {
    const json = jsonSourcesFor([{ owner: 'a', media: 'video', sources: [{ ssrc: 9, name: 'a-v1', videoType: 'desktop', parameters: [] }], ssrcGroups: [] }]);
    expect(buildJsonSources(json)).toBe('{"sources":{"a":[[{"s":"9","n":"a-v1","v":"d"}],[],[],[]]}}');
    expect(() => jsonSourcesFor([{ owner: 'a', media: 'video', sources: [], ssrcGroups: [{ semantics: 'SIM', ssrcs: [1, 2] }] }])).toThrow(MappingError);
  });
});
