// Every wait in the Hummingbird test suites is bounded, so a failure surfaces as a clear assertion with the
// last observed value instead of a hung test.

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    /** What was waited for. */
    readonly what: string,
    /** The last value the probe returned, for tests that inspect a failure. */
    readonly last: unknown,
  ) {
    super(message);
  }
}

export interface WaitOptions {
  /** 20 s unless given. */
  timeoutMs?: number;
  /** 50 ms unless given. */
  intervalMs?: number;
}

export interface WaitForOptions<T> extends WaitOptions {
  /** A reason to give up early (e.g. the PeerConnection went to 'failed'), or undefined to keep waiting. */
  fail?: (value: T) => string | undefined;
  /** How the last value is shown in the error (JSON by default). */
  describe?: (value: T) => string;
}

/**
 * Polls `probe` until `done(value)` holds, and returns that value. The error names `what` and the last value.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: WaitForOptions<T> = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  const show = options.describe ?? ((v: T) => JSON.stringify(v));
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    const reason = options.fail?.(value);
    if (reason) throw new WaitTimeoutError(`${what}: gave up early (${reason}); last: ${show(value)}`, what, value);
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`${what}: not reached within ${timeoutMs} ms; last: ${show(value)}`, what, value);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The median (the mean of the two middle values for an even count); NaN for no values. */
export function p50(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
