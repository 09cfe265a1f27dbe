// Real-browser conferences through the whole stack (issue 7 acceptance (a), issue 8 §3): Prosody + token + turn +
// bridge + focus from startStack(), and the Hummingbird test client (packages/e2e/client) in headless Chromium,
// one browser context and page per participant. Scenarios run in order on one room:
//   1. three clients join; each receives the other two's audio (packets) and video (decoded frames);
//   2. a fourth joins (the others decode it) and leaves (the others drop its sources and see it leave);
//   3. a screen share (second video source, videoType desktop) from one reaches the others;
//   4. the last leaving ends the conference: the bridge's /colibri/stats conferences go back to 0.
// Each prints join → first decoded remote frame (p50 over the participants that joined in it).
import { parseXml, type El } from '@hummingbird/client';
import { p50, waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';

import {
  describeState, joinToFirstFrame, receivesFrom, sourcesOf, waitAllReceive, type ClientState, type JoinOptions, type Participant,
} from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';
import { shape, tracedOut } from './support/trace-shape.js';

const MEDIA_TIMEOUT_MS = 60_000;

interface BridgeStats {
  conferences: number;
  participants?: number;
}

async function bridgeStats(opsUrl: string): Promise<BridgeStats> {
  const reply = await fetch(`${opsUrl}/colibri/stats`, { signal: AbortSignal.timeout(5_000) });
  return (await reply.json()) as BridgeStats;
}

function report(scenario: string, ms: readonly number[]): void {
  expect(ms.every((m) => Number.isFinite(m) && m > 0), `${scenario}: every participant has a first-frame time`).toBe(true);
  recordFirstFrame(import.meta.url, scenario, 'hummingbird', ms);
  console.log(`[e2e] ${scenario}: join → first decoded remote frame p50 ${Math.round(p50(ms))} ms (per participant: ${ms.map((m) => Math.round(m)).join(', ')})`);
}

describe('conference with the Hummingbird test client (one bridge)', () => {
  const bed = useTestbed({ room: 'e2e', keepLogs: true });
  /** Who is in the room now. */
  const parts: Participant[] = [];

  const options = (name: string, extra: Partial<JoinOptions> = {}): JoinOptions => bed().joinOptions(name, { receiverMaxHeight: 720, ...extra });

  const dump = async (): Promise<string> => {
    const states = await Promise.all(parts.map((p) => p.state().then(describeState).catch((e: Error) => `${p.label}: ${e.message}`)));
    return `${states.join('\n')}\n--- last stack log lines ---\n${bed().logTail(60)}`;
  };

  // A speaks like current ljm (JSON sources); B does not advertise json-encoded-sources, so the focus must send it
  // XML sources; C advertises ssrc-rewriting-1, which the focus may answer with Jingle sources (§4.6).
  // A also records its XMPP traffic and sends ljm's bare receiver constraints, to be compared with the real client.
  const variants: Record<string, Partial<JoinOptions>> = {
    A: { recordXmpp: true, receiverMaxHeight: undefined },
    B: { xmlSources: true },
    C: { ssrcRewriting: true },
  };

  it('three clients join one room and each receives the other two\'s audio and video', async () => {
    const three = await Promise.all(['A', 'B', 'C'].map((l) => bed().open(l)));
    parts.push(...three);
    await Promise.all(three.map((p) => p.join(options(`Tester ${p.label}`, variants[p.label]))));
    let states: ClientState[];
    try {
      states = await waitAllReceive(three, MEDIA_TIMEOUT_MS);
    } catch (e) {
      console.log(await dump());
      throw e;
    }
    for (const [i, s] of states.entries()) {
      expect(s.joined).toBe(true);
      expect(s.errors, `${three[i]?.label ?? ''} errors`).toEqual([]);
      expect(s.session?.accepted).toBe(true);
      expect(s.bridgeChannelOpen).toBe(true);
      // The bridge answered the channel (§5.4) and the client sent its constraints (§5.3).
      expect(s.bridgeMessages.some((m) => m.direction === 'out' && m.message['colibriClass'] === 'ReceiverVideoConstraints')).toBe(true);
      expect(s.bridgeMessages.some((m) => m.direction === 'in')).toBe(true);
      // Simulcast: the session-accept carried 3 SIM layers (+ 3 RTX) for the camera.
      expect(s.local.sources.find((x) => x.name === `${s.endpointId ?? ''}-v0`)?.ssrcs).toHaveLength(6);
      for (const other of three.filter((_, j) => j !== i)) {
        const mine = sourcesOf(s, other.endpointId);
        expect(mine.map((x) => x.name).sort()).toEqual([`${other.endpointId}-a0`, `${other.endpointId}-v0`]);
        const video = mine.find((x) => x.kind === 'video');
        expect(video?.frameHeight).toBeGreaterThan(0);
        expect(s.participants.find((p) => p.id === other.endpointId)?.left).toBe(false);
      }
    }
    const [a, b] = states;
    expect(a?.sourceEncodings.xml).toBe(0);
    expect(a?.sourceEncodings.json).toBeGreaterThan(0);
    expect(b?.sourceEncodings.json).toBe(0);
    expect(b?.sourceEncodings.xml).toBeGreaterThan(0);
    report('conference: 3 participants', joinToFirstFrame(states));

    // A sent the same shapes as the real lib-jitsi-meet (fixtures): conference IQ, join presence, disco#info answer,
    // session-accept, and the colibri-ws messages on open.
    const sent = (a?.xmpp ?? []).filter((f) => f.direction === 'out').map((f) => parseXml(f.xml));
    const real = [...tracedOut('xmpp-only.client-a.websocket.trace.txt'), ...tracedOut('jingle-sources.client-a.websocket.trace.txt')];
    const pick = (frames: El[], what: string, test: (e: El) => boolean): El => {
      const found = frames.find(test);
      if (!found) throw new Error(`no ${what} among ${frames.length} frames`);
      return found;
    };
    const kinds: [string, (e: El) => boolean][] = [
      ['conference IQ', (e) => e.first('conference') !== undefined],
      ['join presence', (e) => e.local === 'presence' && e.first('x')?.ns === 'http://jabber.org/protocol/muc'],
      ['disco#info answer', (e) => e.attrs['type'] === 'result' && e.first('query')?.attrs['node'] !== undefined],
      ['session-accept', (e) => e.first('jingle')?.attrs['action'] === 'session-accept'],
    ];
    for (const [what, test] of kinds) expect(shape(pick(sent, what, test)), what).toEqual(shape(pick(real, what, test)));
    const ws = (a?.bridgeMessages ?? []).filter((m) => m.direction === 'out').map((m) => m.message);
    expect(ws.find((m) => m['colibriClass'] === 'ReceiverVideoConstraints')).toEqual({ colibriClass: 'ReceiverVideoConstraints', assumedBandwidthBps: -1, lastN: -1 });
    expect(ws.find((m) => m['colibriClass'] === 'SourceVideoTypeMessage')).toEqual({ colibriClass: 'SourceVideoTypeMessage', sourceName: `${a?.endpointId ?? ''}-v0`, videoType: 'camera' });
  }, 240_000);

  it('a fourth joins (the others decode it) and leaves (the others drop its sources)', async () => {
    const d = await bed().open('D');
    parts.push(d);
    await d.join(options('Tester D'));
    const four = [...parts];
    let states: ClientState[];
    try {
      states = await waitAllReceive(four, MEDIA_TIMEOUT_MS);
    } catch (e) {
      console.log(await dump());
      throw e;
    }
    report('conference: a 4th joins', joinToFirstFrame(states.slice(3)));
    await d.leave();
    const others = four.slice(0, 3);
    try {
      await waitFor(
        'the others see D leave and drop its sources',
        () => Promise.all(others.map((p) => p.state())),
        (ss) => ss.every((s) => sourcesOf(s, d.endpointId).length === 0 && s.participants.find((p) => p.id === d.endpointId)?.left === true),
        { timeoutMs: 30_000, intervalMs: 500, describe: (ss) => ss.map(describeState).join('\n') },
      );
    } catch (e) {
      console.log(await dump());
      throw e;
    }
    await d.close();
    parts.splice(parts.indexOf(d), 1);
    // And the three still receive each other.
    const after = await waitAllReceive(others, MEDIA_TIMEOUT_MS);
    expect(after.every((s) => s.errors.length === 0)).toBe(true);
  }, 240_000);

  it('a screen share (second video source, desktop) from one reaches the others', async () => {
    const [a, ...rest] = parts;
    if (!a) throw new Error('no participant');
    const sharedAt = Date.now();
    await a.startScreenShare();
    const sharer = await a.state();
    // Headless Chromium with --use-fake-ui-for-media-stream captures a fake screen; the canvas track is the fallback.
    console.log(`[e2e] screen share source: ${sharer.local.screenShare ?? '?'}${sharer.local.screenShareFallback ? ` (${sharer.local.screenShareFallback})` : ''}`);
    expect(['display', 'canvas']).toContain(sharer.local.screenShare);
    expect(sharer.local.sources.find((s) => s.name === `${a.endpointId}-v1`)?.videoType).toBe('desktop');
    try {
      await waitFor(
        'the others decode the screen share',
        () => Promise.all(rest.map((p) => p.state())),
        (ss) => ss.every((s) => sourcesOf(s, a.endpointId).some((x) => x.name === `${a.endpointId}-v1` && x.videoType === 'desktop' && x.framesDecoded > 0)),
        { timeoutMs: MEDIA_TIMEOUT_MS, intervalMs: 100, describe: (ss) => ss.map(describeState).join('\n') },
      );
    } catch (e) {
      console.log(await dump());
      throw e;
    }
    const shareMs = Date.now() - sharedAt;
    console.log(`[e2e] screen share: start → decoded by both others within ${shareMs} ms (100 ms polling)`);
    recordFirstFrame(import.meta.url, 'screen share from A to B and C', 'hummingbird', [shareMs], 'share start → decoded by all others');
    // The camera keeps flowing next to it.
    const states = await Promise.all(rest.map((p) => p.state()));
    expect(states.every((s) => receivesFrom(s, [a.endpointId]))).toBe(true);
  }, 180_000);

  it('the last leaving ends the conference and frees the bridge\'s router', async () => {
    const { stack, room } = bed();
    const bridge = stack.bridges[0];
    if (!bridge) throw new Error('no bridge');
    expect((await bridgeStats(bridge.opsUrl)).conferences).toBe(1);
    const focusConference = (): Promise<number> =>
      fetch(`${stack.focus?.opsUrl ?? ''}/debug/conferences/${room}@${stack.hosts.conference}`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status);
    expect(await focusConference()).toBe(200);
    for (const p of [...parts]) {
      await p.leave();
      await p.close();
      parts.splice(parts.indexOf(p), 1);
    }
    try {
      await waitFor('the bridge to free the conference', () => bridgeStats(bridge.opsUrl), (s) => s.conferences === 0, { timeoutMs: 60_000, intervalMs: 500 });
      await waitFor('the focus to end the conference', focusConference, (status) => status === 404, { timeoutMs: 30_000, intervalMs: 500 });
    } catch (e) {
      console.log(bed().logTail(60));
      throw e;
    }
  }, 120_000);
});
