import { describe, expect, it } from 'vitest';

import { backoffDelay, TypedEmitter } from '../../src/index.js';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter in [cap/2, cap]', () => {
    const low = (attempt: number): number => backoffDelay(attempt, { initialMs: 100, maxMs: 5_000, random: () => 0 });
    const high = (attempt: number): number => backoffDelay(attempt, { initialMs: 100, maxMs: 5_000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 5, 6, 10, 1000].map(high)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect([0, 1, 2, 6].map(low)).toEqual([50, 100, 200, 2500]);
  });

  it('uses 250 ms → 30 s by default and never returns less than half the first delay', () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const delay = backoffDelay(attempt);
      expect(delay).toBeGreaterThanOrEqual(125);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });
});

interface Events {
  ping: [n: number];
  error: [error: Error];
}

class Emitter extends TypedEmitter<Events> {
  fire<E extends keyof Events>(event: E, ...args: Events[E]): void {
    this.emit(event, ...args);
  }
}

describe('TypedEmitter', () => {
  it('an error event without listeners does not throw (unlike node EventEmitter)', () => {
    expect(() => new Emitter(() => undefined).fire('error', new Error('x'))).not.toThrow();
  });

  it('a throwing listener is reported and does not stop the others', () => {
    const reported: unknown[] = [];
    const emitter = new Emitter((error) => reported.push(error));
    const seen: number[] = [];
    emitter.on('ping', () => {
      throw new Error('listener bug');
    });
    emitter.on('ping', (n) => seen.push(n));
    emitter.fire('ping', 7);
    expect(seen).toEqual([7]);
    expect(reported).toHaveLength(1);
  });

  it('once and off', () => {
    const emitter = new Emitter(() => undefined);
    const seen: number[] = [];
    const listener = (n: number): void => {
      seen.push(n);
    };
    emitter.once('ping', listener);
    emitter.fire('ping', 1);
    emitter.fire('ping', 2);
    emitter.on('ping', listener);
    emitter.off('ping', listener);
    emitter.fire('ping', 3);
    expect(seen).toEqual([1]);
    expect(emitter.listenerCount('ping')).toBe(0);
  });
});
