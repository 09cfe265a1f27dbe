export { bareJid, formatJid, jid, jidEquals, JidError, MAX_PART_OCTETS, parseJid, type Jid, type JidErrorReason, type JidPart } from './jid.js';
export { FEATURE, NS, type Feature, type Namespace } from './namespaces.js';
