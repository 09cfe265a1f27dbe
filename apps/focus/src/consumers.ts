import {
  jsonSourcesFor,
  sourceMsid,
  type Colibri2MediaSource,
  type Jingle,
  type OwnedSources,
  type RtpSource,
  type SsrcGroup,
} from '@hummingbird/xmpp';
import { MEDIA, sourceContents, type Media, type SourceSet } from './sources.js';

/**
 * Per-receiver consumer sources (spec/jitsi-client-protocol.md §8.1). A mediasoup bridge gives every consumer its
 * own SSRC (+ RTX), so each receiver must be told exactly the SSRCs of ITS consumers, tagged with the sender's owner,
 * source name, msid and videoType (§4.4–4.5). The Hummingbird bridge reports them per receiver in its COLIBRI2
 * answers (packages/xmpp colibri2-consumers.ts); this module turns one receiver's report into what its Jingle
 * session must carry, and computes the source-remove / source-add that bring the client from what it was told to
 * that. Pure: the conference owns the state and the sending.
 */

/** One remote source as one receiver sees it: a consumer of `owner`'s source `name`. */
export interface ReceiverSource {
  readonly media: Media;
  readonly owner: string;
  /** The sender's source name (`<owner>-v0`, §4.5), the key of a receiver's table. */
  readonly name: string;
  /** The consumer's SSRC, then its RTX if any; every one with name, msid, videoType and owner. */
  readonly sources: readonly RtpSource[];
  /** At most one FID group (primary, rtx); never SIM (§4.3). */
  readonly ssrcGroups: readonly SsrcGroup[];
  /** Everything the client would see; a changed key means remove + add. */
  readonly key: string;
}

export interface ReceiverView {
  readonly accepted: readonly ReceiverSource[];
  /** Report entries left out, with the reason (logged by the caller; a bridge bug must not reach a client). */
  readonly rejected: readonly string[];
}

const MAX_SSRCS_PER_SOURCE = 2;

/**
 * Checks one receiver's consumer report (`sources`, the bridge's full set for `receiver`) and turns it into the
 * sources that receiver is told. Left out, each with a reason: synthetic or empty entries, entries whose owner is
 * missing, is the receiver itself or is not a participant now (`isParticipant`; a leaver's consumers disappear at
 * once, as ljm drops them on the unavailable presence anyway, §4.4), names that do not belong to the owner (§4.5),
 * sources without an msid (§4.2: no remote track without it), groups other than one FID pair over the entry's own
 * SSRCs, more than a primary + RTX, and SSRCs or names already used by an earlier entry.
 */
export function consumerView(receiver: string, sources: readonly Colibri2MediaSource[], isParticipant: (id: string) => boolean): ReceiverView {
  const accepted: ReceiverSource[] = [];
  const rejected: string[] = [];
  const ssrcsSeen = new Set<number>();
  const namesSeen = new Set<string>();
  for (const m of sources) {
    const what = `${m.type} source ${m.id}`;
    const reject = (why: string): void => void rejected.push(`${what}: ${why}`);
    if (m.synthetic === true) {
      reject('synthetic');
      continue;
    }
    if (m.sources.length === 0) {
      reject('no SSRC');
      continue;
    }
    if (m.sources.length > MAX_SSRCS_PER_SOURCE) {
      reject(`${String(m.sources.length)} SSRCs (a consumer has one and its RTX)`);
      continue;
    }
    const owner = m.sources[0]?.owner;
    if (owner === undefined || owner === '' || m.sources.some((s) => s.owner !== owner)) {
      reject('no single owner');
      continue;
    }
    if (owner === receiver) {
      reject('owned by the receiver itself');
      continue;
    }
    if (!isParticipant(owner)) {
      reject(`owner ${owner} is not a participant`);
      continue;
    }
    if (!m.id.startsWith(`${owner}-`)) {
      reject(`name does not belong to ${owner}`);
      continue;
    }
    if (namesSeen.has(m.id)) {
      reject('name reported twice');
      continue;
    }
    if (m.sources.some((s) => s.name !== undefined && s.name !== m.id)) {
      reject('a source carries another name');
      continue;
    }
    const msid = sourceMsid(m.sources[0] as RtpSource);
    if (msid === undefined || m.sources.some((s) => sourceMsid(s) !== msid)) {
      reject('no single msid');
      continue;
    }
    const ssrcs = m.sources.map((s) => s.ssrc);
    if (new Set(ssrcs).size !== ssrcs.length || ssrcs.some((x) => ssrcsSeen.has(x))) {
      reject('an SSRC is reported twice');
      continue;
    }
    const groupsOk =
      m.ssrcGroups.length === 0
        ? ssrcs.length === 1
        : m.ssrcGroups.length === 1 &&
          m.ssrcGroups[0]?.semantics === 'FID' &&
          m.ssrcGroups[0].ssrcs.length === 2 &&
          m.ssrcGroups[0].ssrcs[0] === ssrcs[0] &&
          m.ssrcGroups[0].ssrcs[1] === ssrcs[1];
    if (!groupsOk) {
      reject('groups other than one FID (primary, rtx) over its own SSRCs');
      continue;
    }
    const videoType = m.type === 'video' ? m.sources[0]?.videoType : undefined;
    const out: RtpSource[] = m.sources.map((s) => ({
      ssrc: s.ssrc,
      name: m.id,
      ...(videoType === undefined ? {} : { videoType }),
      parameters: [{ name: 'msid', value: msid }],
      owner,
    }));
    const ssrcGroups = m.ssrcGroups.map((g) => ({ semantics: 'FID', ssrcs: [...g.ssrcs] }));
    for (const x of ssrcs) ssrcsSeen.add(x);
    namesSeen.add(m.id);
    accepted.push({
      media: m.type,
      owner,
      name: m.id,
      sources: out,
      ssrcGroups,
      key: JSON.stringify([m.type, owner, m.id, msid, videoType ?? null, ssrcs]),
    });
  }
  return { accepted, rejected };
}

/** What to tell a client so that it holds `desired` when it was told `signalled` (keyed by source name). */
export function diffReceiver(
  signalled: ReadonlyMap<string, ReceiverSource>,
  desired: readonly ReceiverSource[],
): { removed: ReceiverSource[]; added: ReceiverSource[] } {
  const want = new Map(desired.map((d) => [d.name, d]));
  const removed = [...signalled.values()].filter((s) => want.get(s.name)?.key !== s.key);
  const added = desired.filter((d) => signalled.get(d.name)?.key !== d.key);
  return { removed, added };
}

/** The XML form: per media, the sources (owner in ssrc-info) and FID groups. */
export function asSourceSet(list: readonly ReceiverSource[]): SourceSet {
  const pick = (m: Media): SourceSet['audio'] => {
    const of = list.filter((s) => s.media === m);
    return { sources: of.flatMap((s) => s.sources), ssrcGroups: of.flatMap((s) => s.ssrcGroups) };
  };
  return { audio: pick('audio'), video: pick('video') };
}

/** The JSON form's entries (§4.4): one per owner and media. */
export function asOwned(list: readonly ReceiverSource[]): OwnedSources[] {
  const out: OwnedSources[] = [];
  const owners = [...new Set(list.map((s) => s.owner))];
  for (const owner of owners) {
    for (const media of MEDIA) {
      const of = list.filter((s) => s.owner === owner && s.media === media);
      if (of.length > 0) out.push({ owner, media, sources: of.flatMap((s) => s.sources), ssrcGroups: of.flatMap((s) => s.ssrcGroups) });
    }
  }
  return out;
}

/** A source-add / source-remove for one receiver: JSON for clients advertising json-encoded-sources, else XML. */
export function sourcesJingle(action: 'source-add' | 'source-remove', sid: string, list: readonly ReceiverSource[], json: boolean): Jingle {
  return json
    ? { action, sid, contents: [], groups: [], jsonSources: jsonSourcesFor(asOwned(list)) }
    : { action, sid, contents: sourceContents(asSourceSet(list)), groups: [] };
}
