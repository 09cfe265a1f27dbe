import {
  StanzaError,
  type Colibri2MediaSource,
  type Jingle,
  type JingleContent,
  type RtpDescription,
  type RtpSource,
  type SsrcGroup,
  jsonSourcesToRtp,
} from '@hummingbird/xmpp';

/**
 * One participant's signalled sources, per media, as the client sent them (simulcast included), and the views the
 * focus derives from them: the bridge's `<sources>` (everything) and what receivers get (no SIM, §4.3).
 */
export interface MediaSources {
  readonly sources: readonly RtpSource[];
  readonly ssrcGroups: readonly SsrcGroup[];
}

export interface SourceSet {
  readonly audio: MediaSources;
  readonly video: MediaSources;
}

export type Media = 'audio' | 'video';
export const MEDIA: readonly Media[] = ['audio', 'video'];

export const EMPTY_SOURCES: SourceSet = { audio: { sources: [], ssrcGroups: [] }, video: { sources: [], ssrcGroups: [] } };

/** Jicofo's `max-ssrcs-per-user` / `max-ssrc-groups-per-user` (§2.11). */
export const MAX_SSRCS_PER_USER = 20;
export const MAX_GROUPS_PER_USER = 20;

function bad(text: string): StanzaError {
  return new StanzaError('bad-request', 'modify', text);
}

/** The sources a Jingle element carries (XML contents and/or the JSON form), per media. */
export function sourcesOf(jingle: Jingle): SourceSet {
  const out: Record<Media, { sources: RtpSource[]; ssrcGroups: SsrcGroup[] }> = {
    audio: { sources: [], ssrcGroups: [] },
    video: { sources: [], ssrcGroups: [] },
  };
  for (const c of jingle.contents) {
    const d = c.description;
    if (d === undefined) continue;
    if (d.media !== 'audio' && d.media !== 'video') continue;
    out[d.media].sources.push(...d.sources);
    out[d.media].ssrcGroups.push(...d.ssrcGroups);
  }
  if (jingle.jsonSources !== undefined) {
    const rtp = jsonSourcesToRtp(jingle.jsonSources);
    for (const m of MEDIA) {
      out[m].sources.push(...rtp[m].sources);
      out[m].ssrcGroups.push(...rtp[m].ssrcGroups);
    }
  }
  return out;
}

export function ssrcsOf(set: SourceSet): Set<number> {
  return new Set(MEDIA.flatMap((m) => set[m].sources.map((s) => s.ssrc)));
}

/**
 * §10.1: clients of ~2021 send sources without names. Names are derived as current clients write them:
 * `<owner>-a<n>` / `<owner>-v<n>`, one per track (sources sharing an msid, or tied by an ssrc-group, are one track),
 * numbered after the names already taken, so they stay stable across later source-adds.
 */
function nameSources(m: Media, current: MediaSources, added: MediaSources, owner: string): RtpSource[] {
  if (added.sources.every((x) => x.name !== undefined)) return [...added.sources];
  const letter = m === 'audio' ? 'a' : 'v';
  const taken = new Set([...current.sources, ...added.sources].map((x) => x.name).filter((n): n is string => n !== undefined));
  let next = 0;
  const fresh = (): string => {
    while (taken.has(`${owner}-${letter}${String(next)}`)) next++;
    const name = `${owner}-${letter}${String(next)}`;
    taken.add(name);
    return name;
  };
  const byMsid = new Map<string, string>();
  const bySsrc = new Map<number, string>();
  for (const x of [...current.sources, ...added.sources]) if (x.name !== undefined) bySsrc.set(x.ssrc, x.name);
  const groups = [...current.ssrcGroups, ...added.ssrcGroups];
  const msidOf = (x: RtpSource): string | undefined => x.parameters.find((p) => p.name === 'msid')?.value;
  const assign = (x: RtpSource): void => {
    if (x.name !== undefined || bySsrc.has(x.ssrc)) return;
    const msid = msidOf(x);
    const partner = groups.filter((g) => g.ssrcs.includes(x.ssrc)).flatMap((g) => g.ssrcs).map((o) => bySsrc.get(o)).find((n) => n !== undefined);
    const name = (msid === undefined ? undefined : byMsid.get(msid)) ?? partner ?? fresh();
    if (msid !== undefined) byMsid.set(msid, name);
    bySsrc.set(x.ssrc, name);
  };
  // Sources carrying an msid first, so an RTX listed before its primary still joins the primary's track.
  for (const x of added.sources) if (msidOf(x) !== undefined) assign(x);
  for (const x of added.sources) assign(x);
  return added.sources.map((x) => (x.name !== undefined ? x : { ...x, name: bySsrc.get(x.ssrc) }));
}

/**
 * Adds `added` to `current` for participant `owner`, checking what Jicofo checks (§2.4 session-accept): the limits,
 * no SSRC signalled twice, no SSRC owned by someone else, groups only over the participant's own SSRCs, source names
 * that belong to the sender (`<ep>-a0`, §4.5). Throws StanzaError bad-request; `current` is never modified.
 */
export function addSources(current: SourceSet, added: SourceSet, owner: string, foreign: ReadonlySet<number>): SourceSet {
  const result: Record<Media, MediaSources> = { audio: current.audio, video: current.video };
  const seen = ssrcsOf(current);
  for (const m of MEDIA) {
    const fresh: RtpSource[] = [];
    for (const s of nameSources(m, result[m], added[m], owner)) {
      // A source appears once per SSRC, but ljm repeats the same SSRC across… nothing: duplicates are an error.
      if (seen.has(s.ssrc)) throw bad(`ssrc ${String(s.ssrc)} is already signalled`);
      if (foreign.has(s.ssrc)) throw bad(`ssrc ${String(s.ssrc)} belongs to another participant`);
      if (s.name !== undefined && !s.name.startsWith(`${owner}-`)) throw bad(`source name ${s.name} does not belong to ${owner}`);
      seen.add(s.ssrc);
      fresh.push({ ...s, owner });
    }
    const mine = new Set([...result[m].sources, ...fresh].map((s) => s.ssrc));
    for (const g of added[m].ssrcGroups) {
      if (g.ssrcs.length === 0 || g.ssrcs.some((x) => !mine.has(x))) throw bad(`ssrc-group ${g.semantics} refers to unknown ssrcs`);
    }
    result[m] = { sources: [...result[m].sources, ...fresh], ssrcGroups: [...result[m].ssrcGroups, ...added[m].ssrcGroups] };
  }
  const total = MEDIA.reduce((n, m) => n + result[m].sources.length, 0);
  const groups = MEDIA.reduce((n, m) => n + result[m].ssrcGroups.length, 0);
  if (total > MAX_SSRCS_PER_USER) throw bad(`more than ${String(MAX_SSRCS_PER_USER)} ssrcs`);
  if (groups > MAX_GROUPS_PER_USER) throw bad(`more than ${String(MAX_GROUPS_PER_USER)} ssrc groups`);
  return result;
}

/** Removes the SSRCs `removed` names (only the ssrcs matter, §4.4) and every group touching them. */
export function removeSources(current: SourceSet, removed: SourceSet): { next: SourceSet; gone: SourceSet } {
  const drop = ssrcsOf(removed);
  const next: Record<Media, MediaSources> = { audio: current.audio, video: current.video };
  const gone: Record<Media, MediaSources> = { audio: { sources: [], ssrcGroups: [] }, video: { sources: [], ssrcGroups: [] } };
  for (const m of MEDIA) {
    const keep = current[m].sources.filter((s) => !drop.has(s.ssrc));
    const lost = current[m].sources.filter((s) => drop.has(s.ssrc));
    next[m] = { sources: keep, ssrcGroups: current[m].ssrcGroups.filter((g) => !g.ssrcs.some((x) => drop.has(x))) };
    gone[m] = { sources: lost, ssrcGroups: current[m].ssrcGroups.filter((g) => g.ssrcs.some((x) => drop.has(x))) };
  }
  return { next, gone };
}

/**
 * What receivers are told (§4.3, Jicofo `strip-simulcast`): per SIM group only its first SSRC and that SSRC's FID
 * partner; never a SIM group. Every source keeps its name, msid and videoType, and carries its owner.
 */
export function receiverView(set: SourceSet): SourceSet {
  const out: Record<Media, MediaSources> = { audio: set.audio, video: set.video };
  for (const m of MEDIA) {
    const { sources, ssrcGroups } = set[m];
    const drop = new Set<number>();
    for (const g of ssrcGroups) if (g.semantics === 'SIM') for (const x of g.ssrcs.slice(1)) drop.add(x);
    for (const g of ssrcGroups) {
      if (g.semantics === 'FID' && g.ssrcs[0] !== undefined && drop.has(g.ssrcs[0])) for (const x of g.ssrcs.slice(1)) drop.add(x);
    }
    out[m] = {
      sources: sources.filter((s) => !drop.has(s.ssrc)),
      ssrcGroups: ssrcGroups.filter((g) => g.semantics === 'FID' && !g.ssrcs.some((x) => drop.has(x))),
    };
  }
  return out;
}

/** The bridge's `<sources>` (§3.2): one media-source per source name, all its SSRCs and groups (SIM included). */
export function colibriSources(set: SourceSet): Colibri2MediaSource[] {
  const out: Colibri2MediaSource[] = [];
  for (const m of MEDIA) {
    const byName = new Map<string, RtpSource[]>();
    for (const s of set[m].sources) {
      const name = s.name ?? `${m}-${String(s.ssrc)}`;
      byName.set(name, [...(byName.get(name) ?? []), s]);
    }
    for (const [id, sources] of byName) {
      const ssrcs = new Set(sources.map((s) => s.ssrc));
      out.push({ type: m, id, sources: sources.map(({ owner: _owner, ...s }) => s), ssrcGroups: set[m].ssrcGroups.filter((g) => g.ssrcs.every((x) => ssrcs.has(x))) });
    }
  }
  return out;
}

/** Jingle contents carrying only sources (source-add / source-remove in XML form, §4.4). */
export function sourceContents(set: SourceSet): JingleContent[] {
  return MEDIA.filter((m) => set[m].sources.length > 0).map((m) => {
    const description: RtpDescription = {
      media: m,
      payloadTypes: [],
      headerExtensions: [],
      extmapAllowMixed: false,
      rtcpMux: false,
      sources: set[m].sources,
      ssrcGroups: set[m].ssrcGroups,
    };
    return { name: m, description };
  });
}

export function isEmpty(set: SourceSet): boolean {
  return set.audio.sources.length === 0 && set.video.sources.length === 0;
}
