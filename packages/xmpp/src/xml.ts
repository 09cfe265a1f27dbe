// ltx and @xmpp/xml ship no types; these references carry our declarations to every consumer that
// compiles this source (the apps, through the hummingbird-source condition).
/* eslint-disable @typescript-eslint/triple-slash-reference */
/// <reference path="./types/ltx.d.ts" />
/// <reference path="./types/xmpp-xml.d.ts" />
/* eslint-enable @typescript-eslint/triple-slash-reference */
// The one XML element model of Hummingbird: ltx's Element, the same class xmpp.js hands to stanza
// listeners, so parsed values and built elements flow between the connection and the models unchanged.

export { Element, createElement, parse as parseXmlString, equal as xmlEqual, clone as cloneElement } from 'ltx';
export type { Attrs, Node as XmlNode } from 'ltx';
export { xml } from '@xmpp/xml';
