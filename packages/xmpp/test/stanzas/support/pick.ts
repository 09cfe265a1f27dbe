// Picks fixture stanzas for the per-protocol unit tests (fresh parses, so tests may mutate them).
import { allFixtureEntries } from '../../data/fixtures.ts';
import type { Element } from '../../../src/xml.ts';
import { classify, type InScope } from './classify.ts';

export function fixtureStanzas(kind: InScope, match: (text: string) => boolean = () => true): Element[] {
  return allFixtureEntries()
    .filter((e) => e.kind === 'xml' && classify(e) === kind && match(e.text))
    .map((e) => (e.kind === 'xml' ? e.element : (undefined as never)));
}

export function fixtureStanza(kind: InScope, match?: (text: string) => boolean): Element {
  const el = fixtureStanzas(kind, match)[0];
  if (el === undefined) throw new Error(`no ${kind} fixture matches`);
  return el;
}

export function payloadOf(stanza: Element): Element {
  const c = stanza.getChildElements()[0];
  if (c === undefined) throw new Error('stanza without payload');
  return c;
}
