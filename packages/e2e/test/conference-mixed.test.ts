// A mixed room (issue 7 acceptance: "two current + one legacy client works too"): two Hummingbird test clients
// (current lib-jitsi-meet protocol: source names, SIM simulcast, JSON sources) and one real legacy lib-jitsi-meet
// (npm @lyno/lib-jitsi-meet 2.6726.2, ~2021: no source names, spec/jitsi-client-protocol.md §10) in one conference
// through the whole stack. Every client receives the other two's audio (packets) and video (decoded frames).
import { waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';

import { describeReceived } from '../legacy/client.ts';
import { lynoBundle } from '../legacy/server.ts';
import { describeState, joinToFirstFrame, sourcesOf, type ClientState } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

/** Audio packets and decoded video from `owner`, whatever the source names (legacy senders have none of their own). */
function hears(s: ClientState, owner: string): boolean {
  const live = sourcesOf(s, owner);
  return live.some((x) => x.kind === 'video' && x.framesDecoded > 0) && live.some((x) => x.kind === 'audio' && x.packetsReceived > 0);
}

describe('a mixed room: two Hummingbird test clients and one legacy lib-jitsi-meet', () => {
  const bed = useTestbed({ room: 'mixed', legacy: lynoBundle() });

  it('each of the three receives the other two\'s audio and video', async () => {
    const [a, b] = await Promise.all(['A', 'B'].map((l) => bed().open(l)));
    if (!a || !b) throw new Error('no pages');
    const legacy = await bed().openLegacy('L');
    await Promise.all([
      a.join(bed().joinOptions('Tester A')),
      b.join(bed().joinOptions('Tester B')),
      legacy.start(bed().legacyOptions('Legacy L')),
    ]);
    const l = await legacy.waitJoined();
    const lid = l.myId;
    if (lid === undefined) throw new Error('the legacy client joined without an endpoint id');
    await waitFor(
      'A and B receive each other and the legacy client',
      () => Promise.all([a.state(), b.state()]),
      ([as, bs]) => hears(as, b.endpointId) && hears(as, lid) && hears(bs, a.endpointId) && hears(bs, lid),
      { timeoutMs: 60_000, intervalMs: 500, describe: (ss) => ss.map(describeState).join('\n') },
    );
    const received = await legacy.waitMediaFrom([a.endpointId, b.endpointId], { timeoutMs: 60_000 });
    console.log(`[e2e] mixed room: legacy receives ${received.map(describeReceived).join(' | ')}`);
    const as = await a.state();
    const current = joinToFirstFrame(await Promise.all([a.state(), b.state()]));
    recordFirstFrame(import.meta.url, 'mixed room: 2 current + 1 legacy (current clients)', 'hummingbird', current);
    // The legacy sender's sources reach the current client under the names the focus gives them (§10.1).
    console.log(`[e2e] mixed room: A sees the legacy sources as ${sourcesOf(as, lid).map((x) => `${x.kind}:${x.name ?? '(no name)'}`).join(', ')}`);
    expect(sourcesOf(as, lid).map((x) => x.name).sort()).toEqual([`${lid}-a0`, `${lid}-v0`]);
    expect(as.errors).toEqual([]);
  }, 180_000);
});
