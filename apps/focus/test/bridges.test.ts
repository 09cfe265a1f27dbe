import { describe, expect, it } from 'vitest';
import type { BridgeStats } from '@hummingbird/xmpp';
import { BridgeSelector } from '../src/bridges.js';

const idle = (over: Partial<BridgeStats> = {}): BridgeStats => ({ stressLevel: 0, drain: false, other: [], ...over });

/** Seeded PRNG (mulberry32), so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The join burst of the acceptance: 30 participants join 3 rooms (10 each, interleaved at random) within 2 s, with
 * 2 bridges whose last reports (stress within a fraction of one participant's stress of each other) are stale for
 * the whole burst. A room picks its bridge at its first join; every join reserves one endpoint there.
 */
function burst(seed: number, reservations: boolean): Map<string, number> {
  const random = rng(seed);
  let now = 1_000_000;
  const selector = new BridgeSelector({ reservations, now: () => now });
  selector.update('jvb-a', idle({ stressLevel: 0.05 + random() * 0.004 }));
  selector.update('jvb-b', idle({ stressLevel: 0.05 + random() * 0.004 }));
  const joins = ['r1', 'r2', 'r3'].flatMap((room) => Array.from({ length: 10 }, () => room));
  for (let i = joins.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [joins[i], joins[j]] = [joins[j] as string, joins[i] as string];
  }
  const roomBridge = new Map<string, string>();
  for (const room of joins) {
    now += Math.floor(random() * 66); // 30 joins within 2 s
    let bridge = roomBridge.get(room);
    if (bridge === undefined) {
      bridge = selector.select();
      if (bridge === undefined) throw new Error('no bridge');
      roomBridge.set(room, bridge);
    }
    selector.reserve(bridge, room);
  }
  const perBridge = new Map<string, number>([['jvb-a', 0], ['jvb-b', 0]]);
  for (const bridge of roomBridge.values()) perBridge.set(bridge, (perBridge.get(bridge) ?? 0) + 1);
  return perBridge;
}

describe('bridge selection', () => {
  it('join burst: 30 joins over 3 rooms and 2 bridges stay within ±1 conference of even (500 seeded orders)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const counts = [...burst(seed, true).values()];
      expect(Math.abs((counts[0] ?? 0) - (counts[1] ?? 0)), `seed ${String(seed)}`).toBeLessThanOrEqual(1);
    }
  });

  it('the same burst without reservations piles every conference onto one bridge (what the reservations fix)', () => {
    let piled = 0;
    for (let seed = 1; seed <= 100; seed++) if ([...burst(seed, false).values()].includes(3)) piled++;
    expect(piled).toBe(100);
  });

  it('a reservation counts fully until the bridge reports, then decays to nothing over the ramp-up', () => {
    let now = 0;
    const s = new BridgeSelector({ now: () => now, rampupMs: 20_000, averageParticipantStress: 0.01 });
    s.update('b', idle({ stressLevel: 0.1 }));
    s.reserve('b', 'room');
    s.reserve('b', 'room');
    now = 5_000;
    expect(s.correctedStress('b')).toBeCloseTo(0.12);
    s.update('b', idle({ stressLevel: 0.1 })); // this report may include them: decay starts
    now = 15_000;
    expect(s.correctedStress('b')).toBeCloseTo(0.11);
    now = 25_001;
    expect(s.correctedStress('b')).toBeCloseTo(0.1);
    expect(s.snapshot()[0]?.reservations).toBe(0);
  });

  it('uses the bridge-reported average participant stress', () => {
    const s = new BridgeSelector({ now: () => 0 });
    s.update('b', idle({ stressLevel: 0.2, averageParticipantStress: 0.05 }));
    s.reserve('b', 'r');
    expect(s.correctedStress('b')).toBeCloseTo(0.25);
  });

  it('prefers the participant region unless every bridge there is overloaded', () => {
    const s = new BridgeSelector({ now: () => 0 });
    s.update('eu', idle({ stressLevel: 0.5, region: 'eu' }));
    s.update('us', idle({ stressLevel: 0.1, region: 'us' }));
    expect(s.select({ region: 'eu' })).toBe('eu');
    expect(s.select({ region: 'ap' })).toBe('us');
    expect(s.select()).toBe('us');
    s.update('eu', idle({ stressLevel: 0.85, region: 'eu' }));
    expect(s.select({ region: 'eu' })).toBe('us');
  });

  it('never picks a draining, gracefully shutting down, shutting down or unhealthy bridge for a new conference', () => {
    const s = new BridgeSelector({ now: () => 0 });
    s.update('new', { stressLevel: 0, other: [] }); // no drain stat yet: counts as draining (§2.5)
    s.update('drain', idle({ drain: true }));
    s.update('graceful', idle({ gracefulShutdown: true }));
    s.update('down', idle({ shuttingDown: true }));
    s.update('sick', idle({ healthy: false }));
    expect(s.select()).toBeUndefined();
    s.update('ok', idle({ stressLevel: 0.9 }));
    expect(s.select()).toBe('ok');
    // graceful shutdown is sticky, as in Jicofo
    s.update('graceful', idle());
    expect(s.select()).toBe('ok');
    // a draining bridge still serves its existing conferences
    expect(s.isUsable('drain')).toBe(true);
    expect(s.isUsable('down')).toBe(false);
  });

  it('a failed bridge is out for the failure-reset time, then back', () => {
    let now = 0;
    const s = new BridgeSelector({ now: () => now, failureResetMs: 60_000 });
    s.update('a', idle({ stressLevel: 0.1 }));
    s.update('b', idle({ stressLevel: 0.5 }));
    s.markFailed('a', 'COLIBRI2 timeout');
    expect(s.select()).toBe('b');
    expect(s.snapshot().find((b) => b.jid === 'a')?.failureReason).toBe('COLIBRI2 timeout');
    expect(s.operationalCount()).toBe(1);
    now = 60_001;
    expect(s.select()).toBe('a');
    expect(s.select({ exclude: ['a'] })).toBe('b');
  });

  it('with a presence timeout, a bridge that stopped reporting is not operational until it reports again', () => {
    let now = 0;
    const s = new BridgeSelector({ now: () => now, presenceTimeoutMs: 15_000 });
    s.update('a', idle());
    now = 15_000;
    expect(s.stale()).toEqual([]);
    now = 15_001;
    expect(s.stale()).toEqual(['a']);
    expect(s.select()).toBeUndefined();
    expect(s.snapshot()[0]?.failureReason).toBe('no stats within the presence timeout');
    s.update('a', idle());
    expect(s.select()).toBe('a');
    const off = new BridgeSelector({ now: () => now });
    off.update('b', idle());
    now = 10_000_000;
    expect(off.stale()).toEqual([]);
  });

  it('forgets a bridge that left the brewery', () => {
    const s = new BridgeSelector({ now: () => 0 });
    s.update('a', idle());
    expect(s.remove('a')).toBe(true);
    expect(s.select()).toBeUndefined();
    expect(s.size).toBe(0);
  });
});
