// The bridge's control plane against a real Prosody and a real mediasoup worker: brewery presence with stats
// (jicofo-jvb.md §2.5), COLIBRI2 conference-modify answers and error reasons (§3.2–3.5), drain and graceful
// shutdown (§4.9), re-joining the brewery after a lost connection, ops endpoints.
import type { ProsodyHandle } from '@hummingbird/stack';
import { COLIBRI2_ERROR_REASONS, colibri2ReasonOf, NS, parseXmlString, type Colibri2Endpoint, type ConferenceModify } from '@hummingbird/xmpp';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeService } from '../src/index.js';
import { startTestBridge, startTestProsody, TestFocus } from './support/harness.js';

const C2 = NS.COLIBRI2;
const MEDIA_AUDIO = `<media type="audio"><payload-type xmlns="urn:xmpp:jingle:apps:rtp:1" id="100" name="opus" clockrate="48000" channels="2"/></media>`;

function endpoint(id: string, extra: Partial<Colibri2Endpoint> = {}): Colibri2Endpoint {
  return { id, create: true, media: [], transport: {}, sources: [], capabilities: ['source-names'], ...extra };
}

function create(meetingId: string, ep: Colibri2Endpoint, conferenceCreate = true): ConferenceModify {
  return { meetingId, ...(conferenceCreate ? { create: true, name: 'room1@conference.meet.test' } : {}), endpoints: [ep], relays: [] };
}

describe('bridge control plane', () => {
  let prosody: ProsodyHandle;
  let bridge: BridgeService;
  let focus: TestFocus;

  beforeAll(async () => {
    prosody = await startTestProsody();
    bridge = await startTestBridge(prosody, { bridge: { region: 'test-region-1', relayId: 'relay-test' } });
    focus = await TestFocus.start(prosody);
  }, 60_000);

  afterAll(async () => {
    await focus?.stop();
    await bridge?.close('test end');
    await prosody?.stop();
  });

  it('appears in the brewery with its stats and re-publishes them at least every interval', async () => {
    const nick = bridge.brewery.occupantJid.split('/')[1] ?? '';
    const stats = await waitFor('bridge stats in the brewery', () => focus.stats.get(nick), (s) => s !== undefined);
    expect(stats).toMatchObject({
      region: 'test-region-1', relayId: 'relay-test', drain: false, gracefulShutdown: false, shuttingDown: false, healthy: true,
      averageParticipantStress: 0.01,
    });
    expect(stats?.stressLevel).toBeGreaterThanOrEqual(0);
    expect(stats?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(stats?.other.find((o) => o.name === 'colibri2')?.value).toBe('true');
    const before = focus.statsUpdates.get(nick) ?? 0;
    // statsIntervalMs is 1 s in the harness: within 3.5 s at least 3 more presences arrive, with no change.
    await waitFor('periodic presences', () => focus.statsUpdates.get(nick) ?? 0, (n) => n >= before + 3, { timeoutMs: 3_500 + 2_000 });
  });

  it('is healthy and serves /colibri/stats with JVB key names', async () => {
    const health = await bridge.ops.inject('/about/health');
    expect(health.statusCode).toBe(200);
    const stats = (await bridge.ops.inject('/colibri/stats')).json<Record<string, unknown>>();
    expect(stats).toMatchObject({ conferences: 0, participants: 0, drain: false, graceful_shutdown: false, healthy: true, region: 'test-region-1' });
    const metrics = (await bridge.ops.inject('/metrics')).body;
    expect(metrics).toContain('hb_bridge_conferences 0');
    expect(metrics).toContain('hb_bridge_workers 1');
  });

  it('creates a conference and an endpoint: transport (ICE, all candidates, sha-256 actpass), router media, feedback sources', async () => {
    const { modified, consumers } = await focus.modify(bridge, create('meeting-a', endpoint('ep1', { statsId: 'Alice-1' })));
    expect(modified.endpoints).toHaveLength(1);
    const ep = modified.endpoints[0];
    const ice = ep?.transport?.iceUdp;
    expect(ice?.ufrag).toMatch(/\S{4,}/);
    expect(ice?.pwd).toMatch(/\S{22,}/);
    expect(ice?.fingerprints).toEqual([expect.objectContaining({ hash: 'sha-256', setup: 'actpass' })]);
    expect(ice?.fingerprints[0]?.value).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const cands = (ice?.candidates ?? []).map((c) => `${c.protocol}:${c.ip}:${c.tcptype ?? '-'}`).sort();
    expect(cands).toEqual(['tcp:127.0.0.1:passive', 'udp:127.0.0.1:-']);
    const conf = bridge.colibri.conferences.get('meeting-a');
    const url = new URL(ice?.webSockets[0] ?? '');
    expect(url.protocol).toBe('ws:');
    expect(url.pathname).toBe(`/colibri-ws/${bridge.id}/${conf?.id ?? '?'}/ep1`);
    // A random password of its own (not the ICE password, jicofo#1111), ≥ 24 URL-safe characters.
    expect(url.searchParams.get('pwd')).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(url.searchParams.get('pwd')).not.toBe(ice?.pwd);
    const media = ep?.media ?? [];
    expect(media.map((m) => m.type)).toEqual(['audio', 'video']);
    expect(media[0]?.payloadTypes.map((p) => p.name)).toEqual(['opus']);
    expect(media[1]?.payloadTypes.map((p) => p.name)).toEqual(['VP8', 'rtx']);
    // §8.4 + packages/xmpp MidMode: sdes:mid is never offered.
    expect(media.flatMap((m) => m.headerExtensions.map((h) => h.uri))).not.toContain('urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(modified.sources?.map((s) => s.id)).toEqual(['jvb-a0', 'jvb-v0']);
    expect(consumers).toEqual([{ endpointId: 'ep1', sources: [] }]);
    expect(bridge.colibri.conferences.get('meeting-a')?.endpoints.size).toBe(1);
  });

  it('answers a repeated create with the same state, and a different create for the same meeting with conference_already_exists', async () => {
    const first = await focus.modify(bridge, create('meeting-b', endpoint('ep1')));
    const again = await focus.modify(bridge, create('meeting-b', endpoint('ep1')));
    expect(again.element.toString()).toBe(first.element.toString());
    expect(bridge.colibri.conferences.get('meeting-b')?.endpoints.size).toBe(1);

    const err = await focus.modifyError(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-b" create="true"><endpoint id="other" create="true"><transport/><capability name="source-names"/></endpoint></conference-modify>`));
    expect(err.condition).toBe('conflict');
    expect(colibri2ReasonOf(err)).toBe('conference_already_exists');
    // Once the endpoint expired, the same create is a new endpoint (a new transport), not a replay.
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-b"><endpoint id="ep2" create="true"><transport/><capability name="source-names"/></endpoint></conference-modify>`));
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-b"><endpoint id="ep1" expire="true"/></conference-modify>`));
    const fresh = await focus.modify(bridge, { meetingId: 'meeting-b', endpoints: [endpoint('ep1')], relays: [] });
    expect(fresh.modified.endpoints[0]?.transport?.iceUdp?.ufrag).not.toBe(first.modified.endpoints[0]?.transport?.iceUdp?.ufrag);
    const dup = await focus.modifyError(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-b"><endpoint id="ep1" create="true"><transport/><capability name="source-names"/></endpoint></conference-modify>`));
    expect(dup.condition).toBe('conflict');
  });

  it('answers bad requests with Jitsi\'s conditions and reasons (§3.5)', async () => {
    await focus.modify(bridge, create('meeting-c', endpoint('ep1')));
    const cases: { xml: string; condition: string; reason?: string }[] = [
      { xml: `<conference-modify xmlns="${C2}" meeting-id="nope"><endpoint id="x"><force-mute audio="true"/></endpoint></conference-modify>`, condition: 'item-not-found', reason: 'conference_not_found' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="ghost"><sources/></endpoint></conference-modify>`, condition: 'item-not-found', reason: 'unknown_endpoint' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="e2" create="true"><capability name="source-names"/></endpoint></conference-modify>`, condition: 'bad-request' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="e2" create="true"><transport/></endpoint></conference-modify>`, condition: 'bad-request' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="a" create="true"><transport/></endpoint><endpoint id="b" create="true"><transport/></endpoint></conference-modify>`, condition: 'feature-not-implemented', reason: 'feature_not_implemented' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><relay id="r1" create="true"><transport/></relay></conference-modify>`, condition: 'feature-not-implemented' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="e3" create="true"><transport><sctp/></transport><capability name="source-names"/></endpoint></conference-modify>`, condition: 'feature-not-implemented' },
      { xml: `<conference-modify xmlns="${C2}"><endpoint id="x"/></conference-modify>`, condition: 'bad-request' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="v1" create="true" muc-role="visitor">${MEDIA_AUDIO}<transport/><sources><media-source type="audio" id="v1-a0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="5"/></media-source></sources><capability name="source-names"/></endpoint></conference-modify>`, condition: 'bad-request' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="m" create="true" name="not a jid@@"/>`, condition: 'bad-request' },
      { xml: `<conference-modify xmlns="${C2}" meeting-id="meeting-c"><endpoint id="ep1"><sources><media-source type="video" id="ep1-v0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="1"/></media-source></sources></endpoint></conference-modify>`, condition: 'bad-request' },
    ];
    for (const c of cases) {
      const err = await focus.modifyError(bridge, parseXmlString(c.xml));
      expect(err.condition, c.xml).toBe(c.condition);
      const reason = colibri2ReasonOf(err);
      if (c.reason !== undefined) expect(reason, c.xml).toBe(c.reason);
      if (reason !== undefined) expect(COLIBRI2_ERROR_REASONS).toContain(reason);
    }
    // Nothing above changed the conference.
    expect([...(bridge.colibri.conferences.get('meeting-c')?.endpoints.keys() ?? [])]).toEqual(['ep1']);
    expect(bridge.colibri.conferences.has('m')).toBe(false);
  });

  it('expires endpoints (echoed) and ends a conference left without endpoints; accepts IQ type set too', async () => {
    await focus.modify(bridge, create('meeting-d', endpoint('ep1')), 'set');
    await focus.modify(bridge, { meetingId: 'meeting-d', endpoints: [{ ...endpoint('ep2'), media: [] }], relays: [] });
    const muted = await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-d"><endpoint id="ep1"><force-mute audio="true" video="true"/></endpoint><endpoint id="gone"><force-mute audio="true"/></endpoint></conference-modify>`));
    expect(muted.modified.endpoints.map((e) => e.id)).toEqual(['ep1', 'gone']);
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-d"><endpoint id="ep2"><initial-last-n value="1"/></endpoint></conference-modify>`));
    expect(bridge.colibri.conferences.get('meeting-d')?.endpoints.get('ep2')?.lastN).toBe(1);
    expect(bridge.colibri.conferences.get('meeting-d')?.endpoints.get('ep1')?.forceMute).toEqual({ audio: true, video: true });
    const exp = await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-d"><endpoint id="ep1" expire="true"/></conference-modify>`));
    expect(exp.modified.endpoints).toEqual([{ id: 'ep1', expire: true }]);
    expect(bridge.colibri.conferences.get('meeting-d')?.endpoints.size).toBe(1);
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-d"><endpoint id="ep2" expire="true"/></conference-modify>`));
    expect(bridge.colibri.conferences.has('meeting-d')).toBe(false);
    const err = await focus.modifyError(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-d"><endpoint id="ep2" expire="true"/></conference-modify>`));
    expect(colibri2ReasonOf(err)).toBe('conference_not_found');
    // Expiring a whole conference.
    await focus.modify(bridge, create('meeting-e', endpoint('ep1')));
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-e" expire="true"/>`));
    expect(bridge.colibri.conferences.has('meeting-e')).toBe(false);
  });

  it('restarts ICE in place: new credentials in the answer, same endpoint', async () => {
    const created = await focus.modify(bridge, create('meeting-i', endpoint('ep1')));
    const before = created.modified.endpoints[0]?.transport?.iceUdp;
    const res = await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-i"><endpoint id="ep1"><transport ice-restart="true"/></endpoint></conference-modify>`));
    const after = res.modified.endpoints[0]?.transport?.iceUdp;
    expect(after?.ufrag).toBeDefined();
    expect(after?.ufrag).not.toBe(before?.ufrag);
    expect(after?.pwd).not.toBe(before?.pwd);
    expect(after?.fingerprints[0]?.value).toBe(before?.fingerprints[0]?.value);
    expect(after?.webSockets).toEqual(before?.webSockets);
  });

  it('answers the healthcheck IQ', async () => {
    const res = await focus.connection.caller.request('get', bridge.brewery.occupantJid, parseXmlString(`<healthcheck xmlns="${NS.HEALTHCHECK}"/>`));
    expect(res.attrs.type).toBe('result');
  });

  it('publishes drain at once and re-joins the brewery after a lost connection', async () => {
    const nick = bridge.brewery.occupantJid.split('/')[1] ?? '';
    const res = await bridge.ops.inject({ method: 'POST', url: '/colibri/drain/enable' });
    expect(res.statusCode).toBe(200);
    await waitFor('drain=true in the brewery', () => focus.stats.get(nick)?.drain, (d) => d === true, { timeoutMs: 800 });
    bridge.connection.dropConnectionForTesting();
    // /about/health names the reason while the bridge is out of the brewery.
    const unhealthy = await waitFor('unhealthy while disconnected', () => bridge.health(), (h) => h.status === 'unhealthy', { timeoutMs: 5_000 });
    expect(unhealthy.status === 'unhealthy' ? unhealthy.reasons.join('; ') : '').toMatch(/XMPP connection is|brewery/);
    await waitFor('bridge leaves the brewery', () => focus.stats.has(nick), (h) => !h, { timeoutMs: 30_000 });
    await waitFor('bridge back in the brewery', () => focus.stats.get(nick), (s) => s?.drain === true, { timeoutMs: 30_000 });
    expect(bridge.brewery.joined).toBe(true);
    await waitFor('healthy again', () => bridge.health().status, (st) => st === 'ok');
    await bridge.ops.inject({ method: 'POST', url: '/colibri/drain/disable' });
    await waitFor('drain=false in the brewery', () => focus.stats.get(nick)?.drain, (d) => d === false, { timeoutMs: 800 });
  }, 70_000);

  it('graceful shutdown: refuses new conferences with graceful_shutdown, keeps existing ones, then shuts down', async () => {
    const b2 = await startTestBridge(prosody);
    try {
      await focus.modify(b2, create('meeting-g', endpoint('ep1')));
      const nick = b2.brewery.occupantJid.split('/')[1] ?? '';
      const bad = await b2.ops.inject({ method: 'POST', url: '/colibri/shutdown', payload: { nope: 1 } });
      expect(bad.statusCode).toBe(400);
      await b2.ops.inject({ method: 'POST', url: '/colibri/shutdown', payload: { 'graceful-shutdown': true } });
      await waitFor('graceful_shutdown in the brewery', () => focus.stats.get(nick)?.gracefulShutdown, (g) => g === true);
      const err = await focus.modifyError(b2, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-h" create="true"><endpoint id="ep1" create="true"><transport/><capability name="source-names"/></endpoint></conference-modify>`));
      expect(err.condition).toBe('service-unavailable');
      expect(colibri2ReasonOf(err)).toBe('graceful_shutdown');
      // Existing conferences still accept endpoints (§4.9 step 2).
      await focus.modify(b2, { meetingId: 'meeting-g', endpoints: [endpoint('ep2')], relays: [] });
      expect(b2.state.shuttingDown).toBe(false);
      await focus.modifyRaw(b2, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-g" expire="true"/>`));
      await waitFor('shutting_down in the brewery', () => focus.stats.get(nick)?.shuttingDown, (s) => s === true, { timeoutMs: 5_000 });
      await waitFor('bridge stopped', () => b2.lifecycle.closing, (c) => c, { timeoutMs: 5_000 });
      await waitFor('bridge left the brewery', () => focus.stats.has(nick), (h) => !h, { timeoutMs: 10_000 });
    } finally {
      await b2.close('test end');
    }
  }, 60_000);

  it('reports a refused brewery join (nickname taken) in /about/health, and joins once the name is free', async () => {
    const first = await startTestBridge(prosody);
    const nick = first.brewery.occupantJid.split('/')[1] ?? '';
    const twin = await startTestBridge(prosody, { xmpp: { nickname: nick } }, { waitForJoin: false });
    try {
      const h = await waitFor('twin unhealthy', () => twin.health(), (x) => x.status === 'unhealthy' && x.reasons.some((r) => r.includes('join refused')), { timeoutMs: 10_000 });
      expect(h.status === 'unhealthy' ? h.reasons : []).toContain('brewery join refused: conflict');
      expect((await twin.ops.inject('/about/health')).statusCode).toBe(503);
      expect(first.health().status).toBe('ok');
      await first.close('make room');
      await waitFor('twin joins after the first left', () => twin.brewery.joined, (j) => j, { timeoutMs: 10_000 });
      await waitFor('twin healthy', () => twin.health().status, (st) => st === 'ok', { timeoutMs: 10_000 });
    } finally {
      await first.close('test end');
      await twin.close('test end');
    }
  }, 40_000);

  it('expires an endpoint that never connects, and the conference with it', async () => {
    const b3 = await startTestBridge(prosody, { bridge: { endpointTimeoutMs: 300 } });
    try {
      await focus.modify(b3, create('meeting-x', endpoint('ep1')));
      await waitFor('endpoint expired by the bridge', () => b3.colibri.counters.endpointsExpired, (n) => n === 1, { timeoutMs: 10_000 });
      expect(b3.colibri.conferences.has('meeting-x')).toBe(false);
      const err = await focus.modifyError(b3, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-x"><endpoint id="ep1"><sources/></endpoint></conference-modify>`));
      expect(colibri2ReasonOf(err)).toBe('conference_not_found');
    } finally {
      await b3.close('test end');
    }
  }, 30_000);

  it('rejects MEDIA_AUDIO-less sources but the error leaves the running conference intact', async () => {
    await focus.modify(bridge, create('meeting-f', endpoint('ep1')));
    const err = await focus.modifyError(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-f"><endpoint id="ep1"><sources><media-source type="audio" id="ep1-a0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="11"/></media-source></sources></endpoint></conference-modify>`));
    expect(err.condition).toBe('bad-request');
    const ok = await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${C2}" meeting-id="meeting-f"><endpoint id="ep1">${MEDIA_AUDIO}<sources><media-source type="audio" id="ep1-a0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="11"/></media-source></sources></endpoint></conference-modify>`));
    expect(ok.modified.endpoints).toEqual([{ id: 'ep1' }]);
    expect(bridge.colibri.conferences.get('meeting-f')?.endpoints.get('ep1')?.sources.size).toBe(1);
  });
});
