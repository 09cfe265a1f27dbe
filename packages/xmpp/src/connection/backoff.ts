/** Reconnect delays: exponential with full jitter, so restarted Prosody is not hit by every service at once. */
export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialMs?: number;
  /** Upper bound of any delay. Default 30 000 ms. */
  maxMs?: number;
  /** Growth factor per failed attempt. Default 2. */
  factor?: number;
  /** Random source in [0, 1), for tests. Default Math.random. */
  random?: () => number;
}

/**
 * The delay before reconnect attempt `attempt` (0-based): a random value in [cap/2, cap] where
 * cap = min(maxMs, initialMs · factor^attempt). Half the cap is kept as a floor so a tight loop is impossible.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const random = options.random ?? Math.random;
  const cap = Math.min(max, initial * factor ** Math.max(0, Math.min(attempt, 64)));
  return Math.round(cap / 2 + random() * (cap / 2));
}
