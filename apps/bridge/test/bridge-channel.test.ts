// colibri-ws without media (jitsi-client-protocol.md §5, jicofo-jvb.md §4.3): URL checks (404/403 before the
// upgrade), ServerHello, EndpointMessage relay with the bridge stamping `from`, malformed and unknown messages
// counted and ignored without closing the socket, 1001 on endpoint expiry.
import type { ProsodyHandle } from '@hummingbird/stack';
import { NS, parseXmlString, type Colibri2Endpoint } from '@hummingbird/xmpp';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeService } from '../src/index.js';
import { ChannelClient } from './support/channel.js';
import { startTestBridge, startTestProsody, TestFocus } from './support/harness.js';

const endpoint = (id: string): Colibri2Endpoint => ({ id, create: true, media: [], transport: {}, sources: [], capabilities: ['source-names'] });

describe('colibri-ws bridge channel', () => {
  let prosody: ProsodyHandle;
  let bridge: BridgeService;
  let focus: TestFocus;
  const urls = new Map<string, string>();
  const clients = new Map<string, ChannelClient>();

  beforeAll(async () => {
    prosody = await startTestProsody();
    bridge = await startTestBridge(prosody);
    focus = await TestFocus.start(prosody);
    for (const [i, id] of ['ep1', 'ep2', 'ep3'].entries()) {
      const res = await focus.modify(bridge, { meetingId: 'ws-meeting', ...(i === 0 ? { create: true } : {}), endpoints: [endpoint(id)], relays: [] });
      const url = res.modified.endpoints[0]?.transport?.iceUdp?.webSockets[0];
      if (url === undefined) throw new Error('no web-socket URL');
      urls.set(id, url);
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await focus?.stop();
    await bridge?.close('test end');
    await prosody?.stop();
  });

  it('refuses a wrong bridge id with 404 and a wrong password or endpoint with 403, before the upgrade', async () => {
    const good = new URL(urls.get('ep1') ?? '');
    const wrongBridge = new URL(good);
    wrongBridge.pathname = good.pathname.replace(`/colibri-ws/${bridge.id}/`, '/colibri-ws/someone-else/');
    expect(await ChannelClient.refusal(wrongBridge.toString())).toBe(404);
    const wrongPwd = new URL(good);
    wrongPwd.searchParams.set('pwd', 'x'.repeat(24));
    expect(await ChannelClient.refusal(wrongPwd.toString())).toBe(403);
    const noPwd = new URL(good);
    noPwd.search = '';
    expect(await ChannelClient.refusal(noPwd.toString())).toBe(403);
    // ep2's password does not open ep1.
    const otherPwd = new URL(good);
    otherPwd.searchParams.set('pwd', new URL(urls.get('ep2') ?? '').searchParams.get('pwd') ?? '');
    expect(await ChannelClient.refusal(otherPwd.toString())).toBe(403);
    expect(bridge.channels?.counters.authFailures).toBe(3);
  });

  it('greets with ServerHello and relays EndpointMessage with the sender stamped by the bridge', async () => {
    for (const id of ['ep1', 'ep2', 'ep3']) clients.set(id, await ChannelClient.open(urls.get(id) ?? ''));
    const [c1, c2, c3] = ['ep1', 'ep2', 'ep3'].map((id) => clients.get(id) as ChannelClient) as [ChannelClient, ChannelClient, ChannelClient];
    for (const c of [c1, c2, c3]) await c.next('ServerHello', (m) => m['colibriClass'] === 'ServerHello');

    c1.send({ colibriClass: 'EndpointMessage', to: '', from: 'ep3', msgPayload: { hello: 'all' } });
    const got2 = await c2.next('broadcast at ep2', (m) => m['colibriClass'] === 'EndpointMessage');
    const got3 = await c3.next('broadcast at ep3', (m) => m['colibriClass'] === 'EndpointMessage');
    for (const m of [got2, got3]) expect(m).toEqual({ colibriClass: 'EndpointMessage', to: '', from: 'ep1', msgPayload: { hello: 'all' } });
    expect(c1.of('EndpointMessage')).toEqual([]);

    c2.send({ colibriClass: 'EndpointMessage', to: 'ep3', msgPayload: { only: 'ep3' } });
    await c3.next('directed at ep3', (m) => m['colibriClass'] === 'EndpointMessage' && m['from'] === 'ep2');
    c2.send({ colibriClass: 'EndpointStats', to: '', connectionQuality: 100 });
    await c1.next('stats at ep1', (m) => m['colibriClass'] === 'EndpointStats' && m['from'] === 'ep2');
    expect(c1.of('EndpointMessage')).toEqual([]);
  });

  it('counts malformed and unknown messages, ignores them, and keeps the socket open', async () => {
    const c1 = clients.get('ep1') as ChannelClient;
    const c2 = clients.get('ep2') as ChannelClient;
    const before = { ...(bridge.channels?.counters ?? { malformed: 0, unknown: 0 }) };
    const bad: (string | Buffer)[] = [
      'not json', '[1,2,3]', '"a string"', 'null', '{}', '{"colibriClass":42}', '{"colibriClass":"EndpointMessage","to":7,"msgPayload":{}}',
      '{"colibriClass":"EndpointMessage","to":"","msgPayload":"not an object"}', '{"colibriClass":"ReceiverVideoConstraints","lastN":"three"}',
      '{"colibriClass":"ReceiverVideoConstraints","constraints":{"x":{"maxHeight":"tall"}}}', '{"colibriClass":"LastNChangedEvent","lastN":1.5}',
      '{"colibriClass":"ReceiverVideoConstraints","onStageSources":[1]}', Buffer.from([0, 1, 2, 3]), `{"colibriClass":"EndpointMessage","msgPayload":${'['.repeat(5000)}`,
    ];
    for (const b of bad) c1.sendRaw(b);
    c1.send({ colibriClass: 'NoSuchClass', x: 1 });
    c1.send({ colibriClass: 'EndpointMessage', to: 'ep2', msgPayload: { still: 'alive' } });
    await c2.next('relay after garbage', (m) => (m['msgPayload'] as Record<string, unknown> | undefined)?.['still'] === 'alive');
    expect((bridge.channels?.counters.malformed ?? 0) - before.malformed).toBe(bad.length);
    expect((bridge.channels?.counters.unknown ?? 0) - before.unknown).toBe(1);
    expect(c1.closeCode).toBeUndefined();
    // The rejected constraint did not change anything.
    expect(bridge.colibri.conferences.get('ws-meeting')?.endpoints.get('ep1')?.lastN).toBe(-1);
    const metrics = (await bridge.ops.inject('/metrics')).body;
    expect(metrics).toMatch(/hb_bridge_ws_messages_malformed_total \d+/);
  });

  it('closes the socket with 1001 when the endpoint expires', async () => {
    const c3 = clients.get('ep3') as ChannelClient;
    await focus.modifyRaw(bridge, parseXmlString(`<conference-modify xmlns="${NS.COLIBRI2}" meeting-id="ws-meeting"><endpoint id="ep3" expire="true"/></conference-modify>`));
    await waitFor('ep3 socket closed', () => c3.closeCode, (c) => c !== undefined);
    expect(c3.closeCode).toBe(1001);
    expect(await ChannelClient.refusal(urls.get('ep3') ?? '')).toBe(403);
  });
});
