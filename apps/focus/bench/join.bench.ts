// pnpm bench: join latency through the focus (conference IQ → MUC join → session-initiate → session-accept acked)
// for participants 2..50 of one room, and sustained joins/min, against a real Prosody with a fake COLIBRI2 bridge
// that answers at once (so this measures the focus and Prosody, not a bridge). Each figure is printed next to a
// bare Prosody IQ round trip measured in the same run, as a ratio. Asserts nothing; bounded (~60 s).
import { Element, NS, parseConferenceResponse } from '@hummingbird/xmpp';
import { GUEST_HOST, startFocusStack } from '../test/support/stack.js';
import { FakeBridge, FakeParticipant, MUC, stopAll } from '../test/support/xmpp.js';

const SUSTAINED_MS = Number(process.env.HB_BENCH_SUSTAINED_MS ?? 20_000);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

const stack = await startFocusStack();
try {
  const bridge = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-bench', password: stack.bridgePassword });
  await bridge.start();
  const guest = (): Promise<FakeParticipant> => new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: GUEST_HOST }).start();
  while (stack.focus.focus.bridges.operationalCount() === 0) await new Promise((r) => setTimeout(r, 20));

  // Baseline: a disco#info round trip to the MUC service (Prosody alone).
  const probe = await guest();
  const rtts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await probe.conn.caller.get(MUC, new Element('query', { xmlns: NS.DISCO_INFO }));
    rtts.push(performance.now() - t0);
  }
  const base = percentile(rtts, 50);
  console.log(`baseline: Prosody IQ round trip p50 ${fmt(base)}, p95 ${fmt(percentile(rtts, 95))}`);
  // Second baseline: an XMPP ping answered by the focus itself (client → Prosody → component → back).
  const pings: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await probe.conn.caller.get(`focus.${MUC.slice('conference.'.length)}`, new Element('ping', { xmlns: NS.PING }));
    pings.push(performance.now() - t0);
  }
  console.log(`baseline: ping answered by the focus component p50 ${fmt(percentile(pings, 50))}, p95 ${fmt(percentile(pings, 95))}`);

  /** One full join; resolves with its latency (the first participant of a room has no session, so no latency). */
  const phases = { conferenceIq: [] as number[], mucJoin: [] as number[], initiate: [] as number[], accept: [] as number[] };
  async function join(p: FakeParticipant, room: string, nick: string, index: number, measure: boolean): Promise<number | undefined> {
    if (process.env.HB_BENCH_WARM === '1') await p.conn.caller.get(`focus.${MUC.slice('conference.'.length)}`, new Element('ping', { xmlns: NS.PING }));
    const before = p.jingles.length;
    const t0 = performance.now();
    const answer = parseConferenceResponse(await p.conferenceRequest(room));
    if (!answer.ready) throw new Error('not ready');
    const t1 = performance.now();
    const self = await p.join(room, nick);
    if (self.attrs.type === 'error') throw new Error('join refused');
    const t2 = performance.now();
    if (!measure) return undefined;
    await p.nextJingle('session-initiate', { after: before, timeoutMs: 30_000 });
    const t3 = performance.now();
    await p.sendJingle(p.accept(10_000 + index * 100));
    const t4 = performance.now();
    phases.conferenceIq.push(t1 - t0);
    phases.mucJoin.push(t2 - t1);
    phases.initiate.push(t3 - t2);
    phases.accept.push(t4 - t3);
    return t4 - t0;
  }

  // 1. One room, participants 1..50 joining one after the other.
  const room = `bench@${MUC}`;
  const people: FakeParticipant[] = [];
  const latencies: number[] = [];
  for (let i = 1; i <= 50; i++) {
    const p = await guest();
    people.push(p);
    const ms = await join(p, room, `j${String(i).padStart(7, '0')}`, i, i >= 2);
    if (i === 2) {
      // the first participant is invited together with the second: accept its session too
      const first = people[0] as FakeParticipant;
      await first.nextJingle('session-initiate', { after: 0 });
      await first.sendJingle(first.accept(10_000));
    }
    if (ms !== undefined) latencies[i] = ms;
  }
  console.log('join latency (conference IQ → session-accept acked), one room, sequential joins:');
  for (const [from, to] of [[2, 10], [11, 25], [26, 50]] as const) {
    const slice = latencies.slice(from, to + 1).filter((x) => x !== undefined);
    const p50 = percentile(slice, 50);
    const p95 = percentile(slice, 95);
    console.log(`  participants ${String(from).padStart(2)}..${String(to)}: p50 ${fmt(p50)} (${(p50 / base).toFixed(1)}× IQ RTT), p95 ${fmt(p95)} (${(p95 / base).toFixed(1)}× IQ RTT)`);
  }
  console.log(
    `  phases (p50 over all joins): conference IQ ${fmt(percentile(phases.conferenceIq, 50))}, MUC join ${fmt(percentile(phases.mucJoin, 50))}, ` +
      `join → session-initiate ${fmt(percentile(phases.initiate, 50))}, session-accept acked ${fmt(percentile(phases.accept, 50))}`,
  );
  await Promise.all(people.map((p) => p.conn.stop()));

  // 2. Sustained: rooms of 2 opened, joined, accepted and left in a loop for SUSTAINED_MS.
  let joins = 0;
  let failures = 0;
  let n = 0;
  const end = Date.now() + SUSTAINED_MS;
  const workers = Array.from({ length: 4 }, async (_, w) => {
    while (Date.now() < end) {
      const r = `s${String(w)}-${String(n++)}@${MUC}`;
      const pair = [await guest(), await guest()];
      try {
        await join(pair[0] as FakeParticipant, r, 'p0000001', 1, false);
        await join(pair[1] as FakeParticipant, r, 'p0000002', 2, true);
        const first = pair[0] as FakeParticipant;
        await first.nextJingle('session-initiate', { after: 0 });
        await first.sendJingle(first.accept(20_000));
        joins += 2;
      } catch (error) {
        failures += 1;
        console.error('join failed:', error instanceof Error ? error.message : error);
      }
      await Promise.all(pair.map((p) => p.conn.stop()));
    }
  });
  await Promise.all(workers);
  const perMin = (joins / SUSTAINED_MS) * 60_000;
  console.log(`sustained: ${String(joins)} joins in ${String(SUSTAINED_MS / 1000)} s = ${perMin.toFixed(0)} joins/min, ${String(failures)} failures (4 workers, rooms of 2)`);
} finally {
  await stopAll();
  await stack.close();
}
