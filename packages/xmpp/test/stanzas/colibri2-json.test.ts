// The COLIBRI2 JSON form (jicofo-jvb §3.1; Jitsi's Colibri2JSONSerializer layout): every XML sample converts
// to JSON and back to the same value, the layout is Jitsi's, Jitsi-style input (bare-number sources, string
// attribute numbers) is read, and hostile JSON gets MalformedStanzaError only.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MalformedStanzaError } from '../../src/errors.ts';
import { parseConferenceModified, parseConferenceModify } from '../../src/stanzas/colibri2.ts';
import {
  conferenceModifiedFromJson, conferenceModifiedToJson, conferenceModifyFromJson, conferenceModifyToJson,
} from '../../src/stanzas/colibri2-json.ts';
import { parseXmlString, type Element } from '../../src/xml.ts';
import { expectMalformed } from './support/assert.ts';

const DIR = join(import.meta.dirname, '../data/colibri2');
const payload = (f: string): Element => parseXmlString(readFileSync(join(DIR, f), 'utf8')).getChildElements()[0] as Element;
const files = readdirSync(DIR);
const viaText = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

describe('COLIBRI2 JSON round trip', () => {
  for (const f of files.filter((x) => x.startsWith('modify-'))) {
    it(`conference-modify ${f}`, () => {
      const v = parseConferenceModify(payload(f));
      expect(conferenceModifyFromJson(viaText(conferenceModifyToJson(v)))).toEqual(v);
    });
  }
  for (const f of files.filter((x) => x.startsWith('modified-'))) {
    it(`conference-modified ${f}`, () => {
      const v = parseConferenceModified(payload(f));
      expect(conferenceModifiedFromJson(viaText(conferenceModifiedToJson(v)))).toEqual(v);
    });
  }
});

describe('COLIBRI2 JSON layout (as Jitsi writes it)', () => {
  it('conference-modified: nested ICE transport with string candidate attributes, web-sockets, feedback sources', () => {
    const json = conferenceModifiedToJson(parseConferenceModified(payload('modified-create.iq.xml')));
    const ice = {
      xmlns: 'urn:xmpp:jingle:transports:ice-udp:1', ufrag: '8f2k1lq0v9s3', pwd: 'r3mQv0Xy7cTz2bNp5kWa9dLe',
      fingerprints: [{ fingerprint: '9C:04:E1:7B:2D:68:A5:3F:C0:11:8E:D4:57:B9:06:2A:F3:C8:71:1D:94:E0:5B:A6:3C:28:DF:70:0B:E9:46:81', hash: 'sha-256', setup: 'actpass' }],
      candidates: [
        { component: '1', foundation: '1', generation: '0', id: 'c0', ip: '10.0.0.5', network: '0', port: '10000', priority: '2130706431', protocol: 'udp', type: 'host' },
        { component: '1', foundation: '2', generation: '0', id: 'c1', ip: '203.0.113.7', network: '0', port: '10000', priority: '1694498815', protocol: 'udp', type: 'srflx', 'rel-addr': '10.0.0.5', 'rel-port': '10000' },
      ],
      'web-sockets': ['wss://bridge1.meet.example:443/colibri-ws/jvb-1/4c1d2e3f/a1b2c3d4?pwd=Hk3nR8wQ2vYb5zT1mC0xLp9s'],
      'rtcp-mux': true,
    };
    expect(json).toEqual({
      endpoints: [{ id: 'a1b2c3d4', transport: { transport: ice, sctp: { port: 5000, role: 'server' } } }],
      sources: [
        { type: 'audio', id: 'jvb-a0', sources: [{ ssrc: 411312308, name: 'jvb-a0', parameters: { msid: 'mixedmslabel mixedlabelaudio0' } }] },
        { type: 'video', id: 'jvb-v0', sources: [{ ssrc: 3929652146, name: 'jvb-v0', parameters: { msid: 'mixedmslabel mixedlabelvideo0' } }] },
      ],
    });
  });

  it('conference-modify: medias with string payload-type attributes, numeric hdrext ids, "null" for a nameless parameter', () => {
    const json = conferenceModifyToJson(parseConferenceModify(payload('modify-create.iq.xml')));
    const ep = (json.endpoints as Record<string, unknown>[])[0] as Record<string, unknown>;
    const audio = (ep.medias as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect((audio['payload-types'] as unknown[])[1]).toEqual({ id: '112', name: 'red', clockrate: '48000', channels: '2', parameters: { null: '111/111' } });
    expect((audio['rtp-hdrexts'] as unknown[])[0]).toEqual({ id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' });
    expect(ep).toMatchObject({ id: 'a1b2c3d4', create: true, 'stats-id': 'Alice-x1', capabilities: ['source-names', 'ssrc-rewriting'], sources: [], transport: { 'ice-controlling': true, sctp: {} } });
    expect(json).toMatchObject({ 'meeting-id': '6f1e3b0c-2a44-4f51-9d39-0c8a2b7e5d10', create: true, 'rtcstats-enabled': false });
  });

  it('reads Jitsi-style input: bare-number sources, groups of numbers, string ids', () => {
    const v = conferenceModifyFromJson({
      'meeting-id': 'm', relays: [{ id: '10.0.0.1:4096', 'mesh-id': '2', endpoints: [{ id: 'e1', sources: [{ type: 'video', id: 'e1-v0', sources: [1, 2], 'ssrc-groups': [{ semantics: 'FID', sources: [1, 2] }] }] }] }],
    });
    expect(v.relays[0]?.endpoints?.[0]?.sources?.[0]).toEqual({ type: 'video', id: 'e1-v0', sources: [{ ssrc: 1, parameters: [] }, { ssrc: 2, parameters: [] }], ssrcGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] });
    expect(conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: [{ id: 'e', medias: [{ type: 'audio', 'payload-types': [{ id: 111, clockrate: 48000 }] }] }] }).endpoints[0]?.media[0]?.payloadTypes[0]).toMatchObject({ id: 111, clockrate: 48000 });
  });
});

describe('COLIBRI2 JSON: hostile input', () => {
  it('names the JSON path of the problem', () => {
    expectMalformed(() => conferenceModifyFromJson(null), /^conference-modify$/);
    expectMalformed(() => conferenceModifyFromJson({}), /meeting-id$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: {} }), /\.endpoints$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: [{ id: 'e', medias: [{ type: 'data' }] }] }), /medias\[0\]\.type$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: [{ id: 'e', sources: [{ type: 'audio', id: 'x', sources: [-1] }] }] }), /sources\[0\]\.sources\[0\]$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: [{ id: 'e', transport: { transport: { candidates: [{ type: 'host' }] } } }] }), /candidates\[0\]\.ip$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', create: 'maybe' }), /\.create$/);
    expectMalformed(() => conferenceModifyFromJson({ 'meeting-id': 'm', endpoints: new Array(5000).fill({ id: 'e' }) }), /\.endpoints$/);
    expectMalformed(() => conferenceModifiedFromJson({ sources: [{ type: 'video', id: 'v', 'ssrc-groups': [{ semantics: 'FID', sources: [] }] }] }), /ssrc-groups\[0\]\.sources$/);
  });

  it('3,000 seeded mutations of every sample: a value or MalformedStanzaError, nothing else', () => {
    let a = 0x1c0b2;
    const rnd = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const docs: { json: unknown; parse: (v: unknown) => unknown }[] = [
      ...files.filter((f) => f.startsWith('modify-')).map((f) => ({ json: conferenceModifyToJson(parseConferenceModify(payload(f))), parse: conferenceModifyFromJson })),
      ...files.filter((f) => f.startsWith('modified-')).map((f) => ({ json: conferenceModifiedToJson(parseConferenceModified(payload(f))), parse: conferenceModifiedFromJson })),
    ];
    const containers = (root: unknown): (Record<string, unknown> | unknown[])[] => {
      const out: (Record<string, unknown> | unknown[])[] = [];
      const stack = [root];
      for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
        if (typeof x === 'object' && x !== null) {
          out.push(x as Record<string, unknown>);
          stack.push(...(Object.values(x) as unknown[]));
        }
      }
      return out;
    };
    const deep = (): unknown => {
      let d: unknown = 1;
      for (let i = 0; i < 10_000; i++) d = [d];
      return d;
    };
    // Factories: each insertion gets its own value (shared ones would turn into cycles under later mutations).
    const WRONG: (() => unknown)[] = [
      () => null, () => 0, () => -1, () => 1.5, () => 4294967296, () => '', () => 'x', () => '1e3', () => true, () => [], () => ({}),
      () => 'A'.repeat(100_000), deep, () => JSON.parse('{"__proto__":{"id":1}}') as unknown, () => Array.from({ length: 5000 }, () => 1),
    ];
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = docs[i % docs.length] as (typeof docs)[number];
      const json = JSON.parse(JSON.stringify(doc.json)) as unknown;
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        const cs = containers(json);
        const c = cs[Math.floor(rnd() * cs.length)] as Record<string, unknown>;
        const keys = Object.keys(c);
        const key = keys.length > 0 && rnd() < 0.85 ? (keys[Math.floor(rnd() * keys.length)] as string) : 'extra';
        if (rnd() < 0.3) delete c[key];
        else c[key] = (WRONG[Math.floor(rnd() * WRONG.length)] as () => unknown)();
      }
      try {
        doc.parse(json);
        accepted += 1;
      } catch (err) {
        if (!(err instanceof MalformedStanzaError)) throw new Error(`variant ${i}: ${String(err)}`);
        rejected += 1;
      }
    }
    expect(rejected).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(100);
  });
});
