// Brewery presence stats (`spec/jicofo-jvb.md` §2.5, §4.12): the bridge puts
// `<stats xmlns="http://jitsi.org/protocol/colibri"><stat name value/>…</stats>` in its brewery MUC presence
// every 5 s; the focus selects bridges from it. The fields the focus acts on are typed; every other stat is
// carried in `other` (JVB publishes many more unless its filter is on).
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { appendAll, children, el, expectElement, fail, parseBool, parseDecimal, reqString, reqToken } from './read.js';

export interface BridgeStat {
  readonly name: string;
  readonly value: string;
}

export interface BridgeStats {
  /** Load in 0..1+ (overloaded at ≥ 0.8 by default). */
  readonly stressLevel?: number;
  readonly averageParticipantStress?: number;
  readonly region?: string;
  /** Needed for cascading (Octo); a bridge without one is never relayed. */
  readonly relayId?: string;
  readonly version?: string;
  readonly release?: string;
  readonly gracefulShutdown?: boolean;
  readonly shuttingDown?: boolean;
  /** A bridge counts as draining until its first stats say otherwise (§2.5). */
  readonly drain?: boolean;
  readonly healthy?: boolean;
  readonly other: readonly BridgeStat[];
}

type Known = Exclude<keyof BridgeStats, 'other'>;
const KNOWN: Record<string, { key: Known; kind: 'number' | 'string' | 'bool' }> = {
  stress_level: { key: 'stressLevel', kind: 'number' },
  average_participant_stress: { key: 'averageParticipantStress', kind: 'number' },
  region: { key: 'region', kind: 'string' },
  relay_id: { key: 'relayId', kind: 'string' },
  version: { key: 'version', kind: 'string' },
  release: { key: 'release', kind: 'string' },
  graceful_shutdown: { key: 'gracefulShutdown', kind: 'bool' },
  shutting_down: { key: 'shuttingDown', kind: 'bool' },
  drain: { key: 'drain', kind: 'bool' },
  healthy: { key: 'healthy', kind: 'bool' },
};
const STAT_NAME: Record<Known, string> = Object.fromEntries(Object.entries(KNOWN).map(([n, k]) => [k.key, n])) as Record<Known, string>;

const MAX_STATS = 1024;

export function parseBridgeStats(input: Element): BridgeStats {
  const path = 'stats';
  const e = expectElement(input, 'stats', NS.COLIBRI, path);
  const stats = children(e, 'stat', NS.COLIBRI);
  if (stats.length > MAX_STATS) fail(path, `more than ${MAX_STATS} stats`);
  const out: Partial<Record<Known, number | string | boolean>> = {};
  const other: BridgeStat[] = [];
  stats.forEach((s, i) => {
    const sp = `${path}/stat[${i}]`;
    const name = reqToken(s, 'name', sp);
    const value = reqString(s, 'value', sp);
    const known = Object.hasOwn(KNOWN, name) ? KNOWN[name] : undefined;
    if (known === undefined || Object.hasOwn(out, known.key)) {
      other.push({ name, value });
      return;
    }
    const where = `${sp}@value`;
    out[known.key] = known.kind === 'number' ? parseDecimal(value, where) : known.kind === 'bool' ? parseBool(value, where) : value;
  });
  return { ...(out as Omit<BridgeStats, 'other'>), other };
}

export function buildBridgeStats(s: BridgeStats): Element {
  const e = el('stats', { xmlns: NS.COLIBRI });
  for (const key of Object.keys(STAT_NAME) as Known[]) {
    const v = s[key];
    if (v !== undefined) e.cnode(el('stat', { name: STAT_NAME[key], value: String(v) }));
  }
  return appendAll(e, s.other.map((o) => el('stat', { name: o.name, value: o.value })));
}
