import { Element, NS, buildJingle, parseConferenceResponse, parseErrorStanza, type Jingle } from '@hummingbird/xmpp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { affiliationSeen, errorOf, joinRoom, roomGone, until } from './support/helpers.js';
import { GUEST_HOST, startFocusStack, type FocusStack } from './support/stack.js';
import { BREWERY, DOMAIN, FakeBridge, FakeParticipant, MUC, stopAll } from './support/xmpp.js';

// Issue 7, focus-level acceptance with XMPP-only fake participants (no browser) against a real Prosody with the real
// token plugin: conference IQ, room set-up, roles from claims, forged claims, lock, lobby, Jingle with a fake
// COLIBRI2 bridge, restart budget, malformed Jingle, lone participant, bridge failover, ops endpoints.

let stack: FocusStack;
let bridge: FakeBridge;

beforeAll(async () => {
  stack = await startFocusStack({
    HB_FOCUS_CONFERENCE__SINGLE_PARTICIPANT_TIMEOUT_MS: '1500',
    HB_FOCUS_CONFERENCE__RESTART_MIN_INTERVAL_MS: '0',
    HB_FOCUS_CONFERENCE__RESTART_MAX_REQUESTS: '2',
    HB_FOCUS_BRIDGE__COLIBRI_TIMEOUT_MS: '1500',
  });
  bridge = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-1', password: stack.bridgePassword });
  await bridge.start();
  await until(() => stack.focus.focus.bridges.operationalCount() === 1, 'the bridge registered');
}, 60_000);

afterEach(() => {
  bridge.hang = false;
  bridge.routerMedia = undefined;
});

afterAll(async () => {
  await stopAll();
  await stack?.close();
}, 30_000);

const guest = (json = true, ssrcRewriting = false): Promise<FakeParticipant> =>
  new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: GUEST_HOST, jsonSources: json, ssrcRewriting }).start();

async function tokenUser(id: string, moderator: boolean, room: string): Promise<FakeParticipant> {
  const jwt = await stack.mint({ room, user: { id, name: id }, moderator });
  return new FakeParticipant({ c2sPort: stack.prosody.ports.c2s, host: DOMAIN, username: id, password: jwt }).start();
}

describe('conference request', () => {
  it('answers ready only once the room exists, is non-anonymous and the focus sits in it as "focus"', async () => {
    const a = await guest();
    const room = `setup@${MUC}`;
    const answer = parseConferenceResponse(await a.conferenceRequest(room));
    expect(answer).toMatchObject({ ready: true, focusJid: `focus@focus.${DOMAIN}` });
    expect(answer.properties).toEqual(expect.arrayContaining([{ name: 'externalAuth', value: 'true' }]));
    // Right after the answer: the room exists and is configured (whois=anyone → muc_nonanonymous).
    const info = await a.conn.caller.get(room, new Element('query', { xmlns: NS.DISCO_INFO }));
    const features = info?.getChildren('feature').map((f) => f.attrs.var);
    expect(features).toContain('muc_nonanonymous');
    // The focus occupant is recognisable as ljm does it (§3.4): item@jid starts with focusjid + "/".
    const focusPresence = a.nextPresence((s) => s.attrs.from === `${room}/focus`);
    await a.join(room, 'aaaa0001');
    const item = (await focusPresence).getChild('x', NS.MUC_USER)?.getChild('item');
    expect(item?.attrs.jid).toBe(`focus@focus.${DOMAIN}/focus`);
    // The meeting id is stable for the room's life: a second request keeps it.
    const meetingId = stack.focus.focus.conferences.get(room)?.meetingId;
    expect(meetingId).toMatch(/^[0-9a-f-]{36}$/);
    const b = await guest();
    expect(parseConferenceResponse(await b.conferenceRequest(room)).ready).toBe(true);
    expect(stack.focus.focus.conferences.get(room)?.meetingId).toBe(meetingId);
  });

  it('concurrent requests for a new room create it once', async () => {
    const room = `race@${MUC}`;
    const people = await Promise.all(Array.from({ length: 6 }, () => guest()));
    const created = async (): Promise<number> => {
      const text = (await stack.focus.ops.inject('/metrics')).body;
      return Number(/jicofo_conferences_created_total (\d+)/.exec(text)?.[1] ?? 'NaN');
    };
    const before = await created();
    const answers = await Promise.all(people.map(async (p) => parseConferenceResponse(await p.conferenceRequest(room))));
    expect(answers.every((a) => a.ready)).toBe(true);
    expect(await created()).toBe(before + 1);
    await Promise.all(people.map((p) => p.conn.stop()));
  });

  it('answers the documented errors: bad-request for a foreign or missing room', async () => {
    const a = await guest();
    expect((await errorOf(a.conferenceRequest(`x@elsewhere.${DOMAIN}`))).condition).toBe('bad-request');
    const noRoom = new Element('conference', { xmlns: NS.FOCUS });
    expect((await errorOf(a.conn.caller.set(`focus.${DOMAIN}`, noRoom))).condition).toBe('bad-request');
  });

  it('HTTP form: POST /conference-request/v1 answers {ready, focusJid, properties}; a bad body is 400', async () => {
    const ok = await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { room: `http1@${MUC}`, machineUid: 'm', properties: {} } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ready: true, focusJid: `focus@focus.${DOMAIN}`, properties: { externalAuth: 'true' } });
    expect(stack.focus.focus.conferences.has(`http1@${MUC}`)).toBe(true);
    const bad = await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { nope: 1 } });
    expect(bad.statusCode).toBe(400);
    const foreign = await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { room: 'x@elsewhere.test' } });
    expect(foreign.statusCode).toBe(400);
  });
});

describe('roles', () => {
  it('a moderator claim (token host) makes an owner; a guest forging the claim and a token user without it do not', async () => {
    const room = `roles@${MUC}`;
    const forger = await guest();
    await joinRoom(forger, room, 'f0000001');
    const forged = new Element('claims', { xmlns: 'urn:hummingbird:token:claims:0', moderator: 'true', id: 'mallory' });
    // The forged element reaches the focus (this guest host does not strip it) and is ignored there.
    const update = new Element('presence', { to: `${room}/f0000001` });
    update.cnode(forged);
    await forger.conn.send(update);
    const mod = await tokenUser('alice', true, 'roles');
    const owner = affiliationSeen(forger, room, 'a0000001', 'owner');
    await joinRoom(mod, room, 'a0000001');
    await owner;
    const plain = await tokenUser('bob', false, 'roles');
    await joinRoom(plain, room, 'b0000001');
    await until(() => stack.focus.focus.conferences.get(room)?.participants.get('f0000001')?.claimsModerator === false, 'claims evaluated');
    const debug = stack.focus.focus.conferences.get(room)?.describe() as { participants: { nick: string; affiliation: string | null; claimsModerator: boolean }[] };
    const byNick = Object.fromEntries(debug.participants.map((p) => [p.nick, p]));
    expect(byNick.a0000001).toMatchObject({ affiliation: 'owner', claimsModerator: true });
    expect(byNick.f0000001?.claimsModerator).toBe(false);
    expect(byNick.f0000001?.affiliation).not.toBe('owner');
    expect(byNick.b0000001?.affiliation).not.toBe('owner');
    const metrics = (await stack.focus.ops.inject('/metrics')).body;
    expect(metrics).toMatch(/hb_focus_ignored_claims_total [1-9]/);
  });
});

describe('remote mute (§3.6)', () => {
  it('a moderator mutes a participant (relayed with actor); a participant may not mute, nobody may unmute others', async () => {
    const room = `mute@${MUC}`;
    const mod = await tokenUser('mia', true, 'mute');
    const other = await guest();
    const owner = affiliationSeen(mod, room, 'w0000001', 'owner');
    await joinRoom(mod, room, 'w0000001');
    await owner;
    // the owner grant makes Prosody give the moderator role; wait until the focus has seen it
    await until(() => stack.focus.focus.conferences.get(room)?.participants.get('w0000001')?.role === 'moderator', 'moderator role');
    await joinRoom(other, room, 'w0000002');
    const muteIq = (ns: string, target: string, value: boolean): Element => {
      const m = new Element('mute', { xmlns: ns, jid: `${room}/${target}` });
      m.t(String(value));
      return m;
    };
    const relayed = new Promise<Element>((resolve) => {
      other.conn.router.register(NS.JITMEET_AUDIO, 'mute', 'set', (req) => {
        resolve(req.payload);
      });
    });
    await mod.conn.caller.set(`${room}/focus`, muteIq(NS.JITMEET_AUDIO, 'w0000002', true));
    const m = await relayed;
    expect(m.attrs.actor).toBe(`${room}/w0000001`);
    expect(m.getText()).toBe('true');
    expect((await errorOf(other.conn.caller.set(`${room}/focus`, muteIq(NS.JITMEET_VIDEO, 'w0000001', true)))).condition).toBe('forbidden');
    expect((await errorOf(mod.conn.caller.set(`${room}/focus`, muteIq(NS.JITMEET_AUDIO, 'w0000002', false)))).condition).toBe('not-allowed');
    expect((await errorOf(mod.conn.caller.set(`${room}/focus`, muteIq(NS.JITMEET_AUDIO, 'nobody', true)))).condition).toBe('item-not-found');
    // self (un)mute is fine
    await other.conn.caller.set(`${room}/focus`, muteIq(NS.JITMEET_AUDIO, 'w0000002', false));
  });
});

describe('lock and lobby (as the client expects, §3.6)', () => {
  async function ownerRoom(room: string, nick: string): Promise<FakeParticipant> {
    const mod = await tokenUser(`owner-${nick}`, true, room.split('@')[0] ?? '');
    const owned = mod.nextPresence((s) => s.attrs.from === `${room}/${nick}` && s.getChild('x', NS.MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner');
    await joinRoom(mod, room, nick);
    await owned;
    return mod;
  }

  async function configure(p: FakeParticipant, room: string, fields: Record<string, string>): Promise<void> {
    const x = new Element('x', { xmlns: NS.DATA_FORMS, type: 'submit' });
    const add = (name: string, value: string): void => {
      const field = new Element('field', { var: name });
      field.cnode(new Element('value').t(value));
      x.cnode(field);
    };
    add('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig');
    add('muc#roomconfig_whois', 'anyone');
    for (const [k, v] of Object.entries(fields)) add(k, v);
    const q = new Element('query', { xmlns: NS.MUC_OWNER });
    q.cnode(x);
    await p.conn.caller.set(room, q);
  }

  it('lock: the moderator sets a password; a join without it is not-authorized, with it works; the conference goes on', async () => {
    const room = `locked@${MUC}`;
    const mod = await ownerRoom(room, 'c0000001');
    await configure(mod, room, { 'muc#roomconfig_roomsecret': 's3cret', 'muc#roomconfig_passwordprotectedroom': '1' });
    const other = await guest();
    expect(parseConferenceResponse(await other.conferenceRequest(room)).ready).toBe(true);
    const refused = await other.join(room, 'c0000002');
    expect(refused.attrs.type).toBe('error');
    expect(parseErrorStanza(refused).condition).toBe('not-authorized');
    const admitted = await other.join(room, 'c0000002', { password: 's3cret' });
    expect(admitted.attrs.type).toBeUndefined();
    // Two members: both are invited.
    await other.nextJingle('session-initiate', { after: 0 });
    await mod.nextJingle('session-initiate', { after: 0 });
  });

  it('lobby (members-only): a non-member gets registration-required; the conference goes on', async () => {
    const room = `lobby@${MUC}`;
    const mod = await ownerRoom(room, 'd0000001');
    await configure(mod, room, { 'muc#roomconfig_membersonly': '1' });
    const other = await guest();
    expect(parseConferenceResponse(await other.conferenceRequest(room)).ready).toBe(true);
    const refused = await other.join(room, 'd0000002');
    expect(parseErrorStanza(refused).condition).toBe('registration-required');
    expect(stack.focus.focus.conferences.get(room)?.participants.has('d0000001')).toBe(true);
  });
});

describe('media sessions through the bridge (fake COLIBRI2 bridge)', () => {
  it('invites when 2 are present: allocate → session-initiate → session-accept → sources to the bridge → source-add to the other', async () => {
    const room = `media@${MUC}`;
    const a = await guest(true);
    const b = await guest(false);
    const created = bridge.nextRequest((m) => m.create === true && m.name === room);
    await joinRoom(a, room, 'e0000001');
    expect(a.jingles).toHaveLength(0); // alone: no media session (min-participants 2)
    await joinRoom(b, room, 'e0000002');
    const create = await created;
    expect(create.endpoints[0]).toMatchObject({ create: true, capabilities: ['source-names'] });
    expect(create.endpoints[0]?.media.map((m) => m.type)).toEqual(['audio', 'video']);
    const initA = (await a.nextJingle('session-initiate', { after: 0 })).jingle;
    const initB = (await b.nextJingle('session-initiate', { after: 0 })).jingle;
    for (const init of [initA, initB]) {
      expect(init.contents.map((c) => c.name)).toEqual(['audio', 'video']); // no data content
      expect(init.groups).toEqual([{ semantics: 'BUNDLE', contents: ['audio', 'video'] }]);
      expect(init.bridgeSession?.id).toMatch(/^[0-9a-f-]{36}$/);
      const audio = init.contents[0];
      expect(audio?.transport?.fingerprints).toHaveLength(1);
      expect(audio?.transport?.candidates.length).toBeGreaterThan(0);
      expect(audio?.transport?.webSockets[0]).toMatch(/^wss:\/\/.*\/colibri-ws\//);
      expect(audio?.description?.rtcpMux).toBe(true);
      expect(audio?.description?.payloadTypes[0]?.name).toBe('opus');
      expect(init.contents[1]?.description?.payloadTypes[0]?.name).toBe('VP8');
      expect(audio?.description?.sources[0]).toMatchObject({ ssrc: 1111, name: 'jvb-a0', owner: 'jvb' });
    }
    // A accepts with simulcast; the bridge gets A's transport and all its sources; B gets only the first SIM layer.
    const update = bridge.nextRequest((m) => m.endpoints[0]?.id === 'e0000001' && m.endpoints[0].sources !== undefined);
    const sourceAdd = b.nextJingle('source-add');
    await a.sendJingle(a.accept(1000));
    const u = await update;
    expect(u.endpoints[0]?.transport?.iceUdp?.fingerprints[0]?.setup).toBe('active');
    const video = u.endpoints[0]?.sources?.find((s) => s.type === 'video');
    expect(video?.sources.map((s) => s.ssrc)).toEqual([1010, 1011, 1012, 1020, 1021, 1022]);
    expect(video?.ssrcGroups.some((g) => g.semantics === 'SIM')).toBe(true);
    const added = (await sourceAdd).jingle; // B advertises no json-encoded-sources: XML
    const v = added.contents.find((c) => c.name === 'video')?.description;
    expect(v?.sources.map((s) => [s.ssrc, s.owner, s.name])).toEqual([[1010, 'e0000001', 'e0000001-v0'], [1020, 'e0000001', 'e0000001-v0']]);
    expect(v?.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [1010, 1020] }]);
    // B accepts; A (json-encoded-sources) gets B's sources as JSON.
    const jsonAdd = a.nextJingle('source-add');
    await b.sendJingle(b.accept(2000));
    const j = (await jsonAdd).jingle;
    expect(j.jsonSources?.owners.map((o) => o.owner)).toEqual(['e0000002']);
    expect(j.jsonSources?.owners[0]?.video.map((s) => s.ssrc)).toEqual([2010, 2020]);
    // A later joiner gets the existing sources in its session-initiate.
    const c = await guest(false);
    await joinRoom(c, room, 'e0000003');
    const initC = (await c.nextJingle('session-initiate', { after: 0 })).jingle;
    const cVideo = initC.contents.find((x) => x.name === 'video')?.description?.sources.map((s) => s.ssrc);
    expect(cVideo).toEqual([2222, 1010, 1020, 2010, 2020]);
    // C advertises the same caps as B: the focus knew its features without asking (verified caps cache).
    expect(b.discoQueries).toBe(1);
    expect(c.discoQueries).toBe(0);

    // source-remove from A reaches the bridge and the others.
    const removed = b.nextJingle('source-remove');
    const remove: Jingle = { action: 'source-remove', sid: a.sid, groups: [], contents: [{ name: 'audio', description: { media: 'audio', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources: [{ ssrc: 1000, parameters: [] }], ssrcGroups: [] } }] };
    await a.sendJingle(remove);
    expect((await removed).jingle.contents[0]?.description?.sources.map((s) => s.ssrc)).toEqual([1000]);

    // Malformed Jingle: bad-request; unknown sid: item-not-found + unknown-session; the conference goes on.
    const bogus = new Element('jingle', { xmlns: NS.JINGLE, action: 'bogus-action', sid: a.sid });
    expect((await errorOf(a.sendJingle(bogus))).condition).toBe('bad-request');
    const badSsrc = new Element('jingle', { xmlns: NS.JINGLE, action: 'source-add', sid: a.sid });
    const content = new Element('content', { name: 'audio' });
    const description = new Element('description', { xmlns: NS.JINGLE_RTP, media: 'audio' });
    description.cnode(new Element('source', { xmlns: NS.JINGLE_SSMA, ssrc: '99999999999' }));
    content.cnode(description);
    badSsrc.cnode(content);
    expect((await errorOf(a.sendJingle(badSsrc))).condition).toBe('bad-request');
    const wrongSid = await errorOf(a.sendJingle({ ...remove, sid: 'nope' }));
    expect(wrongSid.condition).toBe('item-not-found');
    expect(wrongSid.appSpecific?.name).toBe('unknown-session');
    // Jingle sent straight to the focus's JID (not through the room) by someone who is not an occupant: refused.
    const outsider = await guest();
    const direct = await errorOf(outsider.conn.caller.request('set', `focus@focus.${DOMAIN}/focus`, buildJingle({ ...remove, sid: a.sid }), { timeoutMs: 10_000 }));
    expect(direct.condition).toBe('item-not-found');
    // Someone else's SSRC is refused.
    const stolen: Jingle = { ...remove, action: 'source-add', contents: [{ name: 'audio', description: { media: 'audio', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources: [{ ssrc: 2000, name: 'e0000001-a1', parameters: [] }], ssrcGroups: [] } }] };
    expect((await errorOf(a.sendJingle(stolen))).condition).toBe('bad-request');
    const stillWorks = b.nextJingle('source-add');
    const readd: Jingle = { ...stolen, contents: [{ name: 'audio', description: { media: 'audio', payloadTypes: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources: [{ ssrc: 1005, name: 'e0000001-a1', parameters: [{ name: 'msid', value: 's t' }] }], ssrcGroups: [] } }] };
    await a.sendJingle(readd);
    expect((await stillWorks).jingle.contents[0]?.description?.sources[0]?.ssrc).toBe(1005);
  });

  it('a bridge answering with its router <media> sets the offer\'s payload types and extension ids; later allocations send them back', async () => {
    // Numbers unlike offer.ts's (e.g. a router with other codec order): the offer must follow the bridge (§8.3).
    const opus = { id: 111, name: 'opus', clockrate: 48000, channels: 2, parameters: [{ name: 'minptime', value: '10' }], rtcpFbs: [{ type: 'transport-cc' }] };
    const vp8 = { id: 96, name: 'VP8', clockrate: 90000, parameters: [], rtcpFbs: [{ type: 'nack' }, { type: 'nack', subtype: 'pli' }] };
    const rtx = { id: 97, name: 'rtx', clockrate: 90000, parameters: [{ name: 'apt', value: '96' }], rtcpFbs: [] };
    const audioLevel = { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' };
    const tcc = { id: 7, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' };
    bridge.routerMedia = [
      { type: 'audio', payloadTypes: [opus], headerExtensions: [audioLevel], extmapAllowMixed: true },
      { type: 'video', payloadTypes: [vp8, rtx], headerExtensions: [tcc], extmapAllowMixed: true },
    ];
    const room = `routermedia@${MUC}`;
    const a = await guest(true);
    const b = await guest(true);
    const first = bridge.nextRequest((m) => m.create === true && m.name === room);
    const second = bridge.nextRequest((m) => m.create !== true && m.endpoints[0]?.create === true && m.endpoints[0].id === 'f0000002');
    await joinRoom(a, room, 'f0000001');
    await joinRoom(b, room, 'f0000002');
    // The first allocation on this bridge could only send offer.ts's numbers; the next one sends the bridge's.
    expect((await first).endpoints[0]?.media.find((m) => m.type === 'audio')?.payloadTypes.map((p) => p.id)).toEqual([100]);
    expect((await second).endpoints[0]?.media).toEqual(bridge.routerMedia);
    for (const p of [a, b]) {
      const init = (await p.nextJingle('session-initiate', { after: 0 })).jingle;
      const audio = init.contents.find((c) => c.name === 'audio')?.description;
      const video = init.contents.find((c) => c.name === 'video')?.description;
      expect(audio?.payloadTypes).toEqual([opus]);
      expect(audio?.headerExtensions).toEqual([audioLevel]);
      expect(video?.payloadTypes).toEqual([vp8, rtx]);
      expect(video?.headerExtensions).toEqual([tcc]);
      // The rest of the offer is unchanged: rtcp-mux, the feedback source first.
      expect(audio?.rtcpMux).toBe(true);
      expect(video?.sources[0]).toMatchObject({ name: 'jvb-v0', owner: 'jvb' });
    }
    await Promise.all([a.conn.stop(), b.conn.stop()]);
  });

  it('an older client\'s ICE-failure report (session-info ice-state failed) gets it re-invited', async () => {
    const room = `icefail@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'x0000001');
    await joinRoom(b, room, 'x0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    const oldSid = a.sid;
    const before = a.jingles.length;
    const info = buildJingle({ action: 'session-info', sid: a.sid, contents: [], groups: [], bridgeSession: { id: a.lastInitiate.bridgeSession?.id ?? '' } });
    info.cnode(new Element('ice-state', { xmlns: NS.FOCUS }).t('failed'));
    await a.sendJingle(info);
    expect((await a.nextJingle('session-terminate', { after: before })).jingle.reason?.text).toBe('ICE failed');
    const again = await a.nextJingle('session-initiate', { after: before });
    expect(again.jingle.sid).not.toBe(oldSid);
    expect((await stack.focus.ops.inject('/metrics')).body).toMatch(/jicofo_participants_ice_failures_total [1-9]/);
  });

  it('a moderator destroying the room ends the conference (bridge conference expired)', async () => {
    const room = `destroyed@${MUC}`;
    const mod = await tokenUser('dora', true, 'destroyed');
    const other = await guest();
    const owner = affiliationSeen(mod, room, 'o0000001', 'owner');
    await joinRoom(mod, room, 'o0000001');
    await owner;
    await joinRoom(other, room, 'o0000002');
    await mod.nextJingle('session-initiate', { after: 0 });
    const expired = bridge.nextRequest((m) => m.expire === true && m.endpoints.length === 0);
    const q = new Element('query', { xmlns: NS.MUC_OWNER });
    q.cnode(new Element('destroy'));
    await mod.conn.caller.set(room, q);
    await until(() => !stack.focus.focus.conferences.has(room), 'the conference stopped');
    await expired;
  });

  it('transport-info goes to the bridge; an in-place ICE restart request is declined (feature-not-implemented)', async () => {
    const room = `tinfo@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'u0000001');
    await joinRoom(b, room, 'u0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    const accept = a.accept(6000);
    await a.sendJingle(accept);
    const forwarded = bridge.nextRequest((m) => m.endpoints[0]?.id === 'u0000001' && m.endpoints[0].transport?.iceUdp?.ufrag === 'newufrag');
    const transport = { ...accept.contents[0]?.transport, ufrag: 'newufrag', pwd: 'newpwdnewpwdnewpwdnewpwd', fingerprints: accept.contents[0]?.transport?.fingerprints ?? [], candidates: [], webSockets: [], rtcpMux: true };
    await a.sendJingle({ action: 'transport-info', sid: a.sid, groups: [], contents: [{ name: 'audio', transport }] });
    await forwarded;
    const ice = await errorOf(a.sendJingle({ action: 'session-info', sid: a.sid, groups: [], contents: [], bridgeSession: { id: a.lastInitiate.bridgeSession?.id ?? '', iceRestart: true } }));
    expect(ice.condition).toBe('feature-not-implemented');
  });

  it('a leaver\'s sources: source-remove only to clients advertising ssrc-rewriting-1 (they keep them otherwise, §4.6)', async () => {
    const room = `leave@${MUC}`;
    const a = await guest();
    const plain = await guest();
    const rewriting = await guest(true, true);
    await joinRoom(a, room, 'l0000001');
    await joinRoom(plain, room, 'l0000002');
    await joinRoom(rewriting, room, 'l0000003');
    for (const p of [a, plain, rewriting]) await p.nextJingle('session-initiate', { after: 0 });
    const seen = [plain.nextJingle('source-add'), rewriting.nextJingle('source-add')];
    await a.sendJingle(a.accept(9000));
    await Promise.all(seen);
    const removed = rewriting.nextJingle('source-remove');
    const plainBefore = plain.jingles.length;
    await a.leave();
    const r = (await removed).jingle;
    expect(r.jsonSources?.owners[0]?.owner).toBe('l0000001');
    expect(r.jsonSources?.owners[0]?.audio.map((s) => s.ssrc)).toEqual([9000]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(plain.jingles.slice(plainBefore).map((j) => j.jingle.action)).not.toContain('source-remove');
  });

  it('restart budget: restart="true" re-invites with a new session until the budget is spent, then resource-constraint', async () => {
    const room = `restart@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'g0000001');
    await joinRoom(b, room, 'g0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    const restart = (p: FakeParticipant): Jingle => ({
      action: 'session-terminate',
      sid: p.sid,
      contents: [],
      groups: [],
      reason: { condition: 'connectivity-error', text: 'ICE FAILED' },
      bridgeSession: { id: p.lastInitiate.bridgeSession?.id ?? '', restart: true },
    });
    for (let i = 0; i < 2; i++) {
      const before = a.jingles.length;
      const oldSid = a.sid;
      await a.sendJingle(restart(a));
      const again = await a.nextJingle('session-initiate', { after: before });
      expect(again.jingle.sid).not.toBe(oldSid);
    }
    // The spent budget also covers an older client's ICE-failure report: acknowledged, no re-invite.
    const iceFailed = buildJingle({ action: 'session-info', sid: a.sid, contents: [], groups: [], bridgeSession: { id: a.lastInitiate.bridgeSession?.id ?? '' } });
    iceFailed.cnode(new Element('ice-state', { xmlns: NS.FOCUS }).t('failed'));
    await a.sendJingle(iceFailed);
    const before = a.jingles.length;
    const refused = await errorOf(a.sendJingle(restart(a)));
    expect(refused.condition).toBe('resource-constraint');
    await new Promise((r) => setTimeout(r, 500));
    expect(a.jingles.slice(before).some((j) => j.jingle.action === 'session-initiate')).toBe(false);
    // A wrong bridge-session id is item-not-found; B's session is untouched throughout.
    const bInit = b.sid;
    expect((await errorOf(b.sendJingle({ ...restart(b), bridgeSession: { id: 'wrong', restart: true } }))).condition).toBe('item-not-found');
    expect(b.sid).toBe(bInit);
  });

  it('a lone participant is released after the grace period; the last one leaving ends the conference', async () => {
    const room = `lone@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'h0000001');
    await joinRoom(b, room, 'h0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    const terminated = a.nextJingle('session-terminate');
    const expired = bridge.nextRequest((m) => m.expire === true && m.endpoints.length === 0);
    await b.leave();
    const t = (await terminated).jingle;
    expect(t.reason?.condition).toBe('expired');
    await expired;
    expect(stack.focus.focus.conferences.get(room)?.participants.size).toBe(1);
    // While the conference runs the room answers disco#info (so the check after the end below can fail).
    expect(await a.conn.caller.get(room, new Element('query', { xmlns: NS.DISCO_INFO }))).toBeDefined();
    const focusLeft = a.nextPresence((s) => s.attrs.from === `${room}/focus` && s.attrs.type === 'unavailable');
    await a.leave();
    await until(() => !stack.focus.focus.conferences.has(room), 'the conference ended');
    // The focus left the room too; a was gone already, so ask Prosody: the room no longer exists.
    void focusLeft.catch(() => undefined);
    const probe = await guest();
    await roomGone(probe, room);
  });

  it('a bad-request from the bridge fails only that participant: no penalty for the bridge, the others go on', async () => {
    const room = `refused@${MUC}`;
    bridge.refuse.add('y0000002');
    try {
      const a = await guest();
      const b = await guest();
      await joinRoom(a, room, 'y0000001');
      const refused = bridge.nextRequest((m) => m.endpoints[0]?.id === 'y0000002');
      await joinRoom(b, room, 'y0000002');
      await refused;
      await a.nextJingle('session-initiate', { after: 0 });
      await new Promise((r) => setTimeout(r, 300));
      expect(b.jingles.map((j) => j.jingle.action)).not.toContain('session-initiate');
      expect(stack.focus.focus.bridges.isOperational(`${BREWERY}/jvb-1`)).toBe(true);
      expect((await stack.focus.ops.inject('/metrics')).body).toMatch(/hb_focus_colibri_failures_total\{action="fail-participant"\} [1-9]/);
    } finally {
      bridge.refuse.clear();
    }
  });

  it('a bridge that lost the conference (conference_not_found) gets it re-created and everyone re-invited', async () => {
    const room = `forgot@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'm0000001');
    await joinRoom(b, room, 'm0000002');
    await a.nextJingle('session-initiate', { after: 0 });
    await b.nextJingle('session-initiate', { after: 0 });
    await a.sendJingle(a.accept(7000));
    const before = { a: a.jingles.length, b: b.jingles.length };
    bridge.forgetConferences();
    const recreated = bridge.nextRequest((m) => m.create === true && m.name === room);
    const moved = b.nextJingle('session-terminate', { after: before.b });
    // The next COLIBRI2 update (B's accept) is answered conference_not_found: the focus resets the bridge session.
    await b.sendJingle(b.accept(8000));
    expect((await moved).jingle.reason?.text).toBe('moving');
    await recreated;
    const againA = await a.nextJingle('session-initiate', { after: before.a });
    const againB = await b.nextJingle('session-initiate', { after: before.b });
    expect(againA.jingle.bridgeSession?.id).toBe(againB.jingle.bridgeSession?.id);
    const firstSession = a.jingles.find((j) => j.jingle.action === 'session-initiate')?.jingle.bridgeSession?.id;
    expect(firstSession).toBeDefined();
    expect(againA.jingle.bridgeSession?.id).not.toBe(firstSession);
    expect((await stack.focus.ops.inject('/metrics')).body).toMatch(/hb_focus_colibri_failures_total\{action="reset-session"\} [1-9]/);
  });

  it('failover: a bridge that stops answering COLIBRI2 (timeout) is marked failed and the conference moves to another', async () => {
    const second = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-2', password: stack.bridgePassword, stress: 0.5 });
    await second.start();
    await until(() => stack.focus.focus.bridges.operationalCount() === 2, 'two bridges');
    bridge.hang = true; // jvb-1 is the less loaded one, so it is chosen first, and times out
    const room = `failover@${MUC}`;
    const a = await guest();
    const b = await guest();
    await joinRoom(a, room, 'k0000001');
    const onSecond = second.nextRequest((m) => m.create === true && m.name === room, 20_000);
    await joinRoom(b, room, 'k0000002');
    await onSecond;
    const initA = await a.nextJingle('session-initiate', { after: 0, timeoutMs: 20_000 });
    expect(initA.jingle.contents[0]?.transport?.ufrag).toMatch(/^jvb-2/);
    expect(stack.focus.focus.bridges.snapshot().find((s) => s.jid.endsWith('/jvb-1'))).toMatchObject({ operational: false });
    expect((await stack.focus.ops.inject('/metrics')).body).toMatch(/hb_focus_colibri_failures_total\{action="bridge-failed"\} [1-9]/);
    // A bridge that dies (its TCP connection dropped without a goodbye, as after SIGKILL) leaves the brewery; its
    // conferences move: a terminate "moving", then a fresh session-initiate on the remaining bridge.
    bridge.hang = false;
    await bridge.publish({}); // jvb-1 answers again, but stays failed for the failure-reset time
    const third = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-4', password: stack.bridgePassword, stress: 0.6 });
    await third.start();
    await until(() => stack.focus.focus.bridges.isOperational(`${BREWERY}/jvb-4`), 'jvb-4 registered');
    const before = a.jingles.length;
    const moved = a.nextJingle('session-terminate', { timeoutMs: 20_000 });
    second.conn.dropConnectionForTesting();
    expect((await moved).jingle.reason?.text).toBe('moving');
    const reinvited = await a.nextJingle('session-initiate', { after: before, timeoutMs: 20_000 });
    expect(reinvited.jingle.contents[0]?.transport?.ufrag).toMatch(/^jvb-4/);
    await b.nextJingle('session-initiate', { after: 1, timeoutMs: 20_000 });
    await third.leave();
    await second.conn.stop();
  });
});

describe('ops', () => {
  it('/stats, /debug and /metrics describe conferences and bridges', async () => {
    await stack.focus.ops.inject({ method: 'POST', url: '/conference-request/v1', payload: { room: `setup@${MUC}` } });
    const stats = (await stack.focus.ops.inject('/stats')).json<{ conferences: number; bridge_selector: { bridge_count: number } }>();
    expect(stats.bridge_selector.bridge_count).toBeGreaterThanOrEqual(1);
    expect(stats.conferences).toBeGreaterThanOrEqual(1);
    const debug = (await stack.focus.ops.inject('/debug')).json<{ bridges: { jid: string }[]; conferences: { room: string }[] }>();
    expect(debug.bridges.map((b) => b.jid)).toContain(`${BREWERY}/jvb-1`);
    const one = await stack.focus.ops.inject(`/debug/conferences/${encodeURIComponent(`setup@${MUC}`)}`);
    expect(one.statusCode).toBe(200);
    expect((await stack.focus.ops.inject('/debug/conferences/nope')).statusCode).toBe(404);
    const metrics = (await stack.focus.ops.inject('/metrics')).body;
    expect(metrics).toMatch(/jicofo_conferences_created_total [1-9]/);
    expect(metrics).toContain('# HELP hb_focus_jingle_received_total');
    for (const name of ['jicofo_participants_total', 'jicofo_participants_moved_total', 'jicofo_participants_restart_requests_total']) {
      expect(metrics).toContain(`# TYPE ${name} counter`);
    }
  });

  it('/about/health: 503 with the reason when no bridge is operational, then when Prosody is unreachable', async () => {
    // jvb-1 may still be out after the failover test (failure reset: 60 s); a fresh bridge makes the focus healthy.
    const third = new FakeBridge({ c2sPort: stack.prosody.ports.c2s, nick: 'jvb-3', password: stack.bridgePassword });
    await third.start();
    await until(() => stack.focus.focus.bridges.isOperational(`${BREWERY}/jvb-3`), 'jvb-3 registered');
    const healthy = await stack.focus.ops.inject('/about/health');
    expect(healthy.statusCode).toBe(200);
    await bridge.publish({ shuttingDown: true });
    await third.publish({ shuttingDown: true });
    await until(() => stack.focus.focus.bridges.operationalCount() === 0, 'no operational bridge');
    const noBridge = await stack.focus.ops.inject('/about/health');
    expect(noBridge.statusCode).toBe(503);
    expect(noBridge.json<{ reasons: string[] }>().reasons.join()).toMatch(/no operational bridge/);
    await stopAll();
    await stack.prosody.stop();
    await until(() => stack.focus.focus.health().status === 'unhealthy' && stack.focus.focus.stats().xmpp !== undefined && (stack.focus.focus.stats().xmpp as { state: string }).state !== 'online', 'the focus saw Prosody go');
    const down = await stack.focus.ops.inject('/about/health');
    expect(down.statusCode).toBe(503);
    expect(down.json<{ reasons: string[] }>().reasons.join()).toMatch(/XMPP component not connected to Prosody/);
  });
});
