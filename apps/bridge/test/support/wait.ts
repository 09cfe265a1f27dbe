// Every wait in the bridge tests is bounded, so a failure surfaces as a clear assertion with the last
// observed value instead of a hung test. (Same helper as packages/e2e/test/support/wait.ts.)

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
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until `done(value)` holds, and returns that value. `fail(value)` returns a reason to
 * give up early (e.g. the PeerConnection went to 'failed'). The error names `what` and the last value.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: WaitOptions & { fail?: (value: T) => string | undefined; describe?: (value: T) => string } = {},
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
