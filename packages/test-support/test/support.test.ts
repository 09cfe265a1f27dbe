// The shared helpers on their own: the bounded wait (result, early give-up, timeout with the last value), the
// median, and the page server (a secure-context page that loads the given scripts).
import { describe, expect, it } from 'vitest';

import { WaitTimeoutError, p50, startPageServer, waitFor } from '../src/index.js';

describe('waitFor', () => {
  it('returns the first value that satisfies the condition', async () => {
    let n = 0;
    const value = await waitFor('n reaches 3', () => ++n, (v) => v >= 3, { intervalMs: 1 });
    expect(value).toBe(3);
  });

  it('times out with what it waited for and the last value', async () => {
    const error = await waitFor('never', () => ({ seen: 7 }), () => false, { timeoutMs: 30, intervalMs: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toBe('never: not reached within 30 ms; last: {"seen":7}');
    expect((error as WaitTimeoutError).last).toEqual({ seen: 7 });
  });

  it('gives up early when fail() names a reason', async () => {
    const started = Date.now();
    const error = await waitFor('connected', () => 'failed', (s) => s === 'connected', { timeoutMs: 10_000, fail: (s) => (s === 'failed' ? 'ICE failed' : undefined) }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toContain('connected: gave up early (ICE failed); last: "failed"');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('p50', () => {
  it('is the middle value, or the mean of the two middle ones, and NaN for none', () => {
    expect(p50([30, 10, 20])).toBe(20);
    expect(p50([40, 10, 30, 20])).toBe(25);
    expect(p50([])).toBeNaN();
  });
});

describe('startPageServer', () => {
  it('serves a page that loads the scripts, and the scripts, on loopback', async () => {
    const server = await startPageServer({ title: 't', scripts: { '/a.js': 'window.a = 1;' } });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await (await fetch(server.url)).text();
      expect(page).toBe('<!doctype html><meta charset="utf-8"><title>t</title><script src="/a.js"></script>');
      const script = await fetch(new URL('/a.js', server.url));
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await script.text()).toBe('window.a = 1;');
    } finally {
      await server.close();
    }
  });
});
