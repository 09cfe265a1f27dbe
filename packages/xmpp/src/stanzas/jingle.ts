// Jingle (XEP-0166/0167) with Jitsi's extensions, as the focus and lib-jitsi-meet speak it
// (`spec/jitsi-client-protocol.md` §4): session-initiate / accept / terminate / info, source-add /
// source-remove (XML and the JSON `json-message` form, §4.4), transport-info (§4.7), BUNDLE groups,
// `bridge-session` and `startmuted`. `parseJingle` takes the `<jingle>` element of an IQ and returns a
// typed value or throws MalformedStanzaError; `buildJingle` is its inverse.
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { buildIceUdpTransport, parseIceUdpTransport, type IceUdpTransport } from './ice.js';
import {
  appendAll, child, childElements, children, el, expectElement, fail, localName, nsOf, optBool, optEnum, optToken,
  optUint, reqEnum, reqToken, singleChild, text, withText,
} from './read.js';
import {
  HDREXT_NS, buildHeaderExtension, buildPayloadType, buildSource, buildSsrcGroup, parseHeaderExtension,
  parsePayloadType, parseSources, type HeaderExtension, type PayloadType, type RtpSource, type SsrcGroup,
} from './rtp.js';
import { buildJsonSources, parseJsonSources, type JsonSources } from './jingle-json.js';

/** XEP-0166 §7.2 actions plus Jitsi's `source-add`/`source-remove` (the legacy `addsource` spellings are rejected: §4.1). */
export const JINGLE_ACTIONS = [
  'content-accept', 'content-add', 'content-modify', 'content-reject', 'content-remove', 'description-info',
  'security-info', 'session-accept', 'session-info', 'session-initiate', 'session-terminate', 'transport-accept',
  'transport-info', 'transport-reject', 'transport-replace', 'source-add', 'source-remove',
] as const;
export type JingleAction = (typeof JINGLE_ACTIONS)[number];

export const JINGLE_CREATORS = ['initiator', 'responder'] as const;
export type JingleCreator = (typeof JINGLE_CREATORS)[number];

/** §4.2: `rejected` is what ljm maps to port 0; XEP-0166 defines the other four. */
export const JINGLE_SENDERS = ['both', 'initiator', 'responder', 'none', 'rejected'] as const;
export type JingleSenders = (typeof JINGLE_SENDERS)[number];

/** XEP-0166 §7.4 reason conditions. */
export const JINGLE_REASONS = [
  'alternative-session', 'busy', 'cancel', 'connectivity-error', 'decline', 'expired', 'failed-application',
  'failed-transport', 'general-error', 'gone', 'incompatible-parameters', 'media-error', 'security-error', 'success',
  'timeout', 'unsupported-applications', 'unsupported-transports',
] as const;
export type JingleReasonCondition = (typeof JINGLE_REASONS)[number];

export interface JingleReason {
  readonly condition: JingleReasonCondition;
  readonly text?: string;
}

export interface RtpDescription {
  /** `audio`, `video` or `application`. */
  readonly media: string;
  readonly maxptime?: number;
  readonly payloadTypes: readonly PayloadType[];
  readonly headerExtensions: readonly HeaderExtension[];
  readonly extmapAllowMixed: boolean;
  /** §4.2: the only source of `a=rtcp-mux`; Chrome rejects an offer without it. */
  readonly rtcpMux: boolean;
  readonly sources: readonly RtpSource[];
  readonly ssrcGroups: readonly SsrcGroup[];
}

export interface JingleContent {
  readonly name: string;
  readonly creator?: JingleCreator;
  readonly senders?: JingleSenders;
  readonly description?: RtpDescription;
  readonly transport?: IceUdpTransport;
  /** §4.3: `<initial-last-n xmlns="jitsi:colibri2" value>` inside the video content. */
  readonly initialLastN?: number;
}

export interface JingleGroup {
  /** `BUNDLE` (RFC 5888 / XEP-0338). */
  readonly semantics: string;
  /** Content names; §4.3: the client lists `data` even when it was not offered, so names may be unknown. */
  readonly contents: readonly string[];
}

/** `<bridge-session xmlns="http://jitsi.org/protocol/focus">` (§4.2, §4.7). */
export interface BridgeSession {
  readonly id: string;
  readonly region?: string;
  /** The client asks for a re-invite (terminate + new initiate) after ICE failure. */
  readonly restart?: boolean;
  /** The client asks for an in-place ICE restart (session-info). */
  readonly iceRestart?: boolean;
}

export interface StartMuted {
  readonly audio?: boolean;
  readonly video?: boolean;
}

export interface Jingle {
  readonly action: JingleAction;
  readonly sid: string;
  readonly initiator?: string;
  readonly responder?: string;
  readonly contents: readonly JingleContent[];
  readonly groups: readonly JingleGroup[];
  readonly bridgeSession?: BridgeSession;
  readonly reason?: JingleReason;
  /** §4.4: `<json-message xmlns="http://jitsi.org/jitmeet">{"sources":…}</json-message>`. */
  readonly jsonSources?: JsonSources;
  readonly startMuted?: StartMuted;
}

const J = NS.JINGLE;
const RTP = NS.JINGLE_RTP;

function parseDescription(e: Element, path: string): RtpDescription {
  const maxptime = optUint(e, 'maxptime', path, 0, 0xffff);
  return {
    media: reqToken(e, 'media', path),
    ...(maxptime === undefined ? {} : { maxptime }),
    payloadTypes: children(e, 'payload-type', RTP).map((p, i) => parsePayloadType(p, `${path}/payload-type[${i}]`)),
    headerExtensions: children(e, 'rtp-hdrext', HDREXT_NS).map((h, i) => parseHeaderExtension(h, `${path}/rtp-hdrext[${i}]`)),
    extmapAllowMixed: child(e, 'extmap-allow-mixed', HDREXT_NS) !== undefined,
    rtcpMux: child(e, 'rtcp-mux', RTP) !== undefined,
    ...parseSources(e, path),
  };
}

function buildDescription(d: RtpDescription): Element {
  const e = el('description', { xmlns: RTP, media: d.media, maxptime: d.maxptime });
  appendAll(e, d.payloadTypes.map((p) => buildPayloadType(p)));
  appendAll(e, d.headerExtensions.map(buildHeaderExtension));
  if (d.extmapAllowMixed) e.cnode(el('extmap-allow-mixed', { xmlns: HDREXT_NS }));
  appendAll(e, d.sources.map(buildSource));
  appendAll(e, d.ssrcGroups.map(buildSsrcGroup));
  if (d.rtcpMux) e.cnode(el('rtcp-mux', {}));
  return e;
}

function parseContent(e: Element, path: string): JingleContent {
  const creator = optEnum(e, 'creator', path, JINGLE_CREATORS);
  const senders = optEnum(e, 'senders', path, JINGLE_SENDERS);
  const desc = singleChild(e, 'description', RTP, path);
  const transport = singleChild(e, 'transport', NS.JINGLE_ICE_UDP, path);
  const lastN = singleChild(e, 'initial-last-n', NS.COLIBRI2, path);
  const initialLastN = lastN === undefined ? undefined : optUint(lastN, 'value', `${path}/initial-last-n`, 0, 0xffffffff);
  if (lastN !== undefined && initialLastN === undefined) fail(`${path}/initial-last-n@value`, 'required attribute missing');
  return {
    name: reqToken(e, 'name', path),
    ...(creator === undefined ? {} : { creator }),
    ...(senders === undefined ? {} : { senders }),
    ...(desc === undefined ? {} : { description: parseDescription(desc, `${path}/description`) }),
    ...(transport === undefined ? {} : { transport: parseIceUdpTransport(transport, `${path}/transport`) }),
    ...(initialLastN === undefined ? {} : { initialLastN }),
  };
}

function buildContent(c: JingleContent): Element {
  return el(
    'content',
    { creator: c.creator, name: c.name, senders: c.senders },
    c.description !== undefined && buildDescription(c.description),
    c.transport !== undefined && buildIceUdpTransport(c.transport),
    c.initialLastN !== undefined && el('initial-last-n', { xmlns: NS.COLIBRI2, value: c.initialLastN }),
  );
}

function parseReason(e: Element, path: string): JingleReason {
  let condition: JingleReasonCondition | undefined;
  let reasonText: string | undefined;
  for (const c of childElements(e)) {
    if (nsOf(c) !== J) continue;
    const name = localName(c);
    if (name === 'text') {
      if (reasonText !== undefined) fail(`${path}/text`, 'more than one <text>');
      reasonText = text(c, `${path}/text`);
    } else if ((JINGLE_REASONS as readonly string[]).includes(name)) {
      if (condition !== undefined) fail(path, 'more than one reason condition');
      condition = name as JingleReasonCondition;
    }
  }
  if (condition === undefined) fail(path, 'no reason condition');
  return { condition, ...(reasonText === undefined ? {} : { text: reasonText }) };
}

function parseBridgeSession(e: Element, path: string): BridgeSession {
  const region = optToken(e, 'region', path);
  const restart = optBool(e, 'restart', path);
  const iceRestart = optBool(e, 'ice-restart', path);
  return {
    id: reqToken(e, 'id', path),
    ...(region === undefined ? {} : { region }),
    ...(restart === undefined ? {} : { restart }),
    ...(iceRestart === undefined ? {} : { iceRestart }),
  };
}

export function buildBridgeSession(b: BridgeSession): Element {
  return el('bridge-session', { xmlns: NS.FOCUS, id: b.id, region: b.region, restart: b.restart, 'ice-restart': b.iceRestart });
}

/** Parses a `<jingle xmlns="urn:xmpp:jingle:1">` element. Unknown extension children are ignored. */
export function parseJingle(input: Element): Jingle {
  const path = 'jingle';
  const e = expectElement(input, 'jingle', J, path);
  const action = reqEnum(e, 'action', path, JINGLE_ACTIONS);
  const initiator = optToken(e, 'initiator', path);
  const responder = optToken(e, 'responder', path);
  const contents = children(e, 'content', J).map((c, i) => parseContent(c, `${path}/content[${i}]`));
  const names = new Set<string>();
  for (const c of contents) {
    if (names.has(c.name)) fail(`${path}/content`, `duplicate content name ${JSON.stringify(c.name)}`);
    names.add(c.name);
  }
  const groups = children(e, 'group', NS.JINGLE_GROUPING).map((g, i) => {
    const gp = `${path}/group[${i}]`;
    return {
      semantics: reqToken(g, 'semantics', gp),
      contents: children(g, 'content', NS.JINGLE_GROUPING).map((c, k) => reqToken(c, 'name', `${gp}/content[${k}]`)),
    };
  });
  const bs = singleChild(e, 'bridge-session', NS.FOCUS, path);
  const reason = singleChild(e, 'reason', J, path);
  const json = singleChild(e, 'json-message', NS.JITMEET, path);
  const sm = singleChild(e, 'startmuted', NS.JITMEET_START_MUTED, path);
  let startMuted: StartMuted | undefined;
  if (sm !== undefined) {
    const audio = optBool(sm, 'audio', `${path}/startmuted`);
    const video = optBool(sm, 'video', `${path}/startmuted`);
    startMuted = { ...(audio === undefined ? {} : { audio }), ...(video === undefined ? {} : { video }) };
  }
  if ((action === 'session-initiate' || action === 'session-accept') && contents.length === 0) {
    fail(`${path}/content`, `${action} without any content`);
  }
  return {
    action,
    sid: reqToken(e, 'sid', path),
    ...(initiator === undefined ? {} : { initiator }),
    ...(responder === undefined ? {} : { responder }),
    contents,
    groups,
    ...(bs === undefined ? {} : { bridgeSession: parseBridgeSession(bs, `${path}/bridge-session`) }),
    ...(reason === undefined ? {} : { reason: parseReason(reason, `${path}/reason`) }),
    ...(json === undefined ? {} : { jsonSources: parseJsonSources(text(json, `${path}/json-message`), `${path}/json-message`) }),
    ...(startMuted === undefined ? {} : { startMuted }),
  };
}

/** Builds the `<jingle>` element (put it in an `<iq type="set">`). */
export function buildJingle(j: Jingle): Element {
  const e = el('jingle', { xmlns: J, action: j.action, sid: j.sid, initiator: j.initiator, responder: j.responder });
  appendAll(e, j.contents.map(buildContent));
  for (const g of j.groups) {
    e.cnode(appendAll(el('group', { xmlns: NS.JINGLE_GROUPING, semantics: g.semantics }), g.contents.map((name) => el('content', { name }))));
  }
  if (j.bridgeSession !== undefined) e.cnode(buildBridgeSession(j.bridgeSession));
  if (j.reason !== undefined) {
    const r = el('reason', {}, el(j.reason.condition, {}));
    if (j.reason.text !== undefined) r.cnode(withText(el('text', {}), j.reason.text));
    e.cnode(r);
  }
  if (j.jsonSources !== undefined) e.cnode(withText(el('json-message', { xmlns: NS.JITMEET }), buildJsonSources(j.jsonSources)));
  if (j.startMuted !== undefined) {
    e.cnode(el('startmuted', { xmlns: NS.JITMEET_START_MUTED, audio: j.startMuted.audio, video: j.startMuted.video }));
  }
  return e;
}

/** The BUNDLE group of a session-initiate built from its contents (§4.2: MUST be present). */
export function bundleGroup(contents: readonly JingleContent[]): JingleGroup {
  return { semantics: 'BUNDLE', contents: contents.map((c) => c.name) };
}
