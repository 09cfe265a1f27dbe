import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Element, NS, parseXmlString } from '@hummingbird/xmpp';
import { describe, expect, it } from 'vitest';
import { CapsCache, capsMatch, capsVerificationString } from '../src/caps.js';

// The real client's disco#info answer and caps from the lib-jitsi-meet trace (xmpp-only run, client A).
const trace = readFileSync(fileURLToPath(new URL('../../../packages/xmpp/test/data/lib-jitsi-meet/xmpp-only.client-a.websocket.trace.txt', import.meta.url)), 'utf8');
const answerLine = trace.split('\n').find((l) => l.startsWith('OUT <iq type="result"') && l.includes('disco#info') && l.includes('jitsi-meet#'));
const query = (parseXmlString((answerLine ?? '').slice(4))).getChild('query', NS.DISCO_INFO) as Element;
const caps = { hash: 'sha-1', node: 'https://jitsi.org/jitsi-meet', ver: 'dtzK/3xhISaXUMVg59IpXxdvKyQ=' };

describe('XEP-0115 caps (Jicofo caches features by caps)', () => {
  it('the real client answer hashes to the ver it advertises', () => {
    expect(answerLine).toBeDefined();
    expect(capsMatch(caps, query)).toBe(true);
  });

  it('caches only verified answers: a client cannot poison the cache for others', () => {
    const cache = new CapsCache();
    const forged = new Element('query', { xmlns: NS.DISCO_INFO });
    forged.cnode(new Element('feature', { var: 'urn:xmpp:jingle:apps:rtp:audio' }));
    expect(cache.offer(caps, forged, new Set(['urn:xmpp:jingle:apps:rtp:audio']))).toBe(false);
    expect(cache.get(caps)).toBeUndefined();
    expect(cache.offer({ ...caps, hash: 'md5' }, query, new Set())).toBe(false);
    expect(cache.offer(caps, query, new Set(['x']))).toBe(true);
    expect(cache.get(caps)).toEqual(new Set(['x']));
  });

  it('builds the §5.1 string with identities and forms, and refuses duplicates', () => {
    const q = parseXmlString(
      `<query xmlns="${NS.DISCO_INFO}"><identity category="client" type="pc" name="E"/><feature var="b"/><feature var="a"/>` +
        `<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE"><value>urn:t</value></field><field var="z"><value>2</value><value>1</value></field></x></query>`,
    );
    expect(capsVerificationString(q)).toBe('client/pc//E<a<b<urn:t<z<1<2<');
    const dup = parseXmlString(`<query xmlns="${NS.DISCO_INFO}"><feature var="a"/><feature var="a"/></query>`);
    expect(capsVerificationString(dup)).toBeUndefined();
  });
});
