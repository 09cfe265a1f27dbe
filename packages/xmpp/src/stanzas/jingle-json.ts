// The JSON source encoding of Jingle `source-add`/`source-remove` (`spec/jitsi-client-protocol.md` §4.4):
//   <json-message xmlns="http://jitsi.org/jitmeet">{"sources":{"<owner>":[[video srcs],[video groups],[audio srcs],[audio groups]]}}</json-message>
// A source is {"s":"<ssrc>","n":"<name>","m":"<msid>","v":"d"} (v present only for desktop); a group is
// ["f"|"s", ssrc, …] (FID / SIM). Sent by the focus only to clients advertising json-encoded-sources.
import { MAX_SSRC, fail, parseUint } from './read.js';
import type { RtpSource, SsrcGroup } from './rtp.js';

export interface JsonSource {
  readonly ssrc: number;
  readonly name?: string;
  readonly msid?: string;
  /** `v` present (any truthy value) means desktop; ljm writes `"d"`. */
  readonly desktop?: boolean;
}

export interface JsonOwnerSources {
  /** Endpoint id of the owner (the MUC nick), or `jvb` for the bridge feedback sources. */
  readonly owner: string;
  readonly video: readonly JsonSource[];
  readonly videoGroups: readonly SsrcGroup[];
  readonly audio: readonly JsonSource[];
  readonly audioGroups: readonly SsrcGroup[];
}

/** The decoded `{"sources":…}` object, one entry per owner in document order. */
export interface JsonSources {
  readonly owners: readonly JsonOwnerSources[];
}

const MAX_JSON_OWNERS = 4096;
const MAX_JSON_ITEMS = 4096;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function ssrcOf(v: unknown, where: string): number {
  // ljm writes SSRCs as strings; a number is tolerated when it is an integer in range.
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > MAX_SSRC) fail(where, 'ssrc out of range');
    return v;
  }
  if (typeof v !== 'string') fail(where, 'ssrc is not a string');
  return parseUint(v, 0, MAX_SSRC, where);
}

function optStringField(o: Record<string, unknown>, key: string, where: string): string | undefined {
  if (!Object.hasOwn(o, key)) return undefined;
  const v = o[key];
  if (typeof v !== 'string') fail(`${where}.${key}`, 'not a string');
  return v;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(where, 'not an array');
  if (v.length > MAX_JSON_ITEMS) fail(where, `more than ${MAX_JSON_ITEMS} entries`);
  return v;
}

function parseSource(v: unknown, where: string): JsonSource {
  if (!isRecord(v)) fail(where, 'a source is not an object');
  const name = optStringField(v, 'n', where);
  const msid = optStringField(v, 'm', where);
  const desktop = Object.hasOwn(v, 'v') && Boolean(v.v);
  return {
    ssrc: ssrcOf(v.s, `${where}.s`),
    ...(name === undefined ? {} : { name }),
    ...(msid === undefined ? {} : { msid }),
    ...(desktop ? { desktop } : {}),
  };
}

function parseGroup(v: unknown, where: string): SsrcGroup {
  const items = list(v, where);
  const [sem, ...rest] = items;
  let semantics: string;
  if (sem === 'f') semantics = 'FID';
  else if (sem === 's') semantics = 'SIM';
  else fail(`${where}[0]`, 'group semantics is not "f" or "s"');
  if (rest.length === 0) fail(where, 'a group needs at least one ssrc');
  return { semantics, ssrcs: rest.map((s, i) => ssrcOf(s, `${where}[${i + 1}]`)) };
}

export function parseJsonSources(textValue: string, path: string): JsonSources {
  let doc: unknown;
  try {
    doc = JSON.parse(textValue);
  } catch (err) {
    fail(path, `not JSON (${err instanceof Error ? err.name : 'error'})`);
  }
  if (!isRecord(doc)) fail(path, 'not a JSON object');
  const sources = doc.sources;
  if (!isRecord(sources)) fail(`${path}.sources`, 'missing or not an object');
  const keys = Object.keys(sources);
  if (keys.length > MAX_JSON_OWNERS) fail(`${path}.sources`, `more than ${MAX_JSON_OWNERS} owners`);
  return {
    owners: keys.map((owner) => {
      const where = `${path}.sources[${JSON.stringify(owner.slice(0, 40))}]`;
      if (owner.length === 0) fail(where, 'empty owner');
      const parts = list(sources[owner], where);
      if (parts.length < 3 || parts.length > 4) fail(where, 'expected [video, videoGroups, audio, audioGroups?]');
      return {
        owner,
        video: list(parts[0], `${where}[0]`).map((s, i) => parseSource(s, `${where}[0][${i}]`)),
        videoGroups: list(parts[1], `${where}[1]`).map((g, i) => parseGroup(g, `${where}[1][${i}]`)),
        audio: list(parts[2], `${where}[2]`).map((s, i) => parseSource(s, `${where}[2][${i}]`)),
        audioGroups: list(parts[3], `${where}[3]`).map((g, i) => parseGroup(g, `${where}[3][${i}]`)),
      };
    }),
  };
}

function sourceJson(s: JsonSource): Record<string, string> {
  return {
    s: String(s.ssrc),
    ...(s.name === undefined ? {} : { n: s.name }),
    ...(s.msid === undefined ? {} : { m: s.msid }),
    ...(s.desktop === true ? { v: 'd' } : {}),
  };
}

function groupJson(g: SsrcGroup): string[] {
  const sem = g.semantics === 'FID' ? 'f' : g.semantics === 'SIM' ? 's' : undefined;
  if (sem === undefined) throw new TypeError(`the JSON source form has no ${g.semantics} groups`);
  return [sem, ...g.ssrcs.map(String)];
}

/** The text of the `json-message` element. Throws TypeError for a group other than FID/SIM. */
export function buildJsonSources(j: JsonSources): string {
  // fromEntries defines own properties, so an owner named `__proto__` stays data, not a prototype.
  const sources = Object.fromEntries(
    j.owners.map((o) => [o.owner, [o.video.map(sourceJson), o.videoGroups.map(groupJson), o.audio.map(sourceJson), o.audioGroups.map(groupJson)]]),
  );
  return JSON.stringify({ sources });
}

/** The same sources as Jingle `<source>` elements (what ljm expands the JSON into, §4.4). */
export function jsonSourcesToRtp(j: JsonSources): { audio: { sources: RtpSource[]; ssrcGroups: SsrcGroup[] }; video: { sources: RtpSource[]; ssrcGroups: SsrcGroup[] } } {
  const toRtp = (owner: string, s: JsonSource): RtpSource => ({
    ssrc: s.ssrc,
    ...(s.name === undefined ? {} : { name: s.name }),
    ...(s.desktop === true ? { videoType: 'desktop' } : {}),
    parameters: s.msid === undefined ? [] : [{ name: 'msid', value: s.msid }],
    owner,
  });
  return {
    audio: { sources: j.owners.flatMap((o) => o.audio.map((s) => toRtp(o.owner, s))), ssrcGroups: j.owners.flatMap((o) => [...o.audioGroups]) },
    video: { sources: j.owners.flatMap((o) => o.video.map((s) => toRtp(o.owner, s))), ssrcGroups: j.owners.flatMap((o) => [...o.videoGroups]) },
  };
}
