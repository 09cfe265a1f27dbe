// SSRC simulcast end to end (spec/jitsi-client-protocol.md §4.3, §5.3, §8.5): A sends its camera at 640×360 with the
// SIM group the client munges in (Chrome then encodes two active layers, 320×180 and 640×360). Receivers tell the
// bridge their maxHeight with ReceiverVideoConstraints; the bridge picks the simulcast layer per receiver:
// B (maxHeight 180) decodes A at 180 lines, C (720) at 360; when B raises its maxHeight, B switches up.
import { describe, expect, it } from 'vitest';

import { waitFor } from '@hummingbird/test-support';
import { describeState, joinToFirstFrame, sourcesOf, waitAllReceive, type ClientState } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

describe('simulcast layers follow the receivers\' constraints', () => {
  const bed = useTestbed({ room: 'simulcast' });

  it('each receiver gets the layer its maxHeight asks for, and switches when it changes', async () => {
    const a = await bed().join('A', { displayName: 'Sender', video: { width: 640, height: 360, frameRate: 15 }, receiverMaxHeight: 180 });
    const b = await bed().join('B', { displayName: 'Low', receiverMaxHeight: 180 });
    const c = await bed().join('C', { displayName: 'High', receiverMaxHeight: 720 });
    const states = await waitAllReceive([a, b, c], 60_000);
    recordFirstFrame(import.meta.url, 'simulcast: 3 participants', 'hummingbird', joinToFirstFrame(states));
    const heightOfA = (s: ClientState): number | undefined => sourcesOf(s, a.endpointId).find((x) => x.kind === 'video')?.frameHeight;
    const layers = await waitFor(
      'B decodes A at 180 lines and C at 360',
      () => Promise.all([a.state(), b.state(), c.state()]),
      ([, bs, cs]) => heightOfA(bs) === 180 && heightOfA(cs) === 360,
      { timeoutMs: 30_000, intervalMs: 250, describe: (ss) => ss.map(describeState).join('\n') },
    );
    const sent = layers[0]?.local.outbound.filter((o) => o.kind === 'video' && o.packetsSent > 0).map((o) => o.frameHeight);
    console.log(`[e2e] simulcast: A sends layers ${JSON.stringify(sent)}; B gets ${heightOfA(layers[1])}, C gets ${heightOfA(layers[2])}`);
    expect(sent).toEqual(expect.arrayContaining([180, 360]));
    await b.setReceiverMaxHeight(720);
    await waitFor('B switches up to 360 lines', () => b.state(), (s) => heightOfA(s) === 360, { timeoutMs: 30_000, intervalMs: 250, describe: describeState });
  }, 180_000);
});
