// The focus conference IQ (jitsi-client-protocol §2.1): values read from the real client's request and the
// stub focus's answer, and hostile input.
import { describe, expect, it } from 'vitest';
import { MalformedStanzaError } from '../../src/errors.ts';
import { NS } from '../../src/namespaces.ts';
import {
  buildConferenceRequest, buildConferenceResponse, focusProperty, parseConferenceRequest, parseConferenceResponse,
} from '../../src/stanzas/focus.ts';
import { parseXmlString, xml } from '../../src/xml.ts';
import { fixtureStanza, payloadOf } from './support/pick.ts';

const request = () => payloadOf(fixtureStanza('focus-conference-request'));
const response = () => payloadOf(fixtureStanza('focus-conference-response'));

function malformed(fn: () => unknown, path: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedStanzaError);
    expect((err as MalformedStanzaError).path).toMatch(path);
    return;
  }
  throw new Error('expected MalformedStanzaError');
}

describe('conference request', () => {
  it('reads room, machine-uid and the properties the client sends', () => {
    const r = parseConferenceRequest(request());
    expect(r.room).toBe('room7@conference.meet.test');
    expect(r.machineUid).toMatch(/^[0-9a-f]{32}$/);
    expect(r.token).toBeUndefined();
    expect(focusProperty(r.properties, 'visitors-version')).toBe('1');
    expect(focusProperty(r.properties, 'rtcstatsEnabled')).toBe('false');
    expect(focusProperty(r.properties, 'absent')).toBeUndefined();
  });

  it('builds a request that parses back to the same value (token and session-id included)', () => {
    const v = { room: 'r@conference.meet.test', token: 'a.b.c', sessionId: 's1', properties: [{ name: 'visitor', value: 'true' }] };
    expect(parseConferenceRequest(buildConferenceRequest(v))).toEqual(v);
  });

  it('rejects a request without room (Jicofo: bad-request), with a full JID, or an invalid JID', () => {
    const el = request();
    delete el.attrs.room;
    malformed(() => parseConferenceRequest(el), /^conference@room$/);
    el.attrs.room = 'room@conference.meet.test/nick';
    malformed(() => parseConferenceRequest(el), /@room$/);
    el.attrs.room = 'a b@conference.meet.test';
    malformed(() => parseConferenceRequest(el), /@room$/);
    el.attrs.room = `${'x'.repeat(2000)}@conference.meet.test`;
    malformed(() => parseConferenceRequest(el), /@room$/);
  });

  it('rejects the wrong element, the wrong namespace and non-elements', () => {
    malformed(() => parseConferenceRequest(xml('conference', { xmlns: 'urn:x', room: 'a@b' })), /^conference$/);
    malformed(() => parseConferenceRequest(xml('query', { xmlns: NS.FOCUS })), /^conference$/);
    malformed(() => parseConferenceRequest(null as never), /^conference$/);
    malformed(() => parseConferenceRequest('<conference/>' as never), /^conference$/);
  });

  it('rejects a property without name and an over-long token', () => {
    const el = request();
    el.c('property', { value: 'x' });
    malformed(() => parseConferenceRequest(el), /property\[2\]@name/);
    const big = request();
    big.attrs.token = 'x'.repeat(70_000);
    malformed(() => parseConferenceRequest(big), /@token$/);
  });

  it('is not fooled by prototype-named attributes', () => {
    const el = parseXmlString(`<conference xmlns="${NS.FOCUS}" room="r@c.d" __proto__="x" constructor="y"><property name="__proto__" value="1"/></conference>`);
    const v = parseConferenceRequest(el);
    expect(v.properties).toEqual([{ name: '__proto__', value: '1' }]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('conference response', () => {
  it('reads ready and focusjid (how ljm recognises the focus, §3.4)', () => {
    const r = parseConferenceResponse(response());
    expect(r).toMatchObject({ ready: true, focusJid: 'focus@focus.meet.test' });
    expect(r.room).toMatch(/^room[378]@conference\.meet\.test$/);
    expect(focusProperty(r.properties, 'authentication')).toBe('false');
  });

  it('builds ready=false with a session id and identity', () => {
    const v = { ready: false, focusJid: 'focus@auth.meet.example', sessionId: 'abc', identity: 'u1', properties: [] };
    const el = buildConferenceResponse(v);
    expect(el.attrs.ready).toBe('false');
    expect(parseConferenceResponse(el)).toEqual(v);
  });

  it('rejects a response without ready, with a non-boolean ready, or with a full focusjid', () => {
    const el = response();
    el.attrs.ready = 'yes';
    malformed(() => parseConferenceResponse(el), /@ready$/);
    delete el.attrs.ready;
    malformed(() => parseConferenceResponse(el), /@ready$/);
    const f = response();
    f.attrs.focusjid = 'focus@focus.meet.test/focus';
    malformed(() => parseConferenceResponse(f), /@focusjid$/);
  });
});
