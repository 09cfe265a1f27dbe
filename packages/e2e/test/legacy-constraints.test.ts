// A 2021 lib-jitsi-meet client's stage view (jitsi-client-protocol.md §10 item 5): `selectParticipants([A])` sends
// ReceiverVideoConstraints with onStageEndpoints/selectedEndpoints and `constraints` keyed by endpoint id
// ({"<A>":{"maxHeight":2160}}, default 180). The bridge must read those endpoint keys as A's video: B then decodes a
// higher simulcast layer of A than the 180-row thumbnail it gets by default. Two clients with 720p fake cameras
// (3 simulcast layers: 180/360/720 rows) through the whole stack.

import { waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';
import { describeReceived } from '../legacy/client.ts';
import { lynoBundle } from '../legacy/server.ts';
import { useTestbed } from './support/testbed.ts';

describe('@lyno/lib-jitsi-meet stage view (endpoint-keyed receiver constraints)', { timeout: 180_000 }, () => {
  const bed = useTestbed({ room: 'stage', legacy: lynoBundle(), client: false, keepLogs: true });

  it('B decodes A above the thumbnail height once A is on stage', async () => {
    const options = (name: string) => bed().legacyOptions(name, { resolution: 720, statsIntervalMs: 200 });
    const [a, b] = await Promise.all([bed().openLegacy('A'), bed().openLegacy('B')]);
    await Promise.all([a.start(options('A')), b.start(options('B'))]);
    const [sa] = await Promise.all([a.waitJoined(), b.waitJoined()]);
    const aId = sa.myId ?? '';
    const height = async (): Promise<number> => {
      const [r] = await b.waitMediaFrom([aId], { timeoutMs: 60_000 });
      return Number(r?.videoSize?.split('x')[1] ?? 0);
    };
    // The default: a thumbnail (maxHeight 180 → the 180-row layer).
    const before = await waitFor('B decodes A as a thumbnail', height, (h) => h > 0 && h <= 180, { timeoutMs: 60_000, intervalMs: 500 });
    expect(await b.selectParticipants([aId])).toBe(true);
    try {
      const staged = await waitFor('B decodes A above 180 rows once A is on stage', height, (h) => h > 180, { timeoutMs: 45_000, intervalMs: 500 });
      const [r] = await b.waitMediaFrom([aId]);
      console.log(`[legacy] stage view: A at ${String(before)} rows as a thumbnail, ${String(staged)} on stage (${r === undefined ? '-' : describeReceived(r)})`);
    } catch (error) {
      console.log(bed().logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-30).join('\n'));
      throw error;
    }
  });
});
