/**
 * Fixed-window counters per key (an API key id, a client address). Memory is bounded: a window
 * that has ended is dropped on the next sweep, and at most `maxKeys` keys are tracked — beyond
 * that new keys share one overflow bucket, so a flood of spoofed addresses cannot grow the map.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  #windowStart = 0;
  readonly #counts = new Map<string, number>();

  constructor(options: { limit: number; windowMs: number; maxKeys?: number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Counts one request; returns 0 when allowed, else the seconds until the window ends. */
  hit(key: string, nowMs = Date.now()): number {
    if (nowMs - this.#windowStart >= this.#windowMs) {
      this.#windowStart = nowMs - ((nowMs - this.#windowStart) % this.#windowMs);
      if (nowMs - this.#windowStart >= this.#windowMs) this.#windowStart = nowMs;
      this.#counts.clear();
    }
    const bucket = this.#counts.has(key) || this.#counts.size < this.#maxKeys ? key : '\u0000overflow';
    const count = (this.#counts.get(bucket) ?? 0) + 1;
    this.#counts.set(bucket, count);
    if (count <= this.#limit) return 0;
    return Math.max(1, Math.ceil((this.#windowStart + this.#windowMs - nowMs) / 1000));
  }
}
