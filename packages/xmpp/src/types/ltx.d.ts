// Type declarations for ltx 3.1.2 (the XML element model under xmpp.js), which ships none.
// Only the surface Hummingbird uses is declared; add members here when code needs them.

declare module 'ltx' {
  export type Attrs = Record<string, string | number | boolean | null | undefined>;
  export type Node = Element | string;

  export class Element {
    constructor(name: string, attrs?: Attrs);
    name: string;
    /** Attribute values are strings once parsed; builders may have set numbers. */
    attrs: Record<string, string | undefined>;
    parent: Element | null;
    children: Node[];
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string, xmlns?: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    root(): Element;
    up(): Element;
    c(name: string, attrs?: Attrs): Element;
    cnode<T extends Element>(child: T): T;
    append(...nodes: Node[]): void;
    t(text: string): Element;
    remove(el: Element | string, xmlns?: string): Element;
    text(val?: string): string;
    attr(name: string, val?: string | number | null): string | Element | undefined;
    toString(): string;
  }

  export function createElement(name: string, attrs?: Attrs | null, ...children: (Node | Node[] | null | undefined)[]): Element;
  /** Parses one complete XML document; throws on malformed input. */
  export function parse(data: string): Element;
  export function equal(a: Element, b: Element): boolean;
  export function clone<T extends Element>(el: T): T;
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
}

/** ltx's CommonJS build: the same API; its Element is the class xmpp.js uses. */
declare module 'ltx/lib/ltx.js' {
  export * from 'ltx';
}
