import type { BridgeStats } from '@hummingbird/xmpp';

/**
 * Bridge discovery state and selection (spec/jicofo-jvb.md §2.5, §2.6, and §6 item 8 "do better").
 *
 * Pure logic: no XMPP, no timers. The focus feeds it brewery presence (`update`/`remove`), its own placements
 * (`reserve`/`release`) and COLIBRI2 outcomes (`markFailed`), and asks `select()` where a conference goes.
 *
 * The difference from Jicofo is the reservation: a participant the focus has just placed on a bridge counts
 * against that bridge *at once*, with full weight, until the bridge's own stress report could include it; from
 * that report on, its weight decays linearly to zero over `rampupMs`. A burst of joins therefore spreads over the
 * bridges instead of piling onto whichever one reported the lowest (stale) stress.
 */

export interface BridgeSelectorOptions {
  /** A bridge whose corrected stress is at or above this is overloaded (Jicofo `stress-threshold`). Default 0.8. */
  stressThreshold?: number;
  /** Stress one endpoint adds, when the bridge does not report `average_participant_stress`. Default 0.01. */
  averageParticipantStress?: number;
  /** How long a reservation keeps decaying after the first report that could include it. Default 20 000 ms. */
  rampupMs?: number;
  /** How long a failed bridge (COLIBRI2 timeout or error) is not operational. Default 60 000 ms. */
  failureResetMs?: number;
  /**
   * A bridge that has not published stats for this long is not operational (liveness from presence: a SIGSTOPped
   * bridge keeps its XMPP connection, so only its silence shows). 0 turns it off. Default 0.
   */
  presenceTimeoutMs?: number;
  /** Turn reservations off (for comparison in tests; Jicofo-like stale selection). Default true. */
  reservations?: boolean;
  now?: () => number;
}

interface Reservation {
  readonly at: number;
  /** When the bridge first reported after this reservation; the decay starts there. */
  reportedAt: number | undefined;
}

interface BridgeState {
  readonly jid: string;
  stats: BridgeStats | undefined;
  lastReportAt: number | undefined;
  failedAt: number | undefined;
  failureReason: string | undefined;
  /** Sticky, as in Jicofo: once a bridge said graceful_shutdown it gets no new conferences. */
  gracefulShutdown: boolean;
  reservations: Reservation[];
  /** Endpoints this focus currently has on the bridge. */
  endpoints: number;
  conferences: Set<string>;
}

/** What `/debug` and `/stats` show per bridge. */
export interface BridgeSnapshot {
  readonly jid: string;
  readonly region: string | undefined;
  readonly reportedStress: number | undefined;
  readonly correctedStress: number;
  readonly reservations: number;
  readonly endpoints: number;
  readonly conferences: number;
  readonly operational: boolean;
  readonly drain: boolean;
  readonly gracefulShutdown: boolean;
  readonly shuttingDown: boolean;
  readonly overloaded: boolean;
  readonly failureReason: string | undefined;
}

export interface SelectRequest {
  /** The participant's (or conference's) region, from `jitsi_participant_region`. */
  readonly region?: string;
  /** Bridges to leave out (e.g. the one that just failed this conference). */
  readonly exclude?: readonly string[];
}

export class BridgeSelector {
  readonly #bridges = new Map<string, BridgeState>();
  readonly #threshold: number;
  readonly #avgStress: number;
  readonly #rampupMs: number;
  readonly #failureResetMs: number;
  readonly #reservations: boolean;
  readonly #presenceTimeoutMs: number;
  readonly #now: () => number;

  constructor(options: BridgeSelectorOptions = {}) {
    this.#threshold = options.stressThreshold ?? 0.8;
    this.#avgStress = options.averageParticipantStress ?? 0.01;
    this.#rampupMs = options.rampupMs ?? 20_000;
    this.#failureResetMs = options.failureResetMs ?? 60_000;
    this.#reservations = options.reservations ?? true;
    this.#presenceTimeoutMs = options.presenceTimeoutMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  /** Brewery presence with `<stats>`: adds the bridge or refreshes it. */
  update(jid: string, stats: BridgeStats): void {
    const now = this.#now();
    let b = this.#bridges.get(jid);
    if (b === undefined) {
      b = { jid, stats: undefined, lastReportAt: undefined, failedAt: undefined, failureReason: undefined, gracefulShutdown: false, reservations: [], endpoints: 0, conferences: new Set() };
      this.#bridges.set(jid, b);
    }
    b.stats = stats;
    b.lastReportAt = now;
    if (stats.gracefulShutdown === true) b.gracefulShutdown = true;
    // The report may include every endpoint reserved before it: start their decay now.
    for (const r of b.reservations) r.reportedAt ??= now;
    this.#prune(b, now);
  }

  /** The bridge left the brewery. Returns whether it was known. */
  remove(jid: string): boolean {
    return this.#bridges.delete(jid);
  }

  has(jid: string): boolean {
    return this.#bridges.has(jid);
  }

  get size(): number {
    return this.#bridges.size;
  }

  /** The focus placed one endpoint of `conference` on `jid`: it counts at once. */
  reserve(jid: string, conference: string): void {
    const b = this.#bridges.get(jid);
    if (b === undefined) return;
    b.endpoints += 1;
    b.conferences.add(conference);
    if (this.#reservations) b.reservations.push({ at: this.#now(), reportedAt: undefined });
  }

  /** An endpoint placed earlier is gone (left, moved). `conferenceGone` drops the conference from the bridge. */
  release(jid: string, conference: string, conferenceGone = false): void {
    const b = this.#bridges.get(jid);
    if (b === undefined) return;
    b.endpoints = Math.max(0, b.endpoints - 1);
    if (conferenceGone) b.conferences.delete(conference);
  }

  /** The conference no longer uses the bridge at all. */
  releaseConference(jid: string, conference: string, endpoints: number): void {
    const b = this.#bridges.get(jid);
    if (b === undefined) return;
    b.endpoints = Math.max(0, b.endpoints - endpoints);
    b.conferences.delete(conference);
  }

  /** A COLIBRI2 timeout or failure: not operational for `failureResetMs` (§2.5 "operational flag"). */
  markFailed(jid: string, reason: string): void {
    const b = this.#bridges.get(jid);
    if (b === undefined) return;
    b.failedAt = this.#now();
    b.failureReason = reason;
  }

  /** Sticky graceful shutdown learnt from a COLIBRI2 `graceful_shutdown` error (§3.6). */
  markGracefulShutdown(jid: string): void {
    const b = this.#bridges.get(jid);
    if (b !== undefined) b.gracefulShutdown = true;
  }

  isOperational(jid: string): boolean {
    const b = this.#bridges.get(jid);
    return b !== undefined && this.#operational(b, this.#now());
  }

  /** True when the bridge may keep serving a conference that is already on it. */
  isUsable(jid: string): boolean {
    const b = this.#bridges.get(jid);
    return b !== undefined && this.#operational(b, this.#now()) && b.stats?.shuttingDown !== true;
  }

  correctedStress(jid: string): number {
    const b = this.#bridges.get(jid);
    return b === undefined ? Number.POSITIVE_INFINITY : this.#corrected(b, this.#now());
  }

  /**
   * The bridge for a new conference (or a conference moving off a failed bridge), or undefined when none can be
   * had. Pipeline (§2.5, single-bridge strategy): operational only; never shutting down; never draining or in
   * graceful shutdown (they take no new conferences); then, among the rest, the participant's region first unless
   * every bridge there is overloaded; least corrected stress wins; ties go to the bridge with fewer conferences of
   * this focus, then to the name (deterministic).
   */
  select(request: SelectRequest = {}): string | undefined {
    const now = this.#now();
    const exclude = new Set(request.exclude ?? []);
    const candidates = [...this.#bridges.values()].filter(
      (b) =>
        !exclude.has(b.jid) &&
        this.#operational(b, now) &&
        b.stats !== undefined &&
        b.stats.shuttingDown !== true &&
        // A bridge counts as draining until its first stats say otherwise (§2.5).
        b.stats.drain !== true &&
        b.stats.drain !== undefined &&
        !b.gracefulShutdown,
    );
    if (candidates.length === 0) return undefined;
    const scored = candidates.map((b) => ({ b, stress: this.#corrected(b, now) }));
    scored.sort((x, y) => x.stress - y.stress || x.b.conferences.size - y.b.conferences.size || (x.b.jid < y.b.jid ? -1 : x.b.jid > y.b.jid ? 1 : 0));
    if (request.region !== undefined) {
      const local = scored.find((s) => s.b.stats?.region === request.region && s.stress < this.#threshold);
      if (local !== undefined) return local.b.jid;
    }
    return scored[0]?.b.jid;
  }

  /** Operational bridges (for health): known, stats received, not failed recently, not shutting down. */
  operationalCount(): number {
    const now = this.#now();
    return [...this.#bridges.values()].filter((b) => this.#operational(b, now) && b.stats?.shuttingDown !== true).length;
  }

  snapshot(): BridgeSnapshot[] {
    const now = this.#now();
    return [...this.#bridges.values()].map((b) => {
      const corrected = this.#corrected(b, now);
      return {
        jid: b.jid,
        region: b.stats?.region,
        reportedStress: b.stats?.stressLevel,
        correctedStress: corrected,
        reservations: b.reservations.length,
        endpoints: b.endpoints,
        conferences: b.conferences.size,
        operational: this.#operational(b, now),
        drain: b.stats?.drain !== false,
        gracefulShutdown: b.gracefulShutdown,
        shuttingDown: b.stats?.shuttingDown === true,
        overloaded: corrected >= this.#threshold,
        failureReason: this.#operational(b, now) ? undefined : this.#stale(b, now) ? 'no stats within the presence timeout' : b.failureReason,
      };
    });
  }

  #operational(b: BridgeState, now: number): boolean {
    if (b.failedAt !== undefined && now - b.failedAt < this.#failureResetMs) return false;
    if (this.#stale(b, now)) return false;
    return b.stats?.healthy !== false;
  }

  #stale(b: BridgeState, now: number): boolean {
    return this.#presenceTimeoutMs > 0 && b.lastReportAt !== undefined && now - b.lastReportAt > this.#presenceTimeoutMs;
  }

  /** Bridges whose stats are older than the presence timeout (the focus moves their conferences). */
  stale(): string[] {
    const now = this.#now();
    return [...this.#bridges.values()].filter((b) => this.#stale(b, now)).map((b) => b.jid);
  }

  #corrected(b: BridgeState, now: number): number {
    this.#prune(b, now);
    const per = b.stats?.averageParticipantStress ?? this.#avgStress;
    let weight = 0;
    for (const r of b.reservations) {
      weight += r.reportedAt === undefined ? 1 : Math.max(0, 1 - (now - r.reportedAt) / this.#rampupMs);
    }
    return (b.stats?.stressLevel ?? 0) + weight * per;
  }

  #prune(b: BridgeState, now: number): void {
    b.reservations = b.reservations.filter((r) => r.reportedAt === undefined || now - r.reportedAt < this.#rampupMs);
  }
}
