// Seeded mutations of COLIBRI2 request samples: dropped attributes, wrong values, renamed elements, wrong
// namespaces, duplicated and unknown children, deep nesting, huge values. Deterministic for one seed.
import { Element, parseXmlString } from '@hummingbird/xmpp';

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

function all(root: Element): Element[] {
  const out: Element[] = [];
  const stack = [root];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    out.push(e);
    for (const c of e.children) if (typeof c !== 'string') stack.push(c);
  }
  return out;
}

// No control characters: XML 1.0 cannot carry them, and Prosody closes the SENDER's stream on one (measured:
// the test focus got not-well-formed), so they never reach the bridge.
const WRONG = ['', ' ', '-1', 'abc', '4294967296', '99999999999999999999', 'NaN', '1.5', 'true', 'false', '<&>', 'room@', '@x', 'a/b@c', 'ws://'];
const NAMES = ['bogus', 'endpoint', 'transport', 'media', 'sources', 'media-source', 'source', 'ssrc-group', 'payload-type', 'force-mute', 'relay'];
const NSS = ['urn:x:bogus', 'jitsi:colibri2', 'urn:xmpp:jingle:apps:rtp:ssma:0', 'urn:xmpp:jingle:transports:ice-udp:1', ''];

type Mutation = (root: Element, rnd: () => number) => void;

const MUTATIONS: Mutation[] = [
  (root, rnd) => {
    const e = pick(rnd, all(root));
    const names = Object.keys(e.attrs).filter((k) => k !== 'xmlns');
    if (names.length > 0) delete e.attrs[pick(rnd, names)];
  },
  (root, rnd) => {
    const e = pick(rnd, all(root));
    const names = Object.keys(e.attrs).filter((k) => k !== 'xmlns');
    if (names.length > 0) e.attrs[pick(rnd, names)] = pick(rnd, WRONG);
  },
  (root, rnd) => {
    const e = pick(rnd, all(root).slice(1));
    if (e !== undefined) e.name = pick(rnd, NAMES);
  },
  (root, rnd) => {
    const e = pick(rnd, all(root).slice(1));
    if (e !== undefined) e.attrs.xmlns = pick(rnd, NSS);
  },
  (root, rnd) => {
    const e = pick(rnd, all(root));
    const kids = e.children.filter((c): c is Element => typeof c !== 'string');
    if (kids.length > 0) e.cnode(parseXmlString(pick(rnd, kids).toString()));
  },
  (root, rnd) => {
    pick(rnd, all(root)).cnode(new Element(pick(rnd, NAMES), { xmlns: pick(rnd, NSS), id: 'x', type: 'video', ssrc: '7' }));
  },
  (root, rnd) => {
    // Deep nesting under a random element.
    let cur = pick(rnd, all(root));
    for (let i = 0; i < 200; i++) {
      const next = new Element(pick(rnd, NAMES), {});
      cur.cnode(next);
      cur = next;
    }
  },
  (root, rnd) => {
    const e = pick(rnd, all(root));
    e.attrs[pick(rnd, ['id', 'ssrc', 'meeting-id', 'name', 'value'])] = 'x'.repeat(20_000);
  },
];

/** A mutated copy of `sample` (1–3 mutations). */
export function mutate(sample: Element, rnd: () => number): Element {
  const copy = parseXmlString(sample.toString());
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) pick(rnd, MUTATIONS)(copy, rnd);
  return copy;
}
