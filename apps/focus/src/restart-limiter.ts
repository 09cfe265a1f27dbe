/**
 * The restart budget of one participant (spec/jicofo-jvb.md §2.4 "Restart rate limit"): a session-terminate with
 * `<bridge-session restart="true"/>` re-invites only if at least `minIntervalMs` passed since the last accepted
 * restart and fewer than `maxRequests` were accepted within `intervalMs`. Jicofo's defaults: 5 s, 5, 1 min.
 */
export interface RestartLimits {
  readonly minIntervalMs: number;
  readonly maxRequests: number;
  readonly intervalMs: number;
}

export const DEFAULT_RESTART_LIMITS: RestartLimits = { minIntervalMs: 5_000, maxRequests: 5, intervalMs: 60_000 };

export class RestartLimiter {
  readonly #limits: RestartLimits;
  readonly #now: () => number;
  #accepted: number[] = [];

  constructor(limits: RestartLimits = DEFAULT_RESTART_LIMITS, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Records and accepts the request when within budget; returns false (nothing recorded) when over it. */
  tryAcquire(): boolean {
    const now = this.#now();
    this.#accepted = this.#accepted.filter((t) => now - t < this.#limits.intervalMs);
    const last = this.#accepted.at(-1);
    if (last !== undefined && now - last < this.#limits.minIntervalMs) return false;
    if (this.#accepted.length >= this.#limits.maxRequests) return false;
    this.#accepted.push(now);
    return true;
  }
}
