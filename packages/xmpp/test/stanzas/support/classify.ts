// Sorts every fixture entry into the protocol it belongs to. In-scope kinds are parsed and rebuilt by the
// round-trip test; the out-of-scope kinds are named one by one (framing, SASL, SM, disco, ping, acks, …), so an
// entry that fits neither list is `unclassified` and fails the test instead of being skipped silently.
import { NS } from '../../../src/namespaces.ts';
import type { Element } from '../../../src/xml.ts';
import type { FixtureEntry } from '../../data/fixtures.ts';

export const IN_SCOPE = [
  'focus-conference-request', 'focus-conference-response', 'muc-presence', 'jingle', 'extdisco-request',
  'extdisco-response', 'colibri2-modify', 'colibri2-modified', 'brewery-presence',
] as const;
export type InScope = (typeof IN_SCOPE)[number];

export const OUT_OF_SCOPE = [
  'framing', 'stream-features', 'sasl', 'bind-session', 'stream-management', 'disco-info', 'ping', 'iq-ack',
  'bosh-body', 'groupchat-message', 'bridge-channel-json',
] as const;
export type OutOfScope = (typeof OUT_OF_SCOPE)[number];

export type Kind = InScope | OutOfScope | 'unclassified';

function firstChild(el: Element): Element | undefined {
  return el.getChildElements()[0];
}

export function classify(entry: FixtureEntry): Kind {
  if (entry.kind === 'json') {
    const v = entry.value;
    return typeof v === 'object' && v !== null && 'colibriClass' in v ? 'bridge-channel-json' : 'unclassified';
  }
  const el = entry.element;
  const c = firstChild(el);
  switch (el.getName()) {
    case 'iq': {
      const type = el.attrs.type;
      if (c === undefined) return type === 'result' ? 'iq-ack' : 'unclassified';
      if (c.is('conference', NS.FOCUS)) return type === 'set' ? 'focus-conference-request' : type === 'result' ? 'focus-conference-response' : 'unclassified';
      if (c.is('jingle', NS.JINGLE)) return type === 'set' ? 'jingle' : 'unclassified';
      if (c.is('services', NS.EXTDISCO) || c.is('services', NS.EXTDISCO_1)) {
        return type === 'get' ? 'extdisco-request' : type === 'result' ? 'extdisco-response' : 'unclassified';
      }
      if (c.is('conference-modify', NS.COLIBRI2)) return 'colibri2-modify';
      if (c.is('conference-modified', NS.COLIBRI2)) return 'colibri2-modified';
      if (c.is('bind', 'urn:ietf:params:xml:ns:xmpp-bind') || c.is('session', 'urn:ietf:params:xml:ns:xmpp-session')) return 'bind-session';
      if (c.is('query', NS.DISCO_INFO)) return 'disco-info';
      if (c.is('ping', NS.PING)) return 'ping';
      return 'unclassified';
    }
    case 'presence': {
      if (el.getChild('stats', NS.COLIBRI) !== undefined) return 'brewery-presence';
      const room = /@conference\./;
      if (room.test(el.attrs.to ?? '') || room.test(el.attrs.from ?? '')) return 'muc-presence';
      return 'unclassified';
    }
    case 'message':
      return el.attrs.type === 'groupchat' ? 'groupchat-message' : 'unclassified';
    case 'open':
    case 'close':
      return el.attrs.xmlns === NS.FRAMING ? 'framing' : 'unclassified';
    case 'features':
      return 'stream-features';
    case 'auth':
    case 'success':
      return el.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-sasl' ? 'sasl' : 'unclassified';
    case 'enable':
    case 'enabled':
    case 'r':
    case 'a':
      return el.attrs.xmlns === NS.STREAM_MANAGEMENT ? 'stream-management' : 'unclassified';
    case 'body':
      return el.attrs.xmlns === 'http://jabber.org/protocol/httpbind' && c === undefined ? 'bosh-body' : 'unclassified';
    default:
      return 'unclassified';
  }
}
