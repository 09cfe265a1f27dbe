// Bridge failover with real browsers (issue 7 acceptance "Failover"): two bridges, three Hummingbird test clients.
//   1. SIGKILL the bridge hosting the conference mid-call → every participant is re-invited (a new Jingle session
//      on the other bridge) and receives audio and video again within 5 s.
//   2. A fresh bridge joins; SIGSTOP the bridge now hosting the conference (a hung bridge keeps its XMPP and TCP
//      connections) → the focus detects it within its configured timeout (brewery presence timeout, passed
//      through env) and moves the participants, who receive media again.
import type { StackBridge } from '@hummingbird/stack';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeState, joinToFirstFrame, receivesFrom, waitAllReceive, type ClientState, type Participant } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

/** Bridges publish brewery stats every second; the focus fails a bridge silent for 5 s (a hung one). */
const STATS_INTERVAL_MS = 1_000;
const PRESENCE_TIMEOUT_MS = 5_000;
const COLIBRI_TIMEOUT_MS = 3_000;
/** Acceptance: re-invited and receiving media again within 5 s of the SIGKILL. */
const KILL_RECOVERY_MS = 5_000;

async function conferencesOn(bridge: StackBridge): Promise<number> {
  const reply = await fetch(`${bridge.opsUrl}/colibri/stats`, { signal: AbortSignal.timeout(2_000) });
  return ((await reply.json()) as { conferences: number }).conferences;
}

/** The one live bridge that hosts the conference (stopped or killed bridges do not answer). */
async function hostOf(bridges: readonly StackBridge[]): Promise<StackBridge> {
  return waitFor(
    'exactly one bridge hosting the conference',
    async () => {
      const hosts: StackBridge[] = [];
      for (const b of bridges) {
        const n = await conferencesOn(b).catch(() => 0);
        if (n > 0) hosts.push(b);
      }
      return hosts;
    },
    (hosts) => hosts.length === 1,
    { timeoutMs: 20_000, intervalMs: 250, describe: (hosts) => hosts.map((h) => h.id).join(',') },
  ).then((hosts) => hosts[0] as StackBridge);
}

describe('bridge failover with the Hummingbird test client (two bridges)', () => {
  const bed = useTestbed({
    room: 'failover',
    bridges: 2,
    keepLogs: true,
    env: {
      focus: {
        HB_FOCUS_BRIDGE__PRESENCE_TIMEOUT_MS: String(PRESENCE_TIMEOUT_MS),
        HB_FOCUS_BRIDGE__COLIBRI_TIMEOUT_MS: String(COLIBRI_TIMEOUT_MS),
      },
      bridge: { HB_BRIDGE_BRIDGE__STATS_INTERVAL_MS: String(STATS_INTERVAL_MS) },
    },
  });
  const parts: Participant[] = [];
  const stopped: StackBridge[] = [];
  const killed: StackBridge[] = [];

  beforeAll(async () => {
    parts.push(...(await Promise.all(['A', 'B', 'C'].map((l) => bed().join(l)))));
    const states = await waitAllReceive(parts, 60_000);
    recordFirstFrame(import.meta.url, 'failover: 3 participants before the bridge dies', 'hummingbird', joinToFirstFrame(states));
  }, 240_000);

  // Registered after the test bed's hooks, so it runs before the bed closes: a stopped bridge cannot stop.
  afterAll(() => {
    for (const b of stopped) b.kill('SIGCONT');
  });

  /** Waits until every participant runs a session newer than `before` and receives from the others again. */
  async function recovered(before: readonly ClientState[], timeoutMs: number): Promise<ClientState[]> {
    try {
      return await waitFor(
        'every participant re-invited and receiving the others again',
        () => Promise.all(parts.map((p) => p.state())),
        (ss) => ss.every((s, i) =>
          s.sessions > (before[i]?.sessions ?? 0) &&
          s.session?.accepted === true &&
          receivesFrom(s, parts.filter((_, j) => j !== i).map((p) => p.endpointId))),
        { timeoutMs, intervalMs: 200, describe: (ss) => ss.map(describeState).join('\n') },
      );
    } catch (e) {
      console.log(bed().logs.filter((l) => l.startsWith('[focus]')).slice(-40).join('\n'));
      throw e;
    }
  }

  it('SIGKILL of the hosting bridge: every participant re-invited and receiving media again within 5 s', async () => {
    const { stack } = bed();
    const host = await hostOf(stack.bridges);
    const before = await Promise.all(parts.map((p) => p.state()));
    const killedAt = Date.now();
    host.kill('SIGKILL');
    killed.push(host);
    // Bounded generously so that a slow recovery shows its measured time instead of a bare timeout.
    const after = await recovered(before, 30_000);
    const recoveredMs = Date.now() - killedAt;
    const reinvites = after.map((s) => (s.timings.sessionInitiateAt ?? NaN) - killedAt);
    const frames = after.map((s) => (s.timings.sessionFirstFrameAt ?? NaN) - killedAt);
    console.log(`[e2e] SIGKILL ${host.id}: re-invite after ${reinvites.join(', ')} ms; first frame after ${frames.join(', ')} ms; all media back after ≤ ${recoveredMs} ms`);
    expect(await host.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(recoveredMs).toBeLessThanOrEqual(KILL_RECOVERY_MS);
    const newHost = await hostOf(stack.bridges.filter((b) => b !== host));
    expect(newHost).not.toBe(host);
  }, 120_000);

  it('SIGSTOP of the hosting bridge: detected and failed over within the configured timeout', async () => {
    const { stack } = bed();
    await stack.startBridge();
    const host = await hostOf(stack.bridges.filter((b) => !killed.includes(b)));
    // Let the new bridge be seen in the brewery before the host hangs.
    await new Promise((r) => setTimeout(r, 2 * STATS_INTERVAL_MS));
    const before = await Promise.all(parts.map((p) => p.state()));
    const stoppedAt = Date.now();
    host.kill('SIGSTOP');
    stopped.push(host);
    const after = await recovered(before, 60_000);
    const reinvites = after.map((s) => (s.timings.sessionInitiateAt ?? NaN) - stoppedAt);
    const recoveredMs = Date.now() - stoppedAt;
    console.log(`[e2e] SIGSTOP ${host.id}: re-invite after ${reinvites.join(', ')} ms (presence timeout ${PRESENCE_TIMEOUT_MS} ms); all media back after ≤ ${recoveredMs} ms`);
    // Detection is bounded by the presence timeout plus one stats interval (the last report may be that old).
    for (const r of reinvites) expect(r).toBeLessThanOrEqual(PRESENCE_TIMEOUT_MS + STATS_INTERVAL_MS + 2_000);
    host.kill('SIGCONT');
  }, 120_000);
});
