// Acceptance (issue 3): every stanza of the lib-jitsi-meet traces that belongs to our protocols parses to a
// typed value and builds back to an equivalent element. The whole fixture set is walked; every entry is
// classified, and the counts per kind are pinned, so a stanza that stops being recognised fails here.
import { createElement as esmCreateElement } from 'ltx';
import { describe, expect, it } from 'vitest';
import { buildConferenceRequest, buildConferenceResponse, parseConferenceRequest, parseConferenceResponse } from '../../src/stanzas/focus.ts';
import { buildServicesRequest, buildServicesResponse, parseServicesRequest, parseServicesResponse } from '../../src/stanzas/extdisco.ts';
import { buildJingle, parseJingle } from '../../src/stanzas/jingle.ts';
import { buildMucPresence, parseMucPresence } from '../../src/stanzas/muc-presence.ts';
import { buildBridgeStats, parseBridgeStats } from '../../src/stanzas/brewery.ts';
import { buildConferenceModified, buildConferenceModify, parseConferenceModified, parseConferenceModify } from '../../src/stanzas/colibri2.ts';
import { NS } from '../../src/namespaces.ts';
import { Element, parseXmlString, xml } from '../../src/xml.ts';
import { allFixtureEntries, fixtureFiles, type FixtureEntry } from '../data/fixtures.ts';
import { canonical } from './support/canonical.ts';
import { classify, IN_SCOPE, type InScope, type Kind } from './support/classify.ts';

interface Codec {
  payload(stanza: Element): Element;
  parse(el: Element): unknown;
  build(value: never): Element;
}

function childOf(stanza: Element): Element {
  const c = stanza.getChildElements()[0];
  if (c === undefined) throw new Error('stanza without payload');
  return c;
}

const CODECS: Record<InScope, Codec> = {
  'focus-conference-request': { payload: childOf, parse: parseConferenceRequest, build: buildConferenceRequest },
  'focus-conference-response': { payload: childOf, parse: parseConferenceResponse, build: buildConferenceResponse },
  'muc-presence': { payload: (s) => s, parse: parseMucPresence, build: buildMucPresence },
  jingle: { payload: childOf, parse: parseJingle, build: buildJingle },
  'extdisco-request': { payload: childOf, parse: parseServicesRequest, build: buildServicesRequest },
  'extdisco-response': { payload: childOf, parse: parseServicesResponse, build: buildServicesResponse },
  'colibri2-modify': { payload: childOf, parse: parseConferenceModify, build: buildConferenceModify },
  'colibri2-modified': { payload: childOf, parse: parseConferenceModified, build: buildConferenceModified },
  'brewery-presence': { payload: (s) => s.getChild('stats', NS.COLIBRI) as Element, parse: parseBridgeStats, build: buildBridgeStats },
};

// Pinned counts over the whole fixture set (9 trace files). The focus-side files log each received Jingle IQ
// twice (README: "the same stanza is logged again"); both copies are checked. COLIBRI2 and brewery stanzas do
// not occur in these traces (no bridge was involved): they are covered by colibri2.test.ts / brewery.test.ts.
const EXPECTED: Record<Kind, number> = {
  'focus-conference-request': 13,
  'focus-conference-response': 7,
  'muc-presence': 69,
  jingle: 54,
  'extdisco-request': 7,
  'extdisco-response': 7,
  'colibri2-modify': 0,
  'colibri2-modified': 0,
  'brewery-presence': 0,
  framing: 20,
  'stream-features': 14,
  sasl: 14,
  'bind-session': 21,
  'stream-management': 124,
  'disco-info': 48,
  ping: 13,
  'iq-ack': 52,
  'bosh-body': 16,
  'groupchat-message': 9,
  'bridge-channel-json': 36,
  unclassified: 0,
};

const entries = allFixtureEntries();

function where(e: FixtureEntry): string {
  return `${e.file}#${e.index} (${e.label})`;
}

describe('lib-jitsi-meet fixture round trip', () => {
  it('reads all nine trace files copied into test/data', () => {
    expect(fixtureFiles()).toHaveLength(9);
  });

  it('classifies every entry; counts per kind are pinned (nothing skipped silently)', () => {
    const counts = Object.fromEntries(Object.keys(EXPECTED).map((k) => [k, 0])) as Record<Kind, number>;
    const unclassified: string[] = [];
    for (const e of entries) {
      const k = classify(e);
      counts[k] += 1;
      if (k === 'unclassified') unclassified.push(`${where(e)}: ${e.text.slice(0, 120)}`);
    }
    expect(unclassified).toEqual([]);
    expect(counts).toEqual(EXPECTED);
  });

  it('the equivalence check itself notices a dropped attribute, a dropped child and a reordered list', () => {
    const si = entries.find((e) => classify(e) === 'jingle' && e.kind === 'xml' && e.text.includes('session-initiate'));
    if (si?.kind !== 'xml') throw new Error('no session-initiate in the fixtures');
    const original = childOf(si.element);
    const base = canonical(buildJingle(parseJingle(original)));
    const noWs = buildJingle(parseJingle(original));
    const transport = noWs.getChild('content')?.getChild('transport');
    transport?.remove('web-socket', NS.COLIBRI);
    expect(canonical(noWs)).not.toEqual(base);
    const noAttr = buildJingle(parseJingle(original));
    delete noAttr.attrs.sid;
    expect(canonical(noAttr)).not.toEqual(base);
    const v = parseJingle(original);
    const video = v.contents[1];
    if (video?.description === undefined) throw new Error('no video description');
    const swapped = { ...v, contents: [v.contents[0] as (typeof v.contents)[number], { ...video, description: { ...video.description, payloadTypes: [...video.description.payloadTypes].reverse() } }] };
    expect(canonical(buildJingle(swapped))).not.toEqual(base);
  });

  it('parses elements of the other ltx build (ESM Element class) exactly like our own', () => {
    // src/xml.ts exports ltx's CommonJS Element, the class xmpp.js uses; ltx's ESM build has a second
    // class. The parsers must not depend on instanceof, so elements of either class parse the same.
    const viaXmppJs = (e: Element): Element => esmCreateElement(e.name, { ...e.attrs }, ...e.children.map((c) => (typeof c === 'string' ? c : viaXmppJs(c))));
    expect(xml('x', {}) instanceof Element).toBe(true); // xmpp.js's elements are ours
    expect(esmCreateElement('x', {}) instanceof Element).toBe(false); // the premise: two classes
    let checked = 0;
    for (const e of entries) {
      const kind = classify(e);
      if (e.kind !== 'xml' || !(IN_SCOPE as readonly string[]).includes(kind)) continue;
      const codec = CODECS[kind as InScope];
      const ours = codec.parse(codec.payload(e.element));
      const theirs = codec.parse(codec.payload(viaXmppJs(e.element)));
      if (kind === 'muc-presence') {
        const strip = (v: unknown): unknown => ({ ...(v as object), extensions: (v as { extensions: Element[] }).extensions.map((x) => canonical(x)) });
        expect(strip(theirs), where(e)).toEqual(strip(ours));
      } else {
        expect(theirs, where(e)).toEqual(ours);
      }
      checked += 1;
    }
    expect(checked).toBe(157);
  });

  for (const kind of IN_SCOPE) {
    const mine = entries.filter((e) => classify(e) === kind);
    it(`${kind}: all ${mine.length} parse, rebuild to an equivalent element (also after serialising), and re-parse to the same value`, () => {
      const codec = CODECS[kind];
      let checked = 0;
      for (const e of mine) {
        if (e.kind !== 'xml') throw new Error('xml expected');
        const original = codec.payload(e.element);
        const value = codec.parse(original);
        const rebuilt = codec.build(value as never);
        expect(canonical(rebuilt), where(e)).toEqual(canonical(original));
        // What goes on the wire is the serialised text: it must read back as the same element.
        expect(canonical(parseXmlString(rebuilt.toString())), where(e)).toEqual(canonical(rebuilt));
        const again = codec.parse(rebuilt);
        if (kind === 'muc-presence') {
          // Extensions are elements: compare their canonical forms, the rest as values.
          const strip = (v: unknown): unknown => ({ ...(v as object), extensions: (v as { extensions: Element[] }).extensions.map((x) => canonical(x)) });
          expect(strip(again), where(e)).toEqual(strip(value));
        } else {
          expect(again, where(e)).toEqual(value);
        }
        checked += 1;
      }
      expect(checked).toBe(EXPECTED[kind]);
    });
  }
});
