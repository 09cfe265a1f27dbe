// A small XML element model for the Hummingbird test client. It runs in the browser (bundled by esbuild) and in
// Node (unit tests), so it depends on neither the DOM nor Node: one strict parser for the XML an XMPP server sends
// over WebSocket (RFC 7395: one complete element per frame) and one serializer.
//
// The parser accepts the subset XMPP allows (RFC 6120 §11.1): elements, attributes, text, character and the five
// predefined entity references, an optional XML declaration. Comments, processing instructions, DOCTYPE and CDATA
// are refused, as an XMPP server must never send them. Depth and size are bounded.

export class XmlError extends Error {
  override name = 'XmlError';
  constructor(
    message: string,
    /** Offset in the input where the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset})`);
  }
}

export type XmlNode = El | string;

export class El {
  readonly children: XmlNode[] = [];
  constructor(
    /** The qualified name as written (`stream:features`, `jingle`). */
    readonly name: string,
    readonly attrs: Record<string, string> = {},
    children: readonly (XmlNode | undefined | false)[] = [],
  ) {
    this.append(...children);
  }

  /** Local name (after any prefix). */
  get local(): string {
    const i = this.name.indexOf(':');
    return i < 0 ? this.name : this.name.slice(i + 1);
  }

  /** The namespace: this element's own declaration or one inherited through `parent` links set by the parser. */
  get ns(): string | undefined {
    const i = this.name.indexOf(':');
    const attr = i < 0 ? 'xmlns' : `xmlns:${this.name.slice(0, i)}`;
    const own = this.attrs[attr];
    if (own !== undefined) return own;
    return this.parent?.lookupNs(attr);
  }

  /** Set by `append` (also used by the parser): only to resolve inherited namespaces. */
  parent: El | undefined = undefined;

  private lookupNs(attr: string): string | undefined {
    return this.attrs[attr] ?? this.parent?.lookupNs(attr);
  }

  append(...nodes: (XmlNode | undefined | false)[]): this {
    for (const n of nodes) {
      if (n === undefined || n === false) continue;
      if (n instanceof El) n.parent = this;
      this.children.push(n);
    }
    return this;
  }

  elements(): El[] {
    return this.children.filter((c): c is El => c instanceof El);
  }

  /** Child elements with this local name and, when given, this namespace. */
  all(local: string, ns?: string): El[] {
    return this.elements().filter((e) => e.local === local && (ns === undefined || e.ns === ns));
  }

  first(local: string, ns?: string): El | undefined {
    return this.elements().find((e) => e.local === local && (ns === undefined || e.ns === ns));
  }

  text(): string {
    return this.children.filter((c): c is string => typeof c === 'string').join('');
  }

  toString(): string {
    let out = `<${this.name}`;
    for (const [k, v] of Object.entries(this.attrs)) out += ` ${k}="${escapeAttr(v)}"`;
    if (this.children.length === 0) return `${out}/>`;
    out += '>';
    for (const c of this.children) out += typeof c === 'string' ? escapeText(c) : c.toString();
    return `${out}</${this.name}>`;
  }
}

/** Builds an element; `undefined` attribute values are left out. */
export function el(name: string, attrs: Record<string, string | number | undefined> = {}, ...children: (XmlNode | undefined | false)[]): El {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = String(v);
  const e = new El(name, clean);
  e.append(...children);
  return e;
}

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface ParseLimits {
  /** Default 1 MiB. */
  maxLength?: number;
  /** Default 64. */
  maxDepth?: number;
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ENTITY: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescape(raw: string, base: number): string {
  return raw.replace(/&([^;&<]*);?/g, (m, body: string, off: number) => {
    if (!m.endsWith(';')) throw new XmlError('unterminated entity reference', base + off);
    const named = ENTITY[body];
    if (named !== undefined) return named;
    const num = /^#x([0-9a-fA-F]{1,6})$/.exec(body) ?? /^#([0-9]{1,7})$/.exec(body);
    if (num?.[1] !== undefined) {
      const code = parseInt(num[1], body.startsWith('#x') ? 16 : 10);
      const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!valid) throw new XmlError(`character reference to an illegal character ${body}`, base + off);
      return String.fromCodePoint(code);
    }
    throw new XmlError(`unknown entity &${body};`, base + off);
  });
}

/** Parses one XML document holding exactly one root element. Throws XmlError on anything else. */
export function parseXml(input: string, limits: ParseLimits = {}): El {
  const maxLength = limits.maxLength ?? 1 << 20;
  const maxDepth = limits.maxDepth ?? 64;
  if (input.length > maxLength) throw new XmlError(`document longer than ${maxLength} characters`, maxLength);
  let i = 0;
  const stack: El[] = [];
  let root: El | undefined;

  const skipSpace = (): void => {
    while (i < input.length && /\s/.test(input[i] ?? '')) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(input);
    if (!m) throw new XmlError('expected a name', i);
    i += m[0].length;
    return m[0];
  };

  skipSpace();
  if (input.startsWith('<?xml', i)) {
    const end = input.indexOf('?>', i);
    if (end < 0) throw new XmlError('unterminated XML declaration', i);
    i = end + 2;
  }
  for (;;) {
    if (stack.length === 0) skipSpace();
    if (i >= input.length) break;
    if (input[i] !== '<') {
      const next = input.indexOf('<', i);
      const end = next < 0 ? input.length : next;
      const raw = input.slice(i, end);
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError('text outside the root element', i);
      top.append(unescape(raw, i));
      i = end;
      continue;
    }
    const c = input[i + 1];
    if (c === '!' || c === '?') throw new XmlError('comments, CDATA, DOCTYPE and processing instructions are not allowed', i);
    if (c === '/') {
      i += 2;
      const n = name();
      skipSpace();
      if (input[i] !== '>') throw new XmlError('expected > after a closing tag name', i);
      i++;
      const top = stack.pop();
      if (!top || top.name !== n) throw new XmlError(`closing tag </${n}> does not match <${top?.name ?? '(none)'}>`, i);
      continue;
    }
    if (root && stack.length === 0) throw new XmlError('more than one root element', i);
    i++;
    const e = new El(name());
    for (;;) {
      const before = i;
      skipSpace();
      if (input.startsWith('/>', i) || input[i] === '>') break;
      if (i === before) throw new XmlError('expected whitespace before an attribute', i);
      const a = name();
      skipSpace();
      if (input[i] !== '=') throw new XmlError(`expected = after attribute ${a}`, i);
      i++;
      skipSpace();
      const q = input[i];
      if (q !== '"' && q !== "'") throw new XmlError(`expected a quoted value for attribute ${a}`, i);
      const end = input.indexOf(q, i + 1);
      if (end < 0) throw new XmlError(`unterminated value of attribute ${a}`, i);
      const raw = input.slice(i + 1, end);
      if (raw.includes('<')) throw new XmlError(`< inside the value of attribute ${a}`, i);
      if (Object.hasOwn(e.attrs, a)) throw new XmlError(`duplicate attribute ${a}`, i);
      e.attrs[a] = unescape(raw, i + 1);
      i = end + 1;
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.append(e);
    else root = e;
    if (input.startsWith('/>', i)) {
      i += 2;
    } else {
      i++;
      stack.push(e);
      if (stack.length > maxDepth) throw new XmlError(`elements nested deeper than ${maxDepth}`, i);
    }
    if (i > input.length) throw new XmlError('unexpected end of input', input.length);
  }
  if (stack.length > 0) throw new XmlError(`unclosed element <${stack[stack.length - 1]?.name ?? ''}>`, input.length);
  if (!root) throw new XmlError('no root element', input.length);
  return root;
}
