// ltx and @xmpp/xml ship no types; these references carry our declarations to every consumer that
// compiles this source (the apps, through the hummingbird-source condition).
/* eslint-disable @typescript-eslint/triple-slash-reference */
/// <reference path="./types/ltx.d.ts" />
/// <reference path="./types/xmpp-xml.d.ts" />
/* eslint-enable @typescript-eslint/triple-slash-reference */
// The one XML element model of Hummingbird: ltx's Element, the same class xmpp.js hands to stanza
// listeners, so parsed values and built elements flow between the connection and the models unchanged.

//
// ltx ships two builds (ESM under src/, CommonJS under lib/) with two distinct Element classes. xmpp.js
// (@xmpp/xml 0.13 and 0.14) builds and parses with the CommonJS one, so that is the one re-exported here:
// `instanceof Element` then holds for stanzas from a connection too. Code that may see elements from
// elsewhere uses `isElement`, a shape check that accepts either class.
import type { Element as ElementType } from 'ltx';
export { Element, createElement, parse as parseXmlString, equal as xmlEqual, clone as cloneElement } from 'ltx/lib/ltx.js';
export type { Attrs, Node as XmlNode } from 'ltx';
export { xml } from '@xmpp/xml';

/** True for an ltx element of either ltx build (see above). */
export function isElement(value: unknown): value is ElementType {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<ElementType>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.attrs === 'object' &&
    candidate.attrs !== null &&
    Array.isArray(candidate.children) &&
    typeof candidate.getChildElements === 'function'
  );
}
