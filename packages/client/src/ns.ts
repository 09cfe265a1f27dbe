// Namespaces and the client's disco#info features (spec/jitsi-client-protocol.md §1.5, §4 table).

export const NS = {
  client: 'jabber:client',
  framing: 'urn:ietf:params:xml:ns:xmpp-framing',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  caps: 'http://jabber.org/protocol/caps',
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  nick: 'http://jabber.org/protocol/nick',
  ping: 'urn:xmpp:ping',
  extdisco: 'urn:xmpp:extdisco:2',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  focus: 'http://jitsi.org/protocol/focus',
  jitmeet: 'http://jitsi.org/jitmeet',
  jingle: 'urn:xmpp:jingle:1',
  jingleErrors: 'urn:xmpp:jingle:errors:1',
  rtp: 'urn:xmpp:jingle:apps:rtp:1',
  rtcpFb: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  hdrext: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  ssma: 'urn:xmpp:jingle:apps:rtp:ssma:0',
  ice: 'urn:xmpp:jingle:transports:ice-udp:1',
  dtls: 'urn:xmpp:jingle:apps:dtls:0',
  grouping: 'urn:xmpp:jingle:apps:grouping:0',
  colibri: 'http://jitsi.org/protocol/colibri',
} as const;

export const CAPS_NODE = 'https://jitsi.org/jitsi-meet';

export const SSRC_REWRITING_FEATURE = 'http://jitsi.org/ssrc-rewriting-1';

/** §1.5: what current lib-jitsi-meet answers on Chromium with default options, sorted as it sends them. */
export const BASE_FEATURES: readonly string[] = [
  'http://jabber.org/protocol/caps',
  'http://jitsi.org/json-encoded-sources',
  'http://jitsi.org/receive-multiple-video-streams',
  'http://jitsi.org/remb',
  'http://jitsi.org/source-name',
  'http://jitsi.org/start-muted-room-metadata',
  'http://jitsi.org/tcc',
  'http://jitsi.org/visitors-1',
  'urn:ietf:rfc:4588',
  'urn:xmpp:jingle:1',
  'urn:xmpp:jingle:apps:dtls:0',
  'urn:xmpp:jingle:apps:rtp:1',
  'urn:xmpp:jingle:apps:rtp:audio',
  'urn:xmpp:jingle:apps:rtp:video',
  'urn:xmpp:jingle:transports:dtls-sctp:1',
  'urn:xmpp:jingle:transports:ice-udp:1',
  'urn:xmpp:rayo:client:1',
];

export interface FeatureOptions {
  /** Advertise `http://jitsi.org/ssrc-rewriting-1` (ljm: `flags.ssrcRewritingEnabled`). */
  ssrcRewriting?: boolean;
  /** Leave out `http://jitsi.org/json-encoded-sources`, so the focus sends plain XML sources. */
  xmlSources?: boolean;
}

export function clientFeatures(options: FeatureOptions = {}): string[] {
  const features = BASE_FEATURES.filter((f) => !(options.xmlSources === true && f === 'http://jitsi.org/json-encoded-sources'));
  if (options.ssrcRewriting === true) features.push(SSRC_REWRITING_FEATURE);
  return features.sort();
}
