export { bareJid, formatJid, jid, jidEquals, JidError, MAX_PART_OCTETS, parseJid, type Jid, type JidErrorReason, type JidPart } from './jid.js';
export { FEATURE, NS, type Feature, type Namespace } from './namespaces.js';
export { Element, createElement, parseXmlString, xmlEqual, cloneElement, xml, type Attrs, type XmlNode } from './xml.js';
export { StanzaError, MalformedStanzaError, STANZA_ERROR_CONDITIONS, type StanzaErrorCondition, type StanzaErrorType } from './errors.js';
export * from './iq/index.js';
export * from './connection/index.js';
