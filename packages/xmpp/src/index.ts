export { bareJid, formatJid, jid, jidEquals, JidError, MAX_PART_OCTETS, parseJid, type Jid, type JidErrorReason, type JidPart } from './jid.js';
export { FEATURE, NS, type Feature, type Namespace } from './namespaces.js';
export { Element, createElement, parseXmlString, xmlEqual, cloneElement, xml, isElement, type Attrs, type XmlNode } from './xml.js';
export { StanzaError, MalformedStanzaError, STANZA_ERROR_CONDITIONS, type StanzaErrorCondition, type StanzaErrorType } from './errors.js';
export * from './iq/index.js';
export * from './connection/index.js';
// Typed stanza models (parse ⇄ build), one module per protocol.
export {
  parseConferenceRequest, buildConferenceRequest, parseConferenceResponse, buildConferenceResponse, focusProperty,
  type ConferenceRequest, type ConferenceResponse, type FocusProperty,
} from './stanzas/focus.js';
export {
  parseMucPresence, buildMucPresence, hasStatus, MUC_ROLES, MUC_AFFILIATIONS, PRESENCE_TYPES,
  type MucPresence, type MucItem, type MucUser, type MucJoin, type Caps, type SourceInfoEntry, type MucRole, type MucAffiliation,
  type PresenceType,
} from './stanzas/muc-presence.js';
export {
  parseJingle, buildJingle, buildBridgeSession, bundleGroup, JINGLE_ACTIONS, JINGLE_REASONS, JINGLE_SENDERS, JINGLE_CREATORS,
  type Jingle, type JingleAction, type JingleContent, type JingleGroup, type JingleReason, type JingleReasonCondition,
  type JingleSenders, type JingleCreator, type RtpDescription, type BridgeSession, type StartMuted,
} from './stanzas/jingle.js';
export {
  parseJsonSources, buildJsonSources, jsonSourcesToRtp, type JsonSources, type JsonOwnerSources, type JsonSource,
} from './stanzas/jingle-json.js';
export {
  parseIceUdpTransport, buildIceUdpTransport, normalizeFingerprint, DTLS_SETUP, CANDIDATE_TYPES,
  type IceUdpTransport, type IceCandidate, type DtlsFingerprint, type DtlsSetup, type CandidateType, type SctpMap,
} from './stanzas/ice.js';
export {
  parsePayloadType, buildPayloadType, parseHeaderExtension, buildHeaderExtension, parseSource, buildSource, parseSsrcGroup,
  buildSsrcGroup, sourceMsid,
  type PayloadType, type FmtpParameter, type RtcpFb, type HeaderExtension, type RtpSource, type SourceParameter, type SsrcGroup,
} from './stanzas/rtp.js';
export {
  parseConferenceModify, buildConferenceModify, parseConferenceModified, buildConferenceModified, conferenceModifyShapeError,
  parseColibri2Error, buildColibri2Error, colibri2StanzaError, colibri2ReasonOf, COLIBRI2_ERROR_REASONS,
  type ConferenceModify, type ConferenceModified, type Colibri2Endpoint, type Colibri2EndpointResult, type Colibri2Relay,
  type Colibri2RelayEndpoint, type Colibri2Media, type Colibri2MediaSource, type Colibri2Transport, type Colibri2Sctp,
  type Colibri2ForceMute, type Colibri2Connect, type Colibri2Error, type Colibri2ErrorReason, type Colibri2MediaType,
} from './stanzas/colibri2.js';
export {
  parseMedia, buildMedia, parseMediaSource, buildMediaSource,
} from './stanzas/colibri2.js';
export {
  CONSUMERS_NS, parseConsumerReport, buildConsumerReport, consumerReportOf, BRIDGE_EVENTS_NS, CONFERENCE_FAILURE_REASONS,
  parseConferenceFailed, buildConferenceFailed,
  type ReceiverConsumers, type ConferenceFailed, type ConferenceFailureReason,
} from './stanzas/colibri2-consumers.js';
export { parseBridgeStats, buildBridgeStats, type BridgeStats, type BridgeStat } from './stanzas/brewery.js';
export {
  parseServicesRequest, buildServicesRequest, parseServicesResponse, buildServicesResponse,
  type ServicesRequest, type ServicesResponse, type ExternalService, type ExtdiscoNamespace,
} from './stanzas/extdisco.js';
// Jingle ⇄ mediasoup mapping (spec §8, with the sdes:mid finding).
export {
  offerDescription, consumerRtpCapabilities, producerRtpParameters, signalledSources, encodingsFromSsrcs, consumerSources,
  consumerMid, dtlsParametersFromTransport, iceUdpTransportFromMediasoup, payloadTypeFromCodec,
  codecCapabilityFromPayloadType, codecParametersFromPayloadType, MappingError, SDES_MID_URI, OFFERED_HEADER_EXTENSIONS,
  type MidMode, type OfferDescriptionOptions, type SignalledSource, type ConsumerSignalling, type BridgeTransportDescription,
} from './mapping/mediasoup.js';
export {
  conferenceModifyToJson, conferenceModifyFromJson, conferenceModifiedToJson, conferenceModifiedFromJson, type Json,
} from './stanzas/colibri2-json.js';
export {
  sessionInitiate, feedbackSource, jsonSourcesFor,
  type SessionInitiateInput, type RemoteSources, type OwnedSources,
} from './mapping/session.js';
