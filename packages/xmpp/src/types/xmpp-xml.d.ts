// Type declarations for @xmpp/xml 0.14 (ships none). Its Element is ltx's Element.

declare module '@xmpp/xml' {
  import type { Attrs, Element as LtxElement, Node } from 'ltx';
  export { Element } from 'ltx';
  export function xml(name: string, attrs?: Attrs | null, ...children: (Node | Node[] | null | undefined)[]): LtxElement;
  export default xml;
  export class XMLError extends Error {}
}
