// Every stanza the parsers know, as (name, element, parse, build): the in-scope fixture stanzas plus the
// hand-written COLIBRI2/brewery samples. Shared by the fuzz test and the benchmark.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NS } from '../../../src/namespaces.ts';
import { buildBridgeStats, parseBridgeStats } from '../../../src/stanzas/brewery.ts';
import {
  buildColibri2Error, buildConferenceModified, buildConferenceModify, parseColibri2Error, parseConferenceModified, parseConferenceModify,
} from '../../../src/stanzas/colibri2.ts';
import { buildServicesRequest, buildServicesResponse, parseServicesRequest, parseServicesResponse } from '../../../src/stanzas/extdisco.ts';
import { buildConferenceRequest, buildConferenceResponse, parseConferenceRequest, parseConferenceResponse } from '../../../src/stanzas/focus.ts';
import { buildJingle, parseJingle } from '../../../src/stanzas/jingle.ts';
import { buildMucPresence, parseMucPresence } from '../../../src/stanzas/muc-presence.ts';
import { parseXmlString, type Element } from '../../../src/xml.ts';
import { allFixtureEntries } from '../../data/fixtures.ts';
import { classify, type InScope } from './classify.ts';

export interface CorpusEntry {
  readonly name: string;
  readonly kind: InScope | 'colibri2-error';
  readonly element: Element;
  readonly parse: (el: Element) => unknown;
  readonly build: (v: never) => Element;
}

type Codec = Pick<CorpusEntry, 'parse' | 'build'> & { payload: (s: Element) => Element | undefined };
const first = (s: Element): Element | undefined => s.getChildElements()[0];

const CODECS: Record<CorpusEntry['kind'], Codec> = {
  'focus-conference-request': { payload: first, parse: parseConferenceRequest, build: buildConferenceRequest },
  'focus-conference-response': { payload: first, parse: parseConferenceResponse, build: buildConferenceResponse },
  'muc-presence': { payload: (s) => s, parse: parseMucPresence, build: buildMucPresence },
  jingle: { payload: first, parse: parseJingle, build: buildJingle },
  'extdisco-request': { payload: first, parse: parseServicesRequest, build: buildServicesRequest },
  'extdisco-response': { payload: first, parse: parseServicesResponse, build: buildServicesResponse },
  'colibri2-modify': { payload: first, parse: parseConferenceModify, build: buildConferenceModify },
  'colibri2-modified': { payload: first, parse: parseConferenceModified, build: buildConferenceModified },
  'brewery-presence': { payload: (s) => s.getChild('stats', NS.COLIBRI), parse: parseBridgeStats, build: buildBridgeStats },
  'colibri2-error': { payload: first, parse: parseColibri2Error, build: buildColibri2Error },
};

export function corpus(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const e of allFixtureEntries()) {
    if (e.kind !== 'xml') continue;
    const kind = classify(e);
    if (!(kind in CODECS)) continue;
    const codec = CODECS[kind as InScope];
    const element = codec.payload(e.element);
    if (element === undefined) throw new Error(`${e.file}#${e.index}: no payload`);
    out.push({ name: `${e.file}#${e.index}`, kind: kind as InScope, element, parse: codec.parse, build: codec.build });
  }
  const dir = join(import.meta.dirname, '../../data/colibri2');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.xml')).sort()) {
    const stanza = parseXmlString(readFileSync(join(dir, f), 'utf8'));
    const kind: CorpusEntry['kind'] = f.startsWith('modify-') ? 'colibri2-modify' : f.startsWith('modified-') ? 'colibri2-modified'
      : f.startsWith('error-') ? 'colibri2-error' : 'brewery-presence';
    const codec = CODECS[kind];
    const element = codec.payload(stanza);
    if (element === undefined) throw new Error(`${f}: no payload`);
    out.push({ name: f, kind, element, parse: codec.parse, build: codec.build });
  }
  return out;
}
