import { freePort } from '@hummingbird/stack';
import { Element, NS, parseConferenceResponse } from '@hummingbird/xmpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { focusConfig, start, type RunningFocus } from '../src/index.js';
import { affiliationSeen, errorOf, joinRoom, roomGone, until } from './support/helpers.js';
import { GUEST_HOST, quietLogger, startFocusStack, type FocusStack } from './support/stack.js';
import { BREWERY, DOMAIN, FakeBridge, FakeParticipant, MUC, stopAll } from './support/xmpp.js';

// Issue 7: the configurable role and room-creation policies, bridge unavailability, graceful shutdown, the
// connection to Prosody, and the join burst across 2 bridges, each against a real Prosody.

let stack: FocusStack;
/** Bridges started by earlier tests of this file (a test that needs one particular bridge drains the others). */
const bridges: FakeBridge[] = [];

beforeAll(async () => {
  stack = await startFocusStack({ HB_FOCUS_AUTH__GUESTS_MAY_CREATE_ROOMS: 'false', HB_FOCUS_AUTH__AUTHENTICATED_MODERATORS: 'true' });
}, 60_000);

afterAll(async () => {
  await stopAll();
  await stack?.close();
}, 30_000);

const guest = (): Promise<FakeParticipant> => new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: GUEST_HOST }).start();

async function tokenUser(id: string, room: string, moderator = false): Promise<FakeParticipant> {
  const jwt = await stack.mint({ room, user: { id, name: id }, moderator });
  return new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: DOMAIN, username: id, password: jwt }).start();
}

async function restartFocus(env: Record<string, string>, options: { tokenHost?: boolean } = {}): Promise<RunningFocus> {
  await stack.focus.close();
  stack.focus = await stack.startFocus(env, options);
  return stack.focus;
}

describe('no bridge', () => {
  it('2 participants and no bridge: the focus presence says bridgeNotAvailable; a bridge appearing gets them invited', async () => {
    const room = `nobridge@${MUC}`;
    const a = await tokenUser('nb-a', 'nobridge');
    const b = await guest();
    await joinRoom(a, room, 'n0000001');
    const unavailable = a.nextPresence((s) => s.attrs.from === `${room}/focus` && s.getChild('bridgeNotAvailable', NS.FOCUS) !== undefined);
    await joinRoom(b, room, 'n0000002');
    await unavailable;
    const health = await stack.focus.ops.inject('/about/health');
    expect(health.statusCode).toBe(503);
    expect(health.json<{ reasons: string[] }>().reasons).toEqual(['no operational bridge (0 in the brewery)']);
    const bridge = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-p1', password: stack.bridgePassword });
    bridges.push(bridge);
    const cleared = a.nextPresence((s) => s.attrs.from === `${room}/focus` && s.getChild('bridgeNotAvailable', NS.FOCUS) === undefined);
    await bridge.start();
    await a.nextJingle('session-initiate', { after: 0 });
    await b.nextJingle('session-initiate', { after: 0 });
    await cleared;
    expect((await stack.focus.ops.inject('/about/health')).statusCode).toBe(200);
  });
});

describe('room creation and roles (token host, guests may not create, every authenticated user moderator)', () => {
  it('a guest may not start a conference (not-authorized; HTTP 403) but may join one a token user started', async () => {
    const room = `auth1@${MUC}`;
    const g = await guest();
    const refused = await errorOf(g.conferenceRequest(room));
    expect(refused.condition).toBe('not-authorized');
    const http = await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { room } });
    expect(http.statusCode).toBe(403);
    const user = await tokenUser('carol', 'auth1');
    const answer = parseConferenceResponse(await user.conferenceRequest(room));
    expect(answer.properties).toEqual(expect.arrayContaining([{ name: 'authentication', value: 'true' }]));
    // authenticatedModerators: a token user without a moderator claim becomes owner anyway.
    const owner = affiliationSeen(user, room, 'p0000001', 'owner');
    await user.join(room, 'p0000001');
    await owner;
    await joinRoom(g, room, 'p0000002');
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.focus.focus.conferences.get(room)?.participants.get('p0000002')?.affiliation).not.toBe('owner');
  });
});

describe('deployment without authentication', () => {
  it('the first participant is moderator; when it leaves the next one is elected', async () => {
    await restartFocus({}, { tokenHost: false });
    const room = `noauth@${MUC}`;
    const a = await guest();
    const b = await guest();
    const aOwner = affiliationSeen(a, room, 'q0000001', 'owner');
    await joinRoom(a, room, 'q0000001');
    await aOwner;
    await joinRoom(b, room, 'q0000002');
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.focus.focus.conferences.get(room)?.participants.get('q0000002')?.affiliation).not.toBe('owner');
    const bOwner = affiliationSeen(b, room, 'q0000002', 'owner');
    await a.leave();
    await bOwner;
  });
});

describe('join burst', () => {
  it('30 participants join 3 rooms within about 2 s with 2 bridges: conferences stay within ±1 of even', async () => {
    await restartFocus({}, { tokenHost: false });
    const second = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-p2', password: stack.bridgePassword });
    bridges.push(second);
    await second.start();
    await until(() => stack.focus.focus.bridges.operationalCount() === 2, 'two bridges');
    const people = await Promise.all(Array.from({ length: 30 }, () => guest()));
    const rooms = ['burst1', 'burst2', 'burst3'].map((r) => `${r}@${MUC}`);
    const started = Date.now();
    await Promise.all(
      people.map(async (p, i) => {
        await new Promise((r) => setTimeout(r, Math.floor((i * 2000) / 30)));
        await joinRoom(p, rooms[i % 3] as string, `b${String(i).padStart(7, '0')}`);
      }),
    );
    const joinMs = Date.now() - started;
    await Promise.all(people.map((p) => p.nextJingle('session-initiate', { after: 0, timeoutMs: 30_000 })));
    const perBridge = new Map<string, number>();
    for (const room of rooms) {
      const bridge = stack.focus.focus.conferences.get(room)?.bridge;
      expect(bridge).toBeDefined();
      perBridge.set(bridge as string, (perBridge.get(bridge as string) ?? 0) + 1);
    }
    const counts = [...perBridge.values()];
    expect(counts.length).toBe(2);
    expect(Math.abs((counts[0] ?? 0) - (counts[1] ?? 0))).toBeLessThanOrEqual(1);
    console.log(`join burst: 30 joins in ${String(joinMs)} ms; conferences per bridge ${JSON.stringify(Object.fromEntries(perBridge))}`);
    await Promise.all(people.map((p) => p.conn.stop()));
  }, 90_000);
});

describe('start timeout', () => {
  it('a conference nobody joins is stopped after conference.initialTimeoutMs (the focus leaves the room)', async () => {
    await restartFocus({ HB_FOCUS_CONFERENCE__INITIAL_TIMEOUT_MS: '700' }, { tokenHost: false });
    const room = `empty@${MUC}`;
    const ok = await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { room } });
    expect(ok.json()).toMatchObject({ ready: true });
    expect(stack.focus.focus.conferences.has(room)).toBe(true);
    const probe = await guest();
    expect(await probe.conn.caller.get(room, new Element('query', { xmlns: NS.DISCO_INFO }))).toBeDefined();
    await until(() => !stack.focus.focus.conferences.has(room), 'the empty conference stopped');
    // The focus left, so Prosody destroyed the (non-persistent) room.
    await roomGone(probe, room);
    await restartFocus({}, { tokenHost: false });
  });
});

describe('SSRC rewriting (§4.6)', () => {
  it('with useSsrcRewriting, a client advertising it gets no remote sources from the focus; the bridge gets the capability', async () => {
    await restartFocus({ HB_FOCUS_CONFERENCE__USE_SSRC_REWRITING: 'true' }, { tokenHost: false });
    const bridge = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-rw', password: stack.bridgePassword });
    await bridge.start();
    for (const b of bridges) await b.publish({ drain: true });
    await until(() => stack.focus.focus.bridges.select() === `${BREWERY}/jvb-rw`, 'jvb-rw the only choice');
    const room = `rewrite@${MUC}`;
    const plain = await guest();
    const rewriting = await new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: GUEST_HOST, ssrcRewriting: true }).start();
    const third = await guest();
    await joinRoom(plain, room, 'v0000001');
    await joinRoom(third, room, 'v0000003');
    await plain.nextJingle('session-initiate', { after: 0 });
    await plain.sendJingle(plain.accept(3000));
    const allocation = bridge.nextRequest((m) => m.endpoints[0]?.id === 'v0000002' && m.endpoints[0].create === true);
    await joinRoom(rewriting, room, 'v0000002');
    const create = await allocation;
    expect(create.endpoints[0]?.capabilities).toEqual(['source-names', 'ssrc-rewriting']);
    const offer = (await rewriting.nextJingle('session-initiate', { after: 0 })).jingle;
    // only the feedback sources, although v0000001 has sources already
    expect(offer.jsonSources).toBeUndefined();
    expect(offer.contents.flatMap((c) => c.description?.sources.map((x) => x.owner) ?? [])).toEqual(['jvb', 'jvb']);
    // a later source-add reaches the plain client, not the rewriting one
    const before = rewriting.jingles.length;
    const toThird = third.nextJingle('source-add');
    await rewriting.sendJingle(rewriting.accept(4000));
    await plain.sendJingle({ action: 'source-add', sid: plain.sid, groups: [], contents: [{ name: 'audio', description: { media: 'audio', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources: [{ ssrc: 3005, name: 'v0000001-a1', parameters: [{ name: 'msid', value: 'm t' }] }], ssrcGroups: [] } }] });
    await toThird;
    await new Promise((r) => setTimeout(r, 300));
    expect(rewriting.jingles.slice(before).map((j) => j.jingle.action)).not.toContain('source-add');
    for (const b of bridges) await b.publish({});
    bridges.push(bridge);
    await restartFocus({}, { tokenHost: false });
  });
});

describe('hung bridge', () => {
  it('a bridge that stops reporting and answering (SIGSTOP-like) is failed within the presence timeout; its conference moves', async () => {
    await restartFocus({ HB_FOCUS_BRIDGE__PRESENCE_TIMEOUT_MS: '1500' }, { tokenHost: false });
    const x = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-x', password: stack.bridgePassword, stress: 0.1 });
    const y = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-y', password: stack.bridgePassword, stress: 0.3 });
    await Promise.all([x.start(), y.start()]);
    x.startReporting(250);
    y.startReporting(250);
    // Earlier bridges of this file do not report: they go stale and drop out; x (least stress) takes the room.
    const operational = (): string[] => stack.focus.focus.bridges.snapshot().filter((s) => s.operational).map((s) => s.jid.split('/')[1] ?? '').sort();
    await until(() => JSON.stringify(operational()) === '["jvb-x","jvb-y"]', 'only the two reporting bridges operational');
    const room = `hung@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 't0000001');
    await joinRoom(b, room, 't0000002');
    const first = await a.nextJingle('session-initiate', { after: 0 });
    expect(first.jingle.contents[0]?.transport?.ufrag).toMatch(/^jvb-x/);
    const before = a.jingles.length;
    const frozenAt = Date.now();
    x.freeze();
    const moved = await a.nextJingle('session-terminate', { after: before, timeoutMs: 20_000 });
    expect(moved.jingle.reason?.text).toBe('moving');
    const again = await a.nextJingle('session-initiate', { after: before, timeoutMs: 20_000 });
    expect(again.jingle.contents[0]?.transport?.ufrag).toMatch(/^jvb-y/);
    console.log(`hung bridge: re-invited on another bridge ${String(Date.now() - frozenAt)} ms after it froze (presence timeout 1500 ms)`);
    x.stopReporting();
    y.stopReporting();
    await restartFocus({}, { tokenHost: false });
  });
});

describe('XMPP reconnect', () => {
  it('after a lost component connection the focus re-joins the brewery and its rooms; the conference goes on', async () => {
    await until(() => stack.focus.focus.bridges.operationalCount() >= 1, 'a bridge');
    const room = `reconnect@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 's0000001');
    await joinRoom(b, room, 's0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    await b.nextJingle('session-initiate', { after: 0 });
    const reconnected = new Promise<void>((resolve) => stack.focus.focus.connection.once('reconnected', () => resolve()));
    stack.focus.focus.connection.dropConnectionForTesting();
    await reconnected;
    await until(() => stack.focus.focus.breweryJoined, 'the brewery re-joined');
    // The focus is still (or again) the room's focus occupant, and still runs the conference.
    const c = await guest();
    const focusSeen = c.nextPresence((s) => s.attrs.from === `${room}/focus` && s.attrs.type === undefined);
    await joinRoom(c, room, 's0000003');
    expect((await focusSeen).getChild('x', NS.MUC_USER)?.getChild('item')?.attrs.jid).toBe(`focus@focus.${DOMAIN}/focus`);
    await c.nextJingle('session-initiate', { after: 0 });
    const added = b.nextJingle('source-add');
    await a.sendJingle(a.accept(5000));
    expect((await added).jingle.jsonSources?.owners[0]?.owner).toBe('s0000001');
  });
});

describe('shutdown and Prosody', () => {
  it('graceful shutdown expires the bridge conferences and leaves the rooms', async () => {
    await restartFocus({}, { tokenHost: false });
    await until(() => stack.focus.focus.bridges.operationalCount() >= 1, 'a bridge');
    const room = `bye@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'r0000001');
    await joinRoom(b, room, 'r0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    const focusLeft = a.nextPresence((s) => s.attrs.from === `${room}/focus` && s.attrs.type === 'unavailable');
    const result = await stack.focus.close('test');
    expect(result.clean).toBe(true);
    await focusLeft;
    stack.focus = await stack.startFocus({}, { tokenHost: false });
  });

  it('with Prosody unreachable the focus still runs (retrying) and answers 503 with the reason', async () => {
    const port = await freePort();
    const config = focusConfig.loadConfig({
      env: { HB_FOCUS_XMPP__DOMAIN: DOMAIN, HB_FOCUS_XMPP__COMPONENT__SECRET: 'x', HB_FOCUS_XMPP__COMPONENT__PORT: String(port), HB_FOCUS_OPS__PORT: '0' },
    });
    const lonely = await start(config, quietLogger());
    try {
      await until(() => lonely.focus.health().status === 'unhealthy' && JSON.stringify(lonely.focus.health()).includes('ECONNREFUSED'), 'a failed attempt');
      const health = await lonely.ops.inject('/about/health');
      expect(health.statusCode).toBe(503);
      expect(health.json<{ reasons: string[] }>().reasons[0]).toMatch(/^XMPP component not connected to Prosody .*ECONNREFUSED/);
    } finally {
      expect((await lonely.close()).clean).toBe(true);
    }
  });
});

