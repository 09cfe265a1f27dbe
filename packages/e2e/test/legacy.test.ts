// Issue 7 acceptance (b): the real legacy client, npm `@lyno/lib-jitsi-meet` 2.6726.2 (upstream of
// ~2021-12; jitsi-client-protocol.md §9.1, §10), in headless Chromium against the whole Hummingbird
// stack (Prosody + token + turn + bridge + focus as child processes, startStack). The same scenarios
// run with an upstream bundle given by path in LJM_BUNDLE, and are skipped without one (§9.1).
//
// Scenarios, in order, on one stack and one room:
//   1. three clients join; each receives the other two's audio (inbound packets) and video (decoded
//      frames) on remote tracks owned by the right endpoint;
//   2. a fourth joins, receives and is received, and leaves; the three keep receiving;
//   3. a screen share reaches the others (how depends on the client version: see ljmPageShareScreen);
//   4. everyone leaves: the focus ends the conference and the bridge closes its router.
// Each scenario prints join → first decoded remote frame (ms) per client and the p50.

import { writeFile } from 'node:fs/promises';
import { p50, waitFor } from '@hummingbird/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { describeReceived, describeStats, type LegacyClient, type ReceivedFrom } from '../legacy/client.ts';
import { lynoBundle, upstreamBundle, type LjmBundle } from '../legacy/server.ts';
import type { LjmSnapshot } from '../legacy/types.ts';
import { recordFirstFrame } from './support/first-frame.ts';
import { useTestbed } from './support/testbed.ts';

const variants: { name: string; bundle: LjmBundle | undefined; ssrcRewriting: boolean }[] = [
  { name: '@lyno/lib-jitsi-meet 2.6726.2', bundle: lynoBundle(), ssrcRewriting: false },
  { name: 'LJM_BUNDLE (upstream)', bundle: upstreamBundle(), ssrcRewriting: false },
];

const MEDIA_TIMEOUT_MS = 60_000;

/** join → first decoded frame of any remote video, and of the last remote video to decode (page clock). */
function frameTimes(s: LjmSnapshot): { first: number; all: number } | undefined {
  if (s.joinedAt === undefined) return undefined;
  const at = Object.values(s.firstFrameAt);
  if (at.length === 0) return undefined;
  return { first: Math.min(...at) - s.joinedAt, all: Math.max(...at) - s.joinedAt };
}

function report(variant: string, scenario: string, snapshots: readonly { label: string; s: LjmSnapshot }[]): void {
  const rows = snapshots.map(({ label, s }) => ({ label, t: frameTimes(s) }));
  const firsts = rows.flatMap((r) => (r.t === undefined ? [] : [r.t.first]));
  const alls = rows.flatMap((r) => (r.t === undefined ? [] : [r.t.all]));
  recordFirstFrame(import.meta.url, `${variant}: ${scenario}`, 'legacy', rows.map((r) => r.t?.first ?? Number.NaN));
  console.log(
    `[legacy] ${scenario}: join → first decoded remote frame ms: ${rows.map((r) => `${r.label}=${r.t === undefined ? '-' : String(r.t.first)}`).join(' ')}` +
      ` | p50 ${String(p50(firsts))} ms; all remote videos decoding p50 ${String(p50(alls))} ms`,
  );
}

async function json(url: string): Promise<Record<string, unknown>> {
  const reply = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await reply.json()) as Record<string, unknown>;
}

for (const variant of variants) {
  describe.skipIf(variant.bundle === undefined)(`${variant.name} through the Hummingbird stack`, { timeout: 180_000 }, () => {
    const bed = useTestbed({ room: 'legacy', legacy: variant.bundle, client: false, keepLogs: true });
    /** The three that stay (A, B, C), once joined: their endpoint ids. */
    const ids = new Map<LegacyClient, string>();

    /** The apps' warnings and errors, and the focus's last lines: printed when a scenario fails. */
    const logTail = (): string =>
      [
        ...bed().logs.filter((l) => /"level":"(warn|error|fatal)"/.test(l)).slice(-60),
        ...(bed().stack.focus?.logTail(40) ?? []).map((l) => `[focus] ${l}`),
      ].join('\n');

    const join = async (label: string): Promise<{ client: LegacyClient; id: string }> => {
      const client = await bed().openLegacy(label);
      await client.start(bed().legacyOptions(label, { ssrcRewriting: variant.ssrcRewriting }));
      const s = await client.waitJoined();
      if (s.myId === undefined) throw new Error(`${label} joined without an endpoint id`);
      return { client, id: s.myId };
    };

    // Registered after the test bed's hooks, so it runs while the stack's log lines are still there.
    afterAll(async () => {
      // HB_E2E_LEGACY_LOG=<file>: every app log line of the run, for post-mortems.
      const logFile = process.env['HB_E2E_LEGACY_LOG'];
      if (logFile !== undefined && logFile !== '') await writeFile(logFile, `${bed().logs.join('\n')}\n`);
    });

    it('three clients join one room and each receives the other two’s audio and video', async () => {
      const joined = await Promise.all(['A', 'B', 'C'].map((l) => join(l)));
      for (const j of joined) ids.set(j.client, j.id);
      const three = joined.map((j) => j.client);
      try {
        for (const c of three) {
          const others = [...ids].filter(([k]) => k !== c).map(([, id]) => id);
          const received = await c.waitMediaFrom(others, { timeoutMs: MEDIA_TIMEOUT_MS });
          console.log(`[legacy] ${c.label} receives ${received.map(describeReceived).join(' | ')}`);
          const s = await c.snapshot();
          for (const id of others) {
            const live = s.remoteTracks.filter((t) => t.owner === id && t.removedAt === undefined);
            expect(live.map((t) => t.type).sort(), `${c.label}: live tracks of ${id}`).toEqual(['audio', 'video']);
          }
        }
      } catch (error) {
        console.log(logTail());
        throw error;
      }
      report(variant.name, '3 clients', await Promise.all(three.map(async (c) => ({ label: c.label, s: await c.snapshot() }))));
    });

    it('a fourth joins, receives and is received, then leaves; the three keep receiving', async () => {
      expect(ids.size, 'scenario 1 ran').toBe(3);
      const three = [...ids.keys()];
      const d = await join('D');
      let left = false;
      try {
        const received = await d.client.waitMediaFrom([...ids.values()], { timeoutMs: MEDIA_TIMEOUT_MS });
        console.log(`[legacy] D receives ${received.map(describeReceived).join(' | ')}`);
        for (const c of three) await c.waitMediaFrom([d.id], { timeoutMs: MEDIA_TIMEOUT_MS });
        report(variant.name, '4th joins', [{ label: 'D', s: await d.client.snapshot() }]);
        await d.client.leave();
        left = true;
      } catch (error) {
        console.log(logTail());
        throw error;
      } finally {
        // D leaves whatever happened, so the last scenario still sees the room empty out.
        if (!left) await d.client.leave().catch(() => undefined);
      }
      for (const c of three) {
        await waitFor(`${c.label} sees D leave`, () => c.snapshot(), (s) => !s.participants.includes(d.id), { timeoutMs: 20_000, intervalMs: 200 });
      }
      await d.client.close();
      // Still receiving from each other: frame counters keep moving after D left.
      for (const c of three) {
        const others = [...ids].filter(([k]) => k !== c).map(([, id]) => id);
        const before = await c.waitMediaFrom(others, { timeoutMs: 10_000 });
        for (const r of before) {
          await c.waitMediaFrom([r.owner], { timeoutMs: 20_000, minFrames: r.videoFrames + 10, minPackets: r.audioPackets + 25 });
        }
      }
    });

    it('a screen share reaches the others', async () => {
      expect(ids.size, 'scenario 1 ran').toBe(3);
      const [a, ...rest] = [...ids.keys()];
      if (a === undefined) throw new Error('no client A');
      const aId = ids.get(a) ?? '';
      // What B and C decode of A's camera now: the share must bring frames beyond these, of another kind.
      const camera = new Map<LegacyClient, ReceivedFrom>();
      for (const c of rest) camera.set(c, (await c.waitMediaFrom([aId], { timeoutMs: MEDIA_TIMEOUT_MS }))[0] as ReceivedFrom);
      const share = await a.shareScreen();
      console.log(`[legacy] screen share mode: ${share.mode}${share.addTrackError === undefined ? '' : ` (addTrack: ${share.addTrackError})`}`);
      try {
        for (const c of rest) {
          const cam = camera.get(c);
          if (cam === undefined) throw new Error('no camera baseline');
          // A remote video track of A's with videoType desktop, decoding frames. In 'replaced' mode it is the
          // camera's track (same SSRC), so only frames decoded after the switch count.
          const minFrames = share.mode === 'replaced' ? cam.videoFrames + 15 : 15;
          const [r] = await c.waitMediaFrom([aId], { timeoutMs: MEDIA_TIMEOUT_MS, videoType: 'desktop', minFrames });
          console.log(`[legacy] ${c.label} receives A's screen: ${r === undefined ? '-' : describeReceived(r)} (camera was ${String(cam.videoSize)})`);
          const s = await c.snapshot();
          const videos = s.remoteTracks.filter((t) => t.owner === aId && t.type === 'video' && t.removedAt === undefined);
          if (share.mode === 'second-source') expect(videos.map((t) => t.videoType).sort()).toEqual(['camera', 'desktop']);
          else expect(videos.map((t) => t.videoType)).toEqual(['desktop']);
          // The fake screen is not the 180p fake camera: the decoded picture changed with the share.
          await waitFor(
            `${c.label} decodes A's screen at another size than the camera`,
            async () => (await c.waitMediaFrom([aId], { timeoutMs: 5_000, videoType: 'desktop' }))[0]?.videoSize,
            (size) => size !== undefined && size !== cam.videoSize,
            { timeoutMs: 20_000, intervalMs: 250 },
          );
        }
      } catch (error) {
        const sa = await a.snapshot();
        console.log(`[legacy] A after the share: ${sa.events.slice(-25).map((e) => `${e.what}${e.detail === undefined ? '' : `(${e.detail})`}`).join(' ')}`);
        console.log(`[legacy] A stats: ${describeStats(await a.stats())}`);
        console.log(logTail());
        throw error;
      }
    });

    it('the last leaving ends the conference and frees the bridge’s router', async () => {
      expect(ids.size, 'scenario 1 ran').toBe(3);
      const { stack } = bed();
      const bridge = stack.bridges[0];
      const focus = stack.focus;
      if (bridge === undefined || focus === undefined) throw new Error('stack without bridge or focus');
      const before = await json(`${bridge.opsUrl}/colibri/stats`);
      expect(before['conferences']).toBe(1);
      expect((await json(`${focus.opsUrl}/stats`))['conferences']).toBe(1);
      const snapshots: LjmSnapshot[] = [];
      for (const c of ids.keys()) {
        snapshots.push(await c.snapshot());
        await c.leave();
      }
      await waitFor('the focus ended the conference', () => json(`${focus.opsUrl}/stats`), (s) => s['conferences'] === 0, { timeoutMs: 30_000, intervalMs: 250 });
      const after = await waitFor('the bridge closed the router', () => json(`${bridge.opsUrl}/colibri/stats`), (s) => s['conferences'] === 0 && s['endpoints'] === 0, {
        timeoutMs: 30_000,
        intervalMs: 250,
      });
      expect(after['total_conferences_completed']).toBe((before['total_conferences_completed'] as number) + 1);
      // The bridge channel: what the 2021 client sent that the bridge did not understand (§10 item 5).
      const metrics = await (await fetch(`${bridge.opsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      const ws = metrics.split('\n').filter((l) => /^hb_bridge_ws_messages_(unknown|malformed)_total /.test(l));
      console.log(`[legacy] bridge channel: ${ws.join(', ')}`);
      const jingleOut = [...new Set(snapshots.flatMap((s) => s.events.filter((e) => e.what === 'jingle-out').map((e) => e.detail)))];
      console.log(`[legacy] Jingle actions the clients sent: ${jingleOut.join(', ')}`);
      const samples = snapshots[0]?.samples ?? {};
      for (const [kind, text] of Object.entries(samples)) if (kind !== 'jingle:session-accept') console.log(`[legacy] sample ${kind}: ${text}`);
      // Whatever the clients were refused during the call is a protocol incompatibility: print it.
      for (const s of snapshots) if (s.iqErrors.length > 0) console.log(`[legacy] ${String(s.myId)} IQ errors:\n${s.iqErrors.join('\n')}`);
      expect(snapshots.flatMap((s) => s.iqErrors)).toEqual([]);
    });
  });
}
