// The focus `conference` IQ (`spec/jitsi-client-protocol.md` §2.1; `spec/jicofo-jvb.md` §2.2): the client's
// request (IQ set to focus.<domain>) and the focus's answer (IQ result, same element). Errors the client
// reads (`reservation-error`, `session-invalid`, `not-authorized`) travel as ordinary stanza errors.
import { JidError, parseJid } from '../jid.js';
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { appendAll, children, el, expectElement, fail, optBool, optString, optToken, reqString, reqToken } from './read.js';

export interface FocusProperty {
  readonly name: string;
  readonly value: string;
}

/** Client → focus. §2.1: `room` is required (Jicofo answers `bad-request` without it). */
export interface ConferenceRequest {
  /** Bare room JID, `<room>@<muc domain>`, as sent. */
  readonly room: string;
  readonly machineUid?: string;
  /** The client's JWT, passed through verbatim (Prosody validated it at login). */
  readonly token?: string;
  readonly sessionId?: string;
  /** `rtcstatsEnabled`, `visitors-version`, `visitor`, `startAudioMuted`, … (unknown names are carried). */
  readonly properties: readonly FocusProperty[];
}

/** Focus → client. `ready` must become true; `focusjid` is how ljm recognises the focus occupant (§3.4). */
export interface ConferenceResponse {
  readonly room?: string;
  readonly ready: boolean;
  readonly focusJid?: string;
  readonly sessionId?: string;
  readonly identity?: string;
  /** Visitor redirect; ljm stops the connection when present (§2.1: must be absent). */
  readonly vnode?: string;
  readonly properties: readonly FocusProperty[];
}

function checkJid(value: string, where: string, bare: boolean): string {
  try {
    const j = parseJid(value);
    if (bare && j.resource !== undefined) fail(where, 'must be a bare JID');
  } catch (err) {
    if (err instanceof JidError) fail(where, err.message);
    throw err;
  }
  return value;
}

function parseProperties(e: Element, path: string): FocusProperty[] {
  return children(e, 'property', NS.FOCUS).map((p, i) => {
    const pp = `${path}/property[${i}]`;
    return { name: reqToken(p, 'name', pp), value: reqString(p, 'value', pp) };
  });
}

function buildProperties(parent: Element, props: readonly FocusProperty[]): Element {
  return appendAll(parent, props.map((p) => el('property', { name: p.name, value: p.value })));
}

export function parseConferenceRequest(input: Element): ConferenceRequest {
  const path = 'conference';
  const e = expectElement(input, 'conference', NS.FOCUS, path);
  const machineUid = optToken(e, 'machine-uid', path);
  const token = optToken(e, 'token', path);
  const sessionId = optToken(e, 'session-id', path);
  return {
    room: checkJid(reqToken(e, 'room', path), `${path}@room`, true),
    ...(machineUid === undefined ? {} : { machineUid }),
    ...(token === undefined ? {} : { token }),
    ...(sessionId === undefined ? {} : { sessionId }),
    properties: parseProperties(e, path),
  };
}

export function buildConferenceRequest(r: ConferenceRequest): Element {
  return buildProperties(
    el('conference', { xmlns: NS.FOCUS, room: r.room, 'machine-uid': r.machineUid, token: r.token, 'session-id': r.sessionId }),
    r.properties,
  );
}

export function parseConferenceResponse(input: Element): ConferenceResponse {
  const path = 'conference';
  const e = expectElement(input, 'conference', NS.FOCUS, path);
  const ready = optBool(e, 'ready', path);
  if (ready === undefined) fail(`${path}@ready`, 'required attribute missing');
  const room = optToken(e, 'room', path);
  const focusJid = optToken(e, 'focusjid', path);
  const sessionId = optToken(e, 'session-id', path);
  const identity = optString(e, 'identity', path);
  const vnode = optToken(e, 'vnode', path);
  return {
    ...(room === undefined ? {} : { room: checkJid(room, `${path}@room`, true) }),
    ready,
    ...(focusJid === undefined ? {} : { focusJid: checkJid(focusJid, `${path}@focusjid`, true) }),
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(identity === undefined ? {} : { identity }),
    ...(vnode === undefined ? {} : { vnode }),
    properties: parseProperties(e, path),
  };
}

export function buildConferenceResponse(r: ConferenceResponse): Element {
  return buildProperties(
    el('conference', {
      xmlns: NS.FOCUS, room: r.room, ready: r.ready, focusjid: r.focusJid, 'session-id': r.sessionId, identity: r.identity, vnode: r.vnode,
    }),
    r.properties,
  );
}

/** The value of a named property, if present (last one wins, as in Jicofo's map). */
export function focusProperty(props: readonly FocusProperty[], name: string): string | undefined {
  let v: string | undefined;
  for (const p of props) if (p.name === name) v = p.value;
  return v;
}
