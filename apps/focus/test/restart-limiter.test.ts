import { describe, expect, it } from 'vitest';
import { RestartLimiter } from '../src/restart-limiter.js';

describe('restart budget (jicofo-jvb §2.4: 5 s apart, 5 per minute)', () => {
  it('refuses a second request within the minimum interval and a sixth within a minute', () => {
    let now = 0;
    const limiter = new RestartLimiter({ minIntervalMs: 5_000, maxRequests: 5, intervalMs: 60_000 }, () => now);
    expect(limiter.tryAcquire()).toBe(true);
    now = 4_999;
    expect(limiter.tryAcquire()).toBe(false);
    for (const t of [5_000, 10_000, 15_000, 20_000]) {
      now = t;
      expect(limiter.tryAcquire()).toBe(true);
    }
    now = 30_000;
    expect(limiter.tryAcquire()).toBe(false);
    now = 60_001; // the first one left the window
    expect(limiter.tryAcquire()).toBe(true);
  });
});
