// "Equivalent element" for the round-trip tests: same resolved namespaces and local names, same attributes
// (xmlns declarations aside), same trimmed text, same children — where the order of siblings of the SAME
// name and namespace matters (payload types, candidates, sources, status codes keep their order) and the
// interleaving of different kinds does not (a builder writes <rtcp-mux/> after the sources, ljm before).
// The stanza namespace (jabber:client, jabber:component:accept, or none in the focus-side log) is one value.
import type { Element } from '../../../src/xml.ts';

const STANZA_NS = new Set([undefined, 'jabber:client', 'jabber:component:accept']);

export interface Canon {
  name: string;
  ns: string;
  attrs: [string, string][];
  text: string;
  children: Canon[];
}

function resolveNs(el: Element, inherited: string | undefined): string | undefined {
  const colon = el.name.indexOf(':');
  if (colon >= 0) {
    const key = `xmlns:${el.name.slice(0, colon)}`;
    for (let cur: Element | null = el; cur !== null; cur = cur.parent) if (typeof cur.attrs[key] === 'string') return cur.attrs[key];
    return undefined;
  }
  return typeof el.attrs.xmlns === 'string' ? el.attrs.xmlns : inherited;
}

export function canonical(el: Element, inherited?: string): Canon {
  const ns = resolveNs(el, inherited);
  const colon = el.name.indexOf(':');
  const kids = el.children.filter((c): c is Element => typeof c !== 'string').map((c) => canonical(c, ns));
  const keyed = kids.map((k, i) => ({ k, i }));
  keyed.sort((a, b) => (a.k.ns + ' ' + a.k.name).localeCompare(b.k.ns + ' ' + b.k.name) || a.i - b.i);
  return {
    name: colon >= 0 ? el.name.slice(colon + 1) : el.name,
    ns: STANZA_NS.has(ns) ? '#stanza' : (ns as string),
    attrs: Object.entries(el.attrs)
      .filter(([k, v]) => k !== 'xmlns' && !k.startsWith('xmlns:') && v !== undefined && v !== null)
      .map(([k, v]): [string, string] => [k, String(v)])
      .sort(([a], [b]) => a.localeCompare(b)),
    text: el.children.filter((c): c is string => typeof c === 'string').join('').trim(),
    children: keyed.map((x) => x.k),
  };
}
