/**
 * Per-source-IP token buckets for unauthenticated requests (spec/turn.md §4.2 item 7). The
 * table is bounded: when full, the oldest tenth is forgotten (a forgotten IP starts with a
 * full bucket again, which errs on the side of serving, never of growing without bound).
 */
export class SourceRateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxEntries: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { perSecond: number; burst: number; maxEntries: number }) {
    this.#ratePerMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#maxEntries = options.maxEntries;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `ip`; false when the bucket is empty. */
  take(ip: string, now = Date.now()): boolean {
    let bucket = this.#buckets.get(ip);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxEntries) this.#evict();
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(ip, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#ratePerMs);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #evict(): void {
    let n = Math.max(1, Math.floor(this.#maxEntries / 10));
    for (const key of this.#buckets.keys()) {
      this.#buckets.delete(key);
      if (--n <= 0) break;
    }
  }
}

/** A byte-rate cap for one allocation and direction (0 = unlimited). */
export class ByteBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(bitsPerSecond: number, now = Date.now()) {
    this.#ratePerMs = bitsPerSecond / 8 / 1000;
    // One second's worth of burst, at least one large datagram.
    this.#burst = Math.max(bitsPerSecond / 8, 65_536);
    this.#tokens = this.#burst;
    this.#at = now;
  }

  take(bytes: number, now: number): boolean {
    if (this.#ratePerMs <= 0) return true;
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#ratePerMs);
    this.#at = now;
    if (this.#tokens < bytes) return false;
    this.#tokens -= bytes;
    return true;
  }
}
