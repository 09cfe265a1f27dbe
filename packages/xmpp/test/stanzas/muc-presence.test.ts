// MUC presence with Jitsi's extensions (jitsi-client-protocol §3.2–3.4, §10).
import { describe, expect, it } from 'vitest';
import { NS } from '../../src/namespaces.ts';
import { buildMucPresence, hasStatus, parseMucPresence, type MucPresence } from '../../src/stanzas/muc-presence.ts';
import { parseXmlString, xml, type Element } from '../../src/xml.ts';
import { expectMalformed } from './support/assert.ts';
import { fixtureStanza } from './support/pick.ts';

const join = () => fixtureStanza('muc-presence', (t) => t.includes('xmlns="http://jabber.org/protocol/muc"'));
const withSources = () => fixtureStanza('muc-presence', (t) => t.includes('"muted":false') && t.includes('muc#user'));
const focusSelf = () => fixtureStanza('muc-presence', (t) => t.includes('/focus"') && t.includes('code="110"'));
const p = (inner: string, attrs = 'from="r@conference.meet.test/ab12cd34"'): Element => parseXmlString(`<presence xmlns="jabber:client" ${attrs}>${inner}</presence>`);

describe('MUC presence: values', () => {
  it('reads the join presence the client sends (§3.2)', () => {
    const v = parseMucPresence(join());
    expect(v.join).toEqual({});
    expect(v.to).toMatch(/^room[378]@conference\.meet\.test\/[0-9a-f]{8}$/);
    expect(v.statsId).toBeTruthy();
    expect(v.caps).toMatchObject({ hash: 'sha-1', node: 'https://jitsi.org/jitsi-meet' });
    expect(v.sourceInfo).toEqual([]);
    expect(v.codecList).toEqual(['av1', 'vp9', 'vp8', 'h264']);
    expect(v.nick).toMatch(/^Tester [ABC]$/);
  });

  it('reads SourceInfo after session-accept and the occupant item', () => {
    const v = parseMucPresence(withSources());
    expect(v.sourceInfo?.map((s) => [s.name.slice(-3), s.muted])).toEqual([['-a0', false], ['-v0', false]]);
    expect(v.user?.items[0]).toMatchObject({ role: 'participant', affiliation: 'none' });
    expect(v.user?.items[0]?.jid).toMatch(/@meet\.test\//);
  });

  it('reads the focus self-presence (status 110, 201 on creation) and keeps occupant-id as an extension', () => {
    const v = parseMucPresence(focusSelf());
    expect(hasStatus(v, 110)).toBe(true);
    expect(v.user?.items[0]).toEqual({ role: 'moderator', jid: 'focus@focus.meet.test/focus', affiliation: 'owner' });
    expect(v.extensions.map((e) => e.getName())).toEqual(['occupant-id']);
  });

  it('reads legacy mute elements of older clients (§10) and an unavailable presence with status text', () => {
    const v = parseMucPresence(p('<audiomuted>true</audiomuted><videomuted>false</videomuted><videoType>camera</videoType>'));
    expect(v).toMatchObject({ audioMuted: true, videoMuted: false, videoType: 'camera' });
    const u = parseMucPresence(p('<status>gone</status><x xmlns="http://jabber.org/protocol/muc#user"><item role="none" affiliation="none"/><destroy jid="alt@c.d"><reason>bye</reason></destroy></x>', 'type="unavailable"'));
    expect(u).toMatchObject({ type: 'unavailable', status: 'gone', user: { destroy: { jid: 'alt@c.d', reason: 'bye' } } });
  });

  it('builds the focus presence with conference-properties and a join with password, and they parse back', () => {
    const v: MucPresence = {
      to: 'room1@conference.meet.example/focus',
      join: { password: 's3cret' },
      conferenceProperties: [{ key: 'bridge-count', value: '1' }],
      features: ['https://jitsi.org/meet/e2ee'],
      extensions: [xml('jitsi_participant_region', {}, 'eu')],
    };
    const el = buildMucPresence(v);
    expect(el.getChild('x', NS.MUC)?.getChildText('password')).toBe('s3cret');
    const back = parseMucPresence(el);
    expect({ ...back, extensions: back.extensions.map(String) }).toEqual({ ...v, extensions: v.extensions.map(String) });
  });
});

describe('MUC presence: hostile input', () => {
  it('rejects SourceInfo that is not a JSON object of objects, or has mistyped fields', () => {
    expectMalformed(() => parseMucPresence(p('<SourceInfo>{"a":</SourceInfo>')), /SourceInfo$/);
    expectMalformed(() => parseMucPresence(p('<SourceInfo>[1,2]</SourceInfo>')), /SourceInfo$/);
    expectMalformed(() => parseMucPresence(p('<SourceInfo>{"x-v0":3}</SourceInfo>')), /SourceInfo\["x-v0"\]$/);
    expectMalformed(() => parseMucPresence(p('<SourceInfo>{"x-v0":{"muted":"yes"}}</SourceInfo>')), /\.muted$/);
    expectMalformed(() => parseMucPresence(p('<SourceInfo>{"x-v0":{"videoType":1}}</SourceInfo>')), /\.videoType$/);
    const many = JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`s${i}`, {}])));
    expectMalformed(() => parseMucPresence(p(`<SourceInfo>${many}</SourceInfo>`)), /SourceInfo$/);
  });

  it('does not let a __proto__ source name pollute anything', () => {
    const v = parseMucPresence(p('<SourceInfo>{"__proto__":{"muted":true}}</SourceInfo>'));
    expect(v.sourceInfo).toEqual([{ name: '__proto__', muted: true }]);
    expect(({} as { muted?: unknown }).muted).toBeUndefined();
    const rebuilt = buildMucPresence(v).getChildText('SourceInfo');
    expect(rebuilt).toBe('{"__proto__":{"muted":true}}');
  });

  it('rejects duplicates of single-valued children', () => {
    expectMalformed(() => parseMucPresence(p('<nick xmlns="http://jabber.org/protocol/nick">a</nick><nick xmlns="http://jabber.org/protocol/nick">b</nick>')), /nick$/);
    expectMalformed(() => parseMucPresence(p('<stats-id>a</stats-id><stats-id>b</stats-id>')), /stats-id$/);
  });

  it('rejects bad status codes, roles, affiliations, caps and legacy mute values', () => {
    const x = (inner: string) => p(`<x xmlns="http://jabber.org/protocol/muc#user">${inner}</x>`);
    expectMalformed(() => parseMucPresence(x('<status code="abc"/>')), /status@code$/);
    expectMalformed(() => parseMucPresence(x('<status code="99"/>')), /status@code$/);
    expectMalformed(() => parseMucPresence(x('<item role="king"/>')), /item@role$/);
    expectMalformed(() => parseMucPresence(x('<item affiliation="god"/>')), /item@affiliation$/);
    expectMalformed(() => parseMucPresence(p('<c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n"/>')), /c@ver$/);
    expectMalformed(() => parseMucPresence(p('<audiomuted>maybe</audiomuted>')), /audiomuted$/);
    expectMalformed(() => parseMucPresence(p('', 'type="chat"')), /presence@type$/);
  });

  it('bounds the number of extension elements and the size of texts', () => {
    expectMalformed(() => parseMucPresence(p('<e/>'.repeat(300))), /^presence$/);
    expectMalformed(() => parseMucPresence(p(`<nick xmlns="http://jabber.org/protocol/nick">${'n'.repeat(70_000)}</nick>`)), /nick$/);
  });

  it('rejects anything that is not a presence', () => {
    expectMalformed(() => parseMucPresence(xml('message', {})), /^presence$/);
    expectMalformed(() => parseMucPresence(undefined as never), /^presence$/);
  });
});
