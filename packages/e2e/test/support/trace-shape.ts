// Compares what the Hummingbird test client sent with what the real lib-jitsi-meet sent in the fixture traces
// (packages/xmpp/test/data/lib-jitsi-meet): the element tree's shape — element paths with namespaces and attribute
// names — since values (JIDs, ids, SSRCs, …) are per run (fixture README).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parseXml, type El } from '@hummingbird/client';

const DATA = '../../../xmpp/test/data/lib-jitsi-meet/';

/** The client → server frames of a client-side trace. */
export function tracedOut(file: string): El[] {
  const text = readFileSync(fileURLToPath(new URL(`${DATA}${file}`, import.meta.url)), 'utf8');
  return text
    .split('\n')
    .map((l) => /^OUT (<.*)$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map((x) => parseXml(x));
}

/** Sorted `path[attr,…]` lines of an element tree (attribute values and text left out; xmlns is in the path). */
export function shape(e: El, path = ''): string[] {
  const p = `${path}/${e.local}@${e.ns ?? ''}`;
  const own = `${p}[${Object.keys(e.attrs).filter((k) => k !== 'xmlns' && !k.startsWith('xmlns:')).sort().join(',')}]`;
  return [...new Set([own, ...e.elements().flatMap((c) => shape(c, p))])].sort();
}
