// MUC presence (XEP-0045) with the Jitsi extensions the client sends and the focus reads
// (`spec/jitsi-client-protocol.md` §3.2–3.4, §10 for older clients). `parseMucPresence` takes a whole
// `<presence>` stanza. Children it does not model (app commands, `jitsi_participant_<key>` properties,
// occupant-id, identity…) are kept verbatim in `extensions`, because ljm relays any of them as app
// commands (§3.3) and the focus must not lose them.
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import {
  MAX_VALUE_LENGTH, appendAll, childElements, cloneTree, el, fail, isXmlElement, localName, nsOf, optEnum, optString, optToken, parseBool, parseUint,
  reqToken, text, withText,
} from './read.js';

export const PRESENCE_TYPES = ['unavailable', 'error', 'probe', 'subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'] as const;
export type PresenceType = (typeof PRESENCE_TYPES)[number];

export const MUC_ROLES = ['moderator', 'participant', 'visitor', 'none'] as const;
export type MucRole = (typeof MUC_ROLES)[number];
export const MUC_AFFILIATIONS = ['owner', 'admin', 'member', 'outcast', 'none'] as const;
export type MucAffiliation = (typeof MUC_AFFILIATIONS)[number];

export interface MucItem {
  /** The occupant's real JID: §3.3, ljm ignores occupants without it (rooms must be non-anonymous). */
  readonly jid?: string;
  readonly role?: MucRole;
  readonly affiliation?: MucAffiliation;
  readonly nick?: string;
}

/** `<x xmlns="http://jabber.org/protocol/muc#user">` */
export interface MucUser {
  readonly items: readonly MucItem[];
  /** 110 self, 201 created, 307 kicked, 100 non-anonymous … */
  readonly statusCodes: readonly number[];
  readonly destroy?: { readonly jid?: string; readonly reason?: string };
}

/** `<x xmlns="http://jabber.org/protocol/muc">` of a join (first presence only). */
export interface MucJoin {
  readonly password?: string;
  /** §2.2: HTTP conference-request mode puts the machine uid here. */
  readonly billingId?: string;
}

export interface Caps {
  readonly hash: string;
  readonly node: string;
  readonly ver: string;
}

/** One entry of the `SourceInfo` JSON: `{"<ep>-v0":{"muted":false,"videoType":"desktop"}}`. */
export interface SourceInfoEntry {
  readonly name: string;
  readonly muted?: boolean;
  readonly videoType?: string;
}

export interface MucPresence {
  readonly from?: string;
  readonly to?: string;
  readonly id?: string;
  readonly type?: PresenceType;
  readonly lang?: string;
  readonly join?: MucJoin;
  readonly user?: MucUser;
  readonly statsId?: string;
  readonly caps?: Caps;
  /** Display name (XEP-0172). */
  readonly nick?: string;
  /** Per-source mute state (§3.2); `{}` until media is negotiated. */
  readonly sourceInfo?: readonly SourceInfoEntry[];
  /** `jitsi_participant_codecList`, e.g. `["av1","vp9","vp8","h264"]` (preference order). */
  readonly codecList?: readonly string[];
  /** `<features><feature var/></features>` (E2EE). */
  readonly features?: readonly string[];
  /** `<status>` text (e.g. the reason in an unavailable presence). */
  readonly status?: string;
  /** Legacy mute elements (§10: still read from older clients). */
  readonly audioMuted?: boolean;
  readonly videoMuted?: boolean;
  readonly videoType?: string;
  /** Focus-only: `conference-properties` (§3.3). */
  readonly conferenceProperties?: readonly { readonly key: string; readonly value: string }[];
  /** Every other child, verbatim, in document order. */
  readonly extensions: readonly Element[];
}

const MAX_SOURCE_INFO = 1024;

function parseSourceInfo(raw: string, path: string): SourceInfoEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    fail(path, `not JSON (${err instanceof Error ? err.name : 'error'})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail(path, 'not a JSON object');
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length > MAX_SOURCE_INFO) fail(path, `more than ${MAX_SOURCE_INFO} sources`);
  return entries.map(([name, v]) => {
    const where = `${path}[${JSON.stringify(name.slice(0, 40))}]`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'not an object');
    const o = v as Record<string, unknown>;
    const muted = Object.hasOwn(o, 'muted') ? o.muted : undefined;
    const videoType = Object.hasOwn(o, 'videoType') ? o.videoType : undefined;
    if (muted !== undefined && typeof muted !== 'boolean') fail(`${where}.muted`, 'not a boolean');
    if (videoType !== undefined && typeof videoType !== 'string') fail(`${where}.videoType`, 'not a string');
    return { name, ...(muted === undefined ? {} : { muted }), ...(videoType === undefined ? {} : { videoType }) };
  });
}

function buildSourceInfo(entries: readonly SourceInfoEntry[]): string {
  return JSON.stringify(
    Object.fromEntries(entries.map((e) => [e.name, { ...(e.muted === undefined ? {} : { muted: e.muted }), ...(e.videoType === undefined ? {} : { videoType: e.videoType }) }])),
  );
}

function parseMucUser(x: Element, path: string): MucUser {
  const items: MucItem[] = [];
  const statusCodes: number[] = [];
  let destroy: MucUser['destroy'];
  for (const c of childElements(x)) {
    if (nsOf(c) !== NS.MUC_USER) continue;
    const name = localName(c);
    const cp = `${path}/${name}`;
    if (name === 'item') {
      const jid = optToken(c, 'jid', cp);
      const role = optEnum(c, 'role', cp, MUC_ROLES);
      const affiliation = optEnum(c, 'affiliation', cp, MUC_AFFILIATIONS);
      const nick = optToken(c, 'nick', cp);
      items.push({
        ...(jid === undefined ? {} : { jid }), ...(role === undefined ? {} : { role }),
        ...(affiliation === undefined ? {} : { affiliation }), ...(nick === undefined ? {} : { nick }),
      });
    } else if (name === 'status') {
      statusCodes.push(parseUint(reqToken(c, 'code', cp), 100, 999, `${cp}@code`));
    } else if (name === 'destroy') {
      if (destroy !== undefined) fail(cp, 'more than one <destroy>');
      const jid = optToken(c, 'jid', cp);
      const reasonEl = c.getChildElements().find((r) => localName(r) === 'reason');
      const reason = reasonEl === undefined ? undefined : text(reasonEl, `${cp}/reason`);
      destroy = { ...(jid === undefined ? {} : { jid }), ...(reason === undefined ? {} : { reason }) };
    }
  }
  return { items, statusCodes, ...(destroy === undefined ? {} : { destroy }) };
}

function buildMucUser(u: MucUser): Element {
  const x = el('x', { xmlns: NS.MUC_USER });
  for (const i of u.items) x.cnode(el('item', { jid: i.jid, role: i.role, affiliation: i.affiliation, nick: i.nick }));
  for (const code of u.statusCodes) x.cnode(el('status', { code }));
  if (u.destroy !== undefined) {
    const d = el('destroy', { jid: u.destroy.jid });
    if (u.destroy.reason !== undefined) d.cnode(withText(el('reason', {}), u.destroy.reason));
    x.cnode(d);
  }
  return x;
}

function once<T>(current: T | undefined, path: string): void {
  if (current !== undefined) fail(path, 'duplicate element');
}

/** Parses a `<presence>` stanza sent to or from a MUC room. Throws MalformedStanzaError. */
export function parseMucPresence(input: Element): MucPresence {
  const path = 'presence';
  if (!isXmlElement(input) || localName(input) !== 'presence') fail(path, 'not a <presence> element');
  const e = input;
  // Jitsi's own presence children (stats-id, SourceInfo, …) carry no namespace of their own: they are in the
  // stream's (jabber:client for clients, jabber:component:accept for the focus, none once detached).
  const plainNs = new Set([undefined, NS.CLIENT, NS.COMPONENT_ACCEPT, nsOf(e)]);
  const from = optToken(e, 'from', path);
  const to = optToken(e, 'to', path);
  const id = optString(e, 'id', path);
  const type = optEnum(e, 'type', path, PRESENCE_TYPES);
  const lang = optString(e, 'xml:lang', path);
  let join: MucJoin | undefined;
  let user: MucUser | undefined;
  let statsId: string | undefined;
  let caps: Caps | undefined;
  let nick: string | undefined;
  let sourceInfo: SourceInfoEntry[] | undefined;
  let codecList: string[] | undefined;
  let features: string[] | undefined;
  let status: string | undefined;
  let audioMuted: boolean | undefined;
  let videoMuted: boolean | undefined;
  let videoType: string | undefined;
  let conferenceProperties: { key: string; value: string }[] | undefined;
  const extensions: Element[] = [];
  for (const c of childElements(e)) {
    const ns = nsOf(c);
    const name = localName(c);
    const cp = `${path}/${name}`;
    const plain = plainNs.has(ns);
    if (name === 'x' && ns === NS.MUC) {
      once(join, cp);
      const pw = c.getChildElements().find((p) => localName(p) === 'password' && nsOf(p) === NS.MUC);
      const bid = c.getChildElements().find((p) => localName(p) === 'billingid' && nsOf(p) === NS.MUC);
      join = {
        ...(pw === undefined ? {} : { password: text(pw, `${cp}/password`) }),
        ...(bid === undefined ? {} : { billingId: text(bid, `${cp}/billingid`) }),
      };
    } else if (name === 'x' && ns === NS.MUC_USER) {
      once(user, cp);
      user = parseMucUser(c, cp);
    } else if (name === 'c' && ns === NS.CAPS) {
      once(caps, cp);
      caps = { hash: reqToken(c, 'hash', cp), node: reqToken(c, 'node', cp), ver: reqToken(c, 'ver', cp) };
    } else if (name === 'nick' && ns === NS.NICK) {
      once(nick, cp);
      nick = text(c, cp);
    } else if (plain && name === 'stats-id') {
      once(statsId, cp);
      statsId = text(c, cp);
    } else if (plain && name === 'SourceInfo') {
      once(sourceInfo, cp);
      sourceInfo = parseSourceInfo(text(c, cp), cp);
    } else if (plain && name === 'jitsi_participant_codecList') {
      once(codecList, cp);
      const raw = text(c, cp);
      codecList = raw === '' ? [] : raw.split(',');
    } else if (plain && name === 'features') {
      once(features, cp);
      features = c.getChildElements().filter((f) => localName(f) === 'feature').map((f, i) => reqToken(f, 'var', `${cp}/feature[${i}]`));
    } else if (plain && name === 'status') {
      once(status, cp);
      status = text(c, cp);
    } else if (plain && (name === 'audiomuted' || name === 'videomuted')) {
      const v = parseBool(text(c, cp).trim(), cp);
      if (name === 'audiomuted') {
        once(audioMuted, cp);
        audioMuted = v;
      } else {
        once(videoMuted, cp);
        videoMuted = v;
      }
    } else if (plain && name === 'videoType') {
      once(videoType, cp);
      videoType = text(c, cp);
    } else if (name === 'conference-properties' && ns === NS.FOCUS) {
      once(conferenceProperties, cp);
      conferenceProperties = c.getChildElements().filter((p) => localName(p) === 'property')
        .map((p, i) => ({ key: reqToken(p, 'key', `${cp}/property[${i}]`), value: optString(p, 'value', `${cp}/property[${i}]`) ?? '' }));
    } else {
      if (extensions.length >= 256) fail(path, 'more than 256 extension elements');
      extensions.push(c);
    }
  }
  if (codecList !== undefined && codecList.join(',').length > MAX_VALUE_LENGTH) fail(`${path}/jitsi_participant_codecList`, 'too long');
  return {
    ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), ...(id === undefined ? {} : { id }),
    ...(type === undefined ? {} : { type }), ...(lang === undefined ? {} : { lang }),
    ...(join === undefined ? {} : { join }), ...(user === undefined ? {} : { user }),
    ...(statsId === undefined ? {} : { statsId }), ...(caps === undefined ? {} : { caps }), ...(nick === undefined ? {} : { nick }),
    ...(sourceInfo === undefined ? {} : { sourceInfo }), ...(codecList === undefined ? {} : { codecList }),
    ...(features === undefined ? {} : { features }), ...(status === undefined ? {} : { status }),
    ...(audioMuted === undefined ? {} : { audioMuted }), ...(videoMuted === undefined ? {} : { videoMuted }),
    ...(videoType === undefined ? {} : { videoType }),
    ...(conferenceProperties === undefined ? {} : { conferenceProperties }),
    extensions,
  };
}

/** Builds the `<presence>` stanza (no `xmlns`: the connection's stream namespace applies). */
export function buildMucPresence(p: MucPresence): Element {
  const e = el('presence', { from: p.from, to: p.to, id: p.id, type: p.type, 'xml:lang': p.lang });
  if (p.join !== undefined) {
    const x = el('x', { xmlns: NS.MUC });
    if (p.join.password !== undefined) x.cnode(withText(el('password', {}), p.join.password));
    if (p.join.billingId !== undefined) x.cnode(withText(el('billingid', {}), p.join.billingId));
    e.cnode(x);
  }
  if (p.statsId !== undefined) e.cnode(withText(el('stats-id', {}), p.statsId));
  if (p.caps !== undefined) e.cnode(el('c', { xmlns: NS.CAPS, hash: p.caps.hash, node: p.caps.node, ver: p.caps.ver }));
  if (p.sourceInfo !== undefined) e.cnode(withText(el('SourceInfo', {}), buildSourceInfo(p.sourceInfo)));
  if (p.codecList !== undefined) e.cnode(withText(el('jitsi_participant_codecList', {}), p.codecList.join(',')));
  if (p.nick !== undefined) e.cnode(withText(el('nick', { xmlns: NS.NICK }), p.nick));
  if (p.features !== undefined) e.cnode(appendAll(el('features', {}), p.features.map((v) => el('feature', { var: v }))));
  if (p.status !== undefined) e.cnode(withText(el('status', {}), p.status));
  if (p.audioMuted !== undefined) e.cnode(withText(el('audiomuted', {}), String(p.audioMuted)));
  if (p.videoMuted !== undefined) e.cnode(withText(el('videomuted', {}), String(p.videoMuted)));
  if (p.videoType !== undefined) e.cnode(withText(el('videoType', {}), p.videoType));
  if (p.conferenceProperties !== undefined) {
    e.cnode(appendAll(el('conference-properties', { xmlns: NS.FOCUS }), p.conferenceProperties.map((c) => el('property', { key: c.key, value: c.value }))));
  }
  for (const x of p.extensions) e.cnode(cloneTree(x));
  if (p.user !== undefined) e.cnode(buildMucUser(p.user));
  return e;
}

/** True when the presence's muc#user status codes include `code` (110 = self-presence). */
export function hasStatus(p: MucPresence, code: number): boolean {
  return p.user?.statusCodes.includes(code) ?? false;
}
