// Hummingbird's COLIBRI2 extension for per-receiver consumer SSRCs (spec/jitsi-client-protocol.md §8.1).
//
// JVB forwards every sender's SSRCs unchanged, so Jicofo signals the same sources to everyone. A mediasoup
// bridge cannot: every `consume()` picks a fresh SSRC (+ RTX) per receiver. So the bridge tells the focus, for
// each receiver, which SSRCs it will send for each remote source, and the focus signals exactly those in that
// receiver's Jingle (session-initiate / source-add / source-remove).
//
// Where: a child of `<conference-modified>` (additive; a Jicofo ignores it). Every response whose request
// changed some receiver's consumer set (an endpoint created, sources replaced, an endpoint expired) carries
// one `<endpoint id>` per such receiver with that receiver's FULL current set — a replacement, like
// `<sources>` in the request (§3.2), so the focus never has to merge deltas. Responses of one conference are
// produced in request order (§3.1), so the last one the focus received is the truth.
//
//   <consumers xmlns="urn:hummingbird:colibri2:consumers:0">
//     <endpoint id="receiver-id">
//       <media-source type="video" id="sender-v0">          (the sender's source name)
//         <source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="…" name="sender-v0">
//           <parameter name="msid" value="…"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="sender"/>
//         </source>
//         <source … ssrc="rtx"/> <ssrc-group semantics="FID"><source ssrc/><source ssrc/></ssrc-group>
//       </media-source>
//     </endpoint>
//   </consumers>
import type { Element } from '../xml.js';
import { buildMediaSource, parseMediaSource, type Colibri2MediaSource } from './colibri2.js';
import { appendAll, children, el, expectElement, fail, reqToken } from './read.js';

export const CONSUMERS_NS = 'urn:hummingbird:colibri2:consumers:0';

/** One receiver's complete set of consumer sources (one media-source per remote source it receives). */
export interface ReceiverConsumers {
  readonly endpointId: string;
  readonly sources: readonly Colibri2MediaSource[];
}

const MAX_RECEIVERS = 10_000;
const MAX_SOURCES = 10_000;

export function parseConsumerReport(input: Element): ReceiverConsumers[] {
  const path = 'consumers';
  const e = expectElement(input, 'consumers', CONSUMERS_NS, path);
  const eps = children(e, 'endpoint', CONSUMERS_NS);
  if (eps.length > MAX_RECEIVERS) fail(path, `more than ${MAX_RECEIVERS} endpoints`);
  const seen = new Set<string>();
  return eps.map((ep, i) => {
    const p = `${path}/endpoint[${i}]`;
    const endpointId = reqToken(ep, 'id', p);
    if (seen.has(endpointId)) fail(`${p}@id`, 'duplicate endpoint');
    seen.add(endpointId);
    const ms = children(ep, 'media-source', CONSUMERS_NS);
    if (ms.length > MAX_SOURCES) fail(p, `more than ${MAX_SOURCES} media-sources`);
    return { endpointId, sources: ms.map((m, j) => parseMediaSource(m, `${p}/media-source[${j}]`)) };
  });
}

export function buildConsumerReport(receivers: readonly ReceiverConsumers[]): Element {
  const e = el('consumers', { xmlns: CONSUMERS_NS });
  return appendAll(
    e,
    receivers.map((r) => appendAll(el('endpoint', { id: r.endpointId }), r.sources.map(buildMediaSource))),
  );
}

/** The `<consumers>` child of a `<conference-modified>`, parsed; undefined when it has none. */
export function consumerReportOf(conferenceModified: Element): ReceiverConsumers[] | undefined {
  const c = conferenceModified.getChild('consumers', CONSUMERS_NS);
  return c === undefined ? undefined : parseConsumerReport(c);
}

// --- bridge → focus event: a conference the bridge lost (e.g. its mediasoup worker died)
//
// Sent as `<iq type="set">` from the bridge's occupant-routed JID to the focus that allocated the conference.
// The bridge has already expired the conference, so any later request for it gets `conference_not_found`,
// which Jicofo-style focuses answer with a re-invite anyway (jicofo-jvb.md §3.6); this event only makes it
// immediate instead of waiting for the next request or the clients' ICE failure.
//
//   <conference-failed xmlns="urn:hummingbird:colibri2:events:0" meeting-id="…" reason="worker-died"/>

export const BRIDGE_EVENTS_NS = 'urn:hummingbird:colibri2:events:0';
export const CONFERENCE_FAILURE_REASONS = ['worker-died', 'internal-error'] as const;
export type ConferenceFailureReason = (typeof CONFERENCE_FAILURE_REASONS)[number];

export interface ConferenceFailed {
  readonly meetingId: string;
  readonly reason: ConferenceFailureReason;
}

export function parseConferenceFailed(input: Element): ConferenceFailed {
  const path = 'conference-failed';
  const e = expectElement(input, 'conference-failed', BRIDGE_EVENTS_NS, path);
  const reason = reqToken(e, 'reason', path);
  if (!(CONFERENCE_FAILURE_REASONS as readonly string[]).includes(reason)) fail(`${path}@reason`, 'unknown reason');
  return { meetingId: reqToken(e, 'meeting-id', path), reason: reason as ConferenceFailureReason };
}

export function buildConferenceFailed(f: ConferenceFailed): Element {
  return el('conference-failed', { xmlns: BRIDGE_EVENTS_NS, 'meeting-id': f.meetingId, reason: f.reason });
}
