import { MID_MODE, type BridgeService } from '@hummingbird/bridge';
import { offerDescription, type Jingle } from '@hummingbird/xmpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conference } from '../src/conference.js';
import { ROUTER_CAPABILITIES } from '../src/offer.js';
import { bridgeTable, clientTable, startRealBridge } from './support/bridge.js';
import { joinRoom, until } from './support/helpers.js';
import { GUEST_HOST, startFocusStack, type FocusStack } from './support/stack.js';
import { FakeParticipant, MUC, stopAll } from './support/xmpp.js';

// Issue 7 with the REAL bridge (apps/bridge in-process: patched mediasoup worker, COLIBRI2 with the Hummingbird
// consumer report), real Prosody and XMPP-only fake participants: every receiver is told exactly the SSRCs of its own
// consumers (jitsi-client-protocol.md §8.1), never the senders' SSRCs; the session-initiate carries the router's
// payload types and extension ids (§8.3). The participants never connect ICE, so no media flows here (browsers:
// packages/e2e); what is checked is the signalling against the bridge's own consumer state.

let stack: FocusStack;
let bridge: BridgeService;

beforeAll(async () => {
  stack = await startFocusStack();
  bridge = await startRealBridge(stack.prosody, stack.bridgePassword);
  await until(() => stack.focus.focus.bridges.operationalCount() === 1, 'the real bridge registered', 30_000);
}, 90_000);

afterAll(async () => {
  await stopAll();
  await bridge?.close('test end');
  await stack?.close();
}, 30_000);

const guest = (json: boolean): Promise<FakeParticipant> =>
  new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: GUEST_HOST, jsonSources: json }).start();

/** A screen share as ljm adds it (§4.3): `<ep>-v1`, videoType desktop, 3 SIM layers each with its RTX. */
function screenShare(p: FakeParticipant, base: number): Jingle {
  const ep = p.nick ?? 'x';
  const v = [base, base + 1, base + 2, base + 10, base + 11, base + 12];
  const msid = [{ name: 'msid', value: `${ep}-video-1-1 track-desktop-${ep}-1` }];
  return {
    action: 'source-add',
    sid: p.sid,
    groups: [],
    contents: [
      {
        name: 'video',
        description: {
          media: 'video', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false,
          sources: v.map((ssrc) => ({ ssrc, name: `${ep}-v1`, videoType: 'desktop', parameters: msid })),
          ssrcGroups: [
            { semantics: 'FID', ssrcs: [base, base + 10] },
            { semantics: 'SIM', ssrcs: [base, base + 1, base + 2] },
            { semantics: 'FID', ssrcs: [base + 1, base + 11] },
            { semantics: 'FID', ssrcs: [base + 2, base + 12] },
          ],
        },
      },
    ],
  };
}

/** The SSRCs a sender signalled itself (session-accept base .. base+22, screen share base2 .. base2+12). */
const ownSsrcs = (base: number): number[] => [base, base + 10, base + 11, base + 12, base + 20, base + 21, base + 22];

describe('with the real bridge: per-receiver consumer SSRCs', () => {
  const room = `consumers@${MUC}`;
  const A = 'c0000001';
  const B = 'c0000002';
  const C = 'c0000003';
  const D = 'c0000004';
  let a: FakeParticipant;
  let b: FakeParticipant;
  let c: FakeParticipant;
  let meetingId: string;
  let conference: Conference;

  /** Waits until `p`'s client holds exactly what the bridge consumes for it, `count` SSRCs, then checks it in detail. */
  async function converged(p: FakeParticipant, count: number): Promise<void> {
    const nick = p.nick ?? '';
    await until(
      () => {
        const held = clientTable(p).table;
        return Object.keys(held).length === count && JSON.stringify(held) === JSON.stringify(bridgeTable(bridge, meetingId, nick).table);
      },
      `${nick} holds its ${String(count)} consumer SSRCs`,
      20_000,
    ).catch(() => undefined); // the assertions below say what differs
    const client = clientTable(p);
    const truth = bridgeTable(bridge, meetingId, nick);
    expect(client.table).toEqual(truth.table);
    expect(Object.keys(client.table)).toHaveLength(count);
    // RTX pairing (FID) exactly as the bridge's consumers have it, and every source with an msid (§4.2).
    expect(client.fid).toEqual(truth.fid);
    for (const ssrc of Object.keys(client.table)) expect(client.msids.get(Number(ssrc))).toMatch(/^\S+ \S+$/);
  }

  beforeAll(async () => {
    a = await guest(true);
    b = await guest(true);
    c = await guest(false); // XML sources
  });

  it('session-initiate carries the router\'s payload types and extension ids (the bridge\'s <media>)', async () => {
    await joinRoom(a, room, A);
    await joinRoom(b, room, B);
    const initA = (await a.nextJingle('session-initiate', { after: 0 })).jingle;
    await b.nextJingle('session-initiate', { after: 0 });
    conference = stack.focus.focus.conferences.get(room) as Conference;
    meetingId = conference.meetingId;
    const router = bridge.colibri.conferences.get(meetingId)?.router;
    expect(router).toBeDefined();
    for (const kind of ['audio', 'video'] as const) {
      const expected = offerDescription(router?.rtpCapabilities ?? {}, kind, { midMode: MID_MODE });
      const got = initA.contents.find((x) => x.name === kind)?.description;
      expect(got?.payloadTypes).toEqual(expected.payloadTypes);
      expect(got?.headerExtensions).toEqual(expected.headerExtensions);
      // offer.ts (what the first allocation on a bridge sends, before the bridge's numbers are known) agrees with
      // apps/bridge's router, so even the first endpoint's consumer capabilities match the offer.
      const fallback = offerDescription(ROUTER_CAPABILITIES, kind, { midMode: MID_MODE });
      expect(fallback.payloadTypes).toEqual(expected.payloadTypes);
      expect(fallback.headerExtensions).toEqual(expected.headerExtensions);
    }
    // The consumer mode is on for this bridge; nobody has sources yet.
    const debug = conference.describe() as { participants: { nick: string; session: { consumerMode: boolean } | null }[] };
    expect(debug.participants.map((p) => p.session?.consumerMode)).toEqual([true, true]);
  });

  it('sources reported while a receiver\'s session is pending wait for its session-accept, then arrive as its consumers', async () => {
    await a.sendJingle(a.accept(1000));
    // The bridge made B's consumers of A's sources and reported them; B has not accepted yet: nothing is sent.
    await until(() => (conference.participants.get(B)?.consumers?.sources.length ?? 0) === 2, 'the report of B\'s consumers reached the focus');
    await new Promise((resolve) => setImmediate(resolve)); // the focus's coalesced sync runs in this turn
    const told = (): unknown =>
      (conference.describe() as { participants: { nick: string; session: { remoteSources: object } | null }[] }).participants.find((p) => p.nick === B)?.session
        ?.remoteSources;
    expect(told()).toEqual({});
    expect(b.jingles.filter((j) => j.jingle.action === 'source-add')).toHaveLength(0);
    const bAdd = b.nextJingle('source-add');
    const aAdd = a.nextJingle('source-add');
    await b.sendJingle(b.accept(2000));
    const first = (await bAdd).jingle;
    expect(first.jsonSources?.owners.map((o) => o.owner)).toEqual([A]);
    await aAdd;
    await converged(a, 3);
    await converged(b, 3);
    expect(Object.keys(told() as object)).toEqual([`${A}-a0`, `${A}-v0`]);
  });

  it('a third participant gets the others\' consumers in its session-initiate; everybody holds only its own consumers', async () => {
    await joinRoom(c, room, C);
    const initC = (await c.nextJingle('session-initiate', { after: 0 })).jingle;
    // XML (no json-encoded-sources): the feedback source first, then C's consumers of A and B, with owners.
    const videoOwners = initC.contents.find((x) => x.name === 'video')?.description?.sources.map((s) => s.owner);
    expect(videoOwners).toEqual(['jvb', A, A, B, B]);
    expect(initC.contents.every((x) => x.description?.ssrcGroups.every((g) => g.semantics === 'FID'))).toBe(true);
    await c.sendJingle(c.accept(3000));
    await converged(a, 6);
    await converged(b, 6);
    await converged(c, 6);
    // Distinct per receiver: A's camera reaches B and C on different SSRCs, none of them A's own.
    const camOf = (p: FakeParticipant, owner: string): number[] =>
      Object.entries(clientTable(p).table).filter(([, v]) => v.owner === owner && v.name === `${owner}-v0`).map(([k]) => Number(k));
    const atB = camOf(b, A);
    const atC = camOf(c, A);
    expect(atB).toHaveLength(2);
    expect(atC).toHaveLength(2);
    expect(atB.filter((x) => atC.includes(x))).toEqual([]);
    const senders = [...ownSsrcs(1000), ...ownSsrcs(2000), ...ownSsrcs(3000)];
    for (const p of [a, b, c]) expect(Object.keys(clientTable(p).table).map(Number).filter((x) => senders.includes(x))).toEqual([]);
  });

  it('a screen share (second video source, desktop) reaches the others as their own consumers', async () => {
    const bAdd = b.nextJingle('source-add');
    const cAdd = c.nextJingle('source-add');
    await a.sendJingle(screenShare(a, 5000));
    const atB = (await bAdd).jingle;
    const desktop = atB.jsonSources?.owners.find((o) => o.owner === A)?.video;
    expect(desktop?.map((s) => [s.name, s.desktop])).toEqual([[`${A}-v1`, true], [`${A}-v1`, true]]);
    const atC = (await cAdd).jingle.contents.find((x) => x.name === 'video')?.description;
    expect(atC?.sources.map((s) => [s.name, s.videoType, s.owner])).toEqual([[`${A}-v1`, 'desktop', A], [`${A}-v1`, 'desktop', A]]);
    await converged(b, 8);
    await converged(c, 8);
    await converged(a, 6);
    const screenSsrcs = [5000, 5001, 5002, 5010, 5011, 5012];
    for (const p of [b, c]) expect(Object.keys(clientTable(p).table).map(Number).filter((x) => screenSsrcs.includes(x))).toEqual([]);
  });

  it('a leaver\'s consumers are removed at the others', async () => {
    const cAtA = Object.entries(clientTable(a).table).filter(([, v]) => v.owner === C).map(([k]) => Number(k)).sort();
    expect(cAtA).toHaveLength(3);
    const aRemove = a.nextJingle('source-remove');
    const bRemove = b.nextJingle('source-remove');
    await c.leave();
    const removed = (await aRemove).jingle;
    expect(removed.jsonSources?.owners.map((o) => o.owner)).toEqual([C]);
    const removedSsrcs = removed.jsonSources?.owners.flatMap((o) => [...o.audio, ...o.video].map((s) => s.ssrc)).sort();
    expect(removedSsrcs).toEqual(cAtA);
    await bRemove;
    await until(() => bridge.colibri.conferences.get(meetingId)?.endpoints.has(C) === false, 'C\'s endpoint expired on the bridge');
    await converged(a, 3);
    await converged(b, 5);
  });

  it('a restart (terminate restart="true") gets a new initiate with the new endpoint\'s consumers; the others swap its SSRCs', async () => {
    const oldAtA = Object.keys(clientTable(a).table).map(Number).sort();
    const before = b.jingles.length;
    const aRemove = a.nextJingle('source-remove');
    await b.sendJingle({
      action: 'session-terminate',
      sid: b.sid,
      contents: [],
      groups: [],
      reason: { condition: 'connectivity-error', text: 'ICE FAILED' },
      bridgeSession: { id: b.lastInitiate.bridgeSession?.id ?? '', restart: true },
    });
    const again = (await b.nextJingle('session-initiate', { after: before })).jingle;
    // B's new bridge endpoint has new consumers of A's camera, microphone and screen share: all in the offer.
    expect(again.jsonSources?.owners.map((o) => [o.owner, o.audio.length, o.video.length])).toEqual([[A, 1, 4]]);
    const removed = (await aRemove).jingle.jsonSources?.owners.flatMap((o) => [...o.audio, ...o.video].map((s) => s.ssrc)).sort();
    expect(removed).toEqual(oldAtA);
    const aAdd = a.nextJingle('source-add');
    await b.sendJingle(b.accept(2500));
    await aAdd;
    await converged(b, 5);
    await converged(a, 3);
    expect(Object.keys(clientTable(a).table).map(Number).filter((x) => oldAtA.includes(x))).toEqual([]);
  });

  it('a fourth joins while the screen share stops (concurrent updates): everybody converges; then it leaves again', async () => {
    const d = await guest(true);
    await joinRoom(d, room, D);
    await d.nextJingle('session-initiate', { after: 0 });
    // D's session-accept and A's source-remove go to the bridge at the same time (two participants' queues).
    const stop = screenShare(a, 5000);
    await Promise.all([d.sendJingle(d.accept(4000)), a.sendJingle({ ...stop, action: 'source-remove' })]);
    await converged(a, 6);
    await converged(b, 6);
    await converged(d, 6);
    for (const p of [b, d]) expect(Object.values(clientTable(p).table).some((v) => v.name === `${A}-v1`)).toBe(false);
    await d.leave();
    await until(() => bridge.colibri.conferences.get(meetingId)?.endpoints.has(D) === false, 'D\'s endpoint expired on the bridge');
    await converged(a, 3);
    await converged(b, 3);
  });

  it('the last leaving ends the conference and frees the bridge\'s router', async () => {
    const router = bridge.colibri.conferences.get(meetingId)?.router;
    expect(router?.closed).toBe(false);
    await a.leave();
    await b.leave();
    await until(() => bridge.colibri.conferences.size === 0 && router?.closed === true, 'the bridge conference and its router are gone');
  });
});
