/**
 * XML namespaces the focus and the bridge speak, verbatim from the specs
 * (`spec/jitsi-client-protocol.md` §1, §2, §3, §4 table; `spec/jicofo-jvb.md` §2, §3).
 * One table so that a namespace typo is a compile error, not a stanza the client ignores.
 */
export const NS = {
  // --- RFC 6120/6121 and core XEPs
  /** RFC 6120 §8.3.3: stanza error conditions. */
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  /** RFC 7395: XMPP over WebSocket framing (`<open/>`, `<close/>`). */
  FRAMING: 'urn:ietf:params:xml:ns:xmpp-framing',
  /** XEP-0114: the focus connects to Prosody as a component. */
  COMPONENT_ACCEPT: 'jabber:component:accept',
  CLIENT: 'jabber:client',
  /** XEP-0030 service discovery. */
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  /** XEP-0004 data forms (MUC room configuration, room info). */
  DATA_FORMS: 'jabber:x:data',
  /** XEP-0115 entity capabilities (`<c>` in MUC presence, jitsi-client-protocol §1.5). */
  CAPS: 'http://jabber.org/protocol/caps',
  /** XEP-0172 user nickname (display name in presence). */
  NICK: 'http://jabber.org/protocol/nick',
  /** XEP-0199 XMPP ping. */
  PING: 'urn:xmpp:ping',
  /** XEP-0198 stream management (ljm enables it over WebSocket). */
  STREAM_MANAGEMENT: 'urn:xmpp:sm:3',

  // --- XEP-0045 multi-user chat (jitsi-client-protocol §3)
  MUC: 'http://jabber.org/protocol/muc',
  MUC_USER: 'http://jabber.org/protocol/muc#user',
  MUC_OWNER: 'http://jabber.org/protocol/muc#owner',
  MUC_ADMIN: 'http://jabber.org/protocol/muc#admin',

  // --- XEP-0215 external services (TURN credentials; jitsi-client-protocol §1.3)
  EXTDISCO: 'urn:xmpp:extdisco:2',
  /** Older version ljm retries with after an error on `extdisco:2`. */
  EXTDISCO_1: 'urn:xmpp:extdisco:1',

  // --- Jitsi focus protocol (jitsi-client-protocol §2, §3; jicofo-jvb §2.2)
  FOCUS: 'http://jitsi.org/protocol/focus',
  JITMEET: 'http://jitsi.org/jitmeet',
  JITMEET_AUDIO: 'http://jitsi.org/jitmeet/audio',
  JITMEET_VIDEO: 'http://jitsi.org/jitmeet/video',
  JITMEET_DESKTOP: 'http://jitsi.org/jitmeet/desktop',
  JITMEET_START_MUTED: 'http://jitsi.org/jitmeet/start-muted',
  JITMEET_ETHERPAD: 'http://jitsi.org/jitmeet/etherpad',
  /** Bridge health IQ the focus sends every 10 s (jicofo-jvb §2.6). */
  HEALTHCHECK: 'http://jitsi.org/protocol/healthcheck',
  /** COLIBRI (v1): brewery `<stats>` (jicofo-jvb §2.5) and the colibri-ws `<web-socket>` element. */
  COLIBRI: 'http://jitsi.org/protocol/colibri',
  /** COLIBRI2, focus ⇄ bridge conference allocation (jicofo-jvb §3). */
  COLIBRI2: 'jitsi:colibri2',

  // --- Jingle (XEP-0166/0167/0176/0320/0293/0294/0339/0338/0343; jitsi-client-protocol §4)
  JINGLE: 'urn:xmpp:jingle:1',
  JINGLE_ERRORS: 'urn:xmpp:jingle:errors:1',
  JINGLE_RTP: 'urn:xmpp:jingle:apps:rtp:1',
  JINGLE_RTP_AUDIO: 'urn:xmpp:jingle:apps:rtp:audio',
  JINGLE_RTP_VIDEO: 'urn:xmpp:jingle:apps:rtp:video',
  JINGLE_RTCP_FB: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  JINGLE_RTP_HDREXT: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  JINGLE_SSMA: 'urn:xmpp:jingle:apps:rtp:ssma:0',
  JINGLE_GROUPING: 'urn:xmpp:jingle:apps:grouping:0',
  JINGLE_ICE_UDP: 'urn:xmpp:jingle:transports:ice-udp:1',
  JINGLE_DTLS: 'urn:xmpp:jingle:apps:dtls:0',
  JINGLE_DTLS_SCTP: 'urn:xmpp:jingle:transports:dtls-sctp:1',
} as const;

export type Namespace = (typeof NS)[keyof typeof NS];

/**
 * Feature strings (disco#info `var`) that are not element namespaces but that the focus reads
 * from a participant's features (jitsi-client-protocol §1.5, §4.8).
 */
export const FEATURE = {
  RTX: 'urn:ietf:rfc:4588',
  JSON_ENCODED_SOURCES: 'http://jitsi.org/json-encoded-sources',
  SOURCE_NAME: 'http://jitsi.org/source-name',
  RECEIVE_MULTIPLE_VIDEO_STREAMS: 'http://jitsi.org/receive-multiple-video-streams',
  SSRC_REWRITING: 'http://jitsi.org/ssrc-rewriting-1',
  TCC: 'http://jitsi.org/tcc',
  REMB: 'http://jitsi.org/remb',
  OPUS_RED: 'http://jitsi.org/opus-red',
  RTP_MID_DEMUX: 'http://jitsi.org/rtp-mid-demux',
  VISITORS: 'http://jitsi.org/visitors-1',
  START_MUTED_ROOM_METADATA: 'http://jitsi.org/start-muted-room-metadata',
  RAYO_CLIENT: 'urn:xmpp:rayo:client:1',
  E2EE: 'https://jitsi.org/meet/e2ee',
} as const;

export type Feature = (typeof FEATURE)[keyof typeof FEATURE];
