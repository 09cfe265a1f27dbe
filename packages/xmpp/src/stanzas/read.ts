// Checked reading of ltx elements for the stanza parsers. Every function here either returns a value of
// the promised type or throws MalformedStanzaError with the path of the offending node, so a parser built
// from them has one failure mode. Nothing recurses over the input: parsers walk fixed depths only, and
// namespace lookup is an iterative walk, so deeply nested hostile input costs linear time and no stack.
import { MalformedStanzaError } from '../errors.js';
import { Element, isElement as isAnyElement } from '../xml.js';

/** Longest attribute value or text we accept; a real stanza's largest value (a JWT) is a few KB. */
export const MAX_VALUE_LENGTH = 64 * 1024;

export function fail(path: string, reason: string): never {
  throw new MalformedStanzaError(path, reason);
}

/** The element's namespace: its own `xmlns` or the nearest ancestor's (iterative; prefixes resolved). */
export function nsOf(el: Element): string | undefined {
  const colon = el.name.indexOf(':');
  const key = colon >= 0 ? `xmlns:${el.name.slice(0, colon)}` : 'xmlns';
  for (let cur: Element | null = el; cur !== null; cur = cur.parent) {
    const v = Object.hasOwn(cur.attrs, key) ? cur.attrs[key] : undefined;
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export function localName(el: Element): string {
  const colon = el.name.indexOf(':');
  return colon >= 0 ? el.name.slice(colon + 1) : el.name;
}

/**
 * Structural element test. NOT `instanceof Element`: xmpp.js (@xmpp/xml) builds and parses stanzas with ltx's
 * CommonJS build (`ltx/lib/Element.js`) while `import { Element } from 'ltx'` is the ESM build — two distinct
 * classes, so an element arriving from a connection is not an instance of the class src/xml.ts exports.
 */
/** Either ltx build's element (see xml.ts). */
export const isXmlElement: (x: unknown) => x is Element = isAnyElement;

export function isElement(el: unknown, name: string, ns: string): el is Element {
  return isXmlElement(el) && localName(el) === name && nsOf(el) === ns;
}

/** Asserts the element is `{ns}name`; parsers call this on their argument. */
export function expectElement(el: unknown, name: string, ns: string, path: string = name): Element {
  if (!isXmlElement(el)) fail(path, 'not an XML element');
  if (localName(el) !== name || nsOf(el) !== ns) {
    fail(path, `expected <${name} xmlns="${ns}">, got <${localName(el)} xmlns="${nsOf(el) ?? ''}">`);
  }
  return el;
}

export function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (const c of el.children) if (isXmlElement(c)) out.push(c);
  return out;
}

/** Children named `name` in namespace `ns` (namespace inherited from `el` when the child declares none). */
export function children(el: Element, name: string, ns: string): Element[] {
  return childElements(el).filter((c) => localName(c) === name && nsOf(c) === ns);
}

export function child(el: Element, name: string, ns: string): Element | undefined {
  for (const c of el.children) if (isXmlElement(c) && localName(c) === name && nsOf(c) === ns) return c;
  return undefined;
}

/** At most one such child; a duplicate is ambiguous and therefore malformed. */
export function singleChild(el: Element, name: string, ns: string, path: string): Element | undefined {
  const found = children(el, name, ns);
  if (found.length > 1) fail(`${path}/${name}`, `more than one <${name}>`);
  return found[0];
}

function rawAttr(el: Element, name: string): string | undefined {
  if (!Object.hasOwn(el.attrs, name)) return undefined;
  const v: unknown = el.attrs[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  // Builders may have put numbers or booleans in attrs; the parser sees their string form. Anything else
  // (an object planted in attrs by code, never by the XML parser) counts as absent.
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function optString(el: Element, name: string, path: string): string | undefined {
  const v = rawAttr(el, name);
  if (v === undefined) return undefined;
  if (v.length > MAX_VALUE_LENGTH) fail(`${path}@${name}`, `longer than ${MAX_VALUE_LENGTH} characters`);
  return v;
}

export function reqString(el: Element, name: string, path: string): string {
  const v = optString(el, name, path);
  if (v === undefined) fail(`${path}@${name}`, 'required attribute missing');
  return v;
}

/** A required attribute that must not be empty (ids, names, URIs). */
export function reqToken(el: Element, name: string, path: string): string {
  const v = reqString(el, name, path);
  if (v.length === 0) fail(`${path}@${name}`, 'empty');
  return v;
}

export function optToken(el: Element, name: string, path: string): string | undefined {
  const v = optString(el, name, path);
  if (v !== undefined && v.length === 0) fail(`${path}@${name}`, 'empty');
  return v;
}

const DECIMAL = /^[0-9]{1,16}$/;

/** Parses a non-negative decimal integer within [min, max]; no signs, exponents, spaces or hex. */
export function parseUint(v: string, min: number, max: number, where: string): number {
  if (!DECIMAL.test(v)) fail(where, `not a decimal integer: ${JSON.stringify(v.slice(0, 40))}`);
  const n = Number(v);
  if (n < min || n > max) fail(where, `${n} is outside ${min}..${max}`);
  return n;
}

export function optUint(el: Element, name: string, path: string, min: number, max: number): number | undefined {
  const v = optString(el, name, path);
  return v === undefined ? undefined : parseUint(v, min, max, `${path}@${name}`);
}

export function reqUint(el: Element, name: string, path: string, min: number, max: number): number {
  return parseUint(reqString(el, name, path), min, max, `${path}@${name}`);
}

/** Any decimal number (e.g. stress 0.12); finite, no exotic forms. */
const DECIMAL_NUMBER = /^-?[0-9]{1,20}(\.[0-9]{1,20})?$/;
export function parseDecimal(v: string, where: string): number {
  if (!DECIMAL_NUMBER.test(v)) fail(where, `not a decimal number: ${JSON.stringify(v.slice(0, 40))}`);
  return Number(v);
}

/** XML Schema boolean: true/false/1/0 (Jitsi writes true/false; Prosody writes 1 for `restricted`). */
export function parseBool(v: string, where: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return fail(where, `not a boolean: ${JSON.stringify(v.slice(0, 40))}`);
}

export function optBool(el: Element, name: string, path: string): boolean | undefined {
  const v = optString(el, name, path);
  return v === undefined ? undefined : parseBool(v, `${path}@${name}`);
}

export function optEnum<T extends string>(el: Element, name: string, path: string, allowed: readonly T[]): T | undefined {
  const v = optString(el, name, path);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) fail(`${path}@${name}`, `not one of ${allowed.join(', ')}: ${JSON.stringify(v.slice(0, 40))}`);
  return v as T;
}

export function reqEnum<T extends string>(el: Element, name: string, path: string, allowed: readonly T[]): T {
  const v = optEnum(el, name, path, allowed);
  if (v === undefined) fail(`${path}@${name}`, 'required attribute missing');
  return v;
}

/** The element's text (direct text children only), bounded. */
export function text(el: Element, path: string): string {
  let out = '';
  for (const c of el.children) {
    if (typeof c === 'string') {
      out += c;
      if (out.length > MAX_VALUE_LENGTH) fail(path, `text longer than ${MAX_VALUE_LENGTH} characters`);
    }
  }
  return out;
}

/** Attributes for a builder: drops undefined, stringifies numbers and booleans. */
export function attrs(a: Record<string, string | number | boolean | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** A new element with attributes and element children (text via `withText`). */
export function el(name: string, a: Record<string, string | number | boolean | undefined>, ...kids: (Element | undefined | false)[]): Element {
  const e = new Element(name, attrs(a));
  for (const k of kids) if (isXmlElement(k)) e.cnode(k);
  return e;
}

export function withText(e: Element, value: string): Element {
  e.t(value);
  return e;
}

export function appendAll(parent: Element, kids: Iterable<Element>): Element {
  for (const k of kids) parent.cnode(k);
  return parent;
}

/** Largest SSRC (RFC 3550: 32 bits). */
export const MAX_SSRC = 0xffffffff;

/** Iterative deep copy (ltx's clone recurses, so a deeply nested hostile extension would exhaust the stack). */
export function cloneTree(root: Element): Element {
  const copy = new Element(root.name, { ...root.attrs });
  const stack: [Element, Element][] = [[root, copy]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [src, dst] = item;
    for (const c of src.children) {
      if (typeof c === 'string') {
        dst.children.push(c);
      } else if (isXmlElement(c)) {
        const cc = new Element(c.name, { ...c.attrs });
        cc.parent = dst;
        dst.children.push(cc);
        stack.push([c, cc]);
      }
    }
  }
  return copy;
}
