// A mediasoup worker killed under a running conference: the bridge reports the conference as failed to the
// focus that allocated it (Hummingbird's conference-failed event), answers later requests for it with
// conference_not_found (so a Jicofo-style focus re-invites, jicofo-jvb.md §3.6), starts a successor worker on
// the same ports, and stays healthy for new conferences.
import type { ProsodyHandle } from '@hummingbird/stack';
import { colibri2ReasonOf, NS, parseXmlString, type Colibri2Endpoint } from '@hummingbird/xmpp';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeService } from '../src/index.js';
import { startTestBridge, startTestProsody, TestFocus } from './support/harness.js';

const endpoint = (id: string): Colibri2Endpoint => ({ id, create: true, media: [], transport: {}, sources: [], capabilities: ['source-names'] });

describe('a mediasoup worker dies mid-call', () => {
  let prosody: ProsodyHandle;
  let bridge: BridgeService;
  let focus: TestFocus;

  beforeAll(async () => {
    prosody = await startTestProsody();
    bridge = await startTestBridge(prosody, { media: { workers: 2 } });
    focus = await TestFocus.start(prosody);
  }, 60_000);

  afterAll(async () => {
    await focus?.stop();
    await bridge?.close('test end');
    await prosody?.stop();
  });

  it('reports the failed conference, replaces the worker and keeps serving', async () => {
    expect(bridge.pool.workers).toHaveLength(2);
    // Two conferences land on different workers (least-loaded placement).
    await focus.modify(bridge, { meetingId: 'm-doomed', create: true, endpoints: [endpoint('e1'), ], relays: [] });
    await focus.modify(bridge, { meetingId: 'm-doomed', endpoints: [endpoint('e2')], relays: [] });
    await focus.modify(bridge, { meetingId: 'm-survivor', create: true, endpoints: [endpoint('e1')], relays: [] });
    const doomed = bridge.colibri.conferences.get('m-doomed');
    const survivor = bridge.colibri.conferences.get('m-survivor');
    expect(doomed?.worker.index).not.toBe(survivor?.worker.index);
    const deadPid = doomed?.worker.pid ?? 0;
    const ports = doomed?.worker.webRtcServer;
    expect(deadPid).toBeGreaterThan(0);

    process.kill(deadPid, 'SIGKILL');

    await waitFor('conference-failed reaches the focus', () => focus.failures, (f) => f.some((x) => x.meetingId === 'm-doomed'), { timeoutMs: 20_000 });
    expect(focus.failures).toEqual([{ meetingId: 'm-doomed', reason: 'worker-died' }]);
    await waitFor('a successor worker runs', () => bridge.pool.workers.map((w) => w.pid), (pids) => pids.length === 2 && !pids.includes(deadPid), { timeoutMs: 20_000 });
    expect(bridge.pool.replacedWorkers).toBe(1);
    expect(ports?.closed).toBe(true);

    const err = await focus.modifyError(bridge, parseXmlString(`<conference-modify xmlns="${NS.COLIBRI2}" meeting-id="m-doomed"><endpoint id="e1" expire="true"/></conference-modify>`));
    expect(colibri2ReasonOf(err)).toBe('conference_not_found');

    // The other conference is untouched; new conferences work, on either worker.
    expect(bridge.colibri.conferences.get('m-survivor')).toBe(survivor);
    const ok = await focus.modify(bridge, { meetingId: 'm-new', create: true, endpoints: [endpoint('e1')], relays: [] });
    expect(ok.modified.endpoints[0]?.transport?.iceUdp?.candidates.length).toBeGreaterThan(0);
    const again = await focus.modify(bridge, { meetingId: 'm-new-2', create: true, endpoints: [endpoint('e1')], relays: [] });
    expect(again.modified.endpoints[0]?.transport?.iceUdp?.ufrag).toBeDefined();
    expect(new Set([...bridge.colibri.conferences.values()].map((c) => c.worker.pid)).size).toBe(2);

    expect((await bridge.ops.inject('/about/health')).statusCode).toBe(200);
    const stats = (await bridge.ops.inject('/colibri/stats')).json<Record<string, unknown>>();
    expect(stats).toMatchObject({ total_failed_conferences: 1, workers: 2, workers_replaced: 1 });
  }, 60_000);
});
