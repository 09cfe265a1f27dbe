// TURN-only (issue 8 §3): every participant with `iceTransportPolicy: 'relay'`, so no direct path to the bridge is
// ever tried; the only ICE servers are the ones Prosody advertises over XEP-0215 for apps/turn, filtered as ljm
// does for the JVB session (TURN over TCP/TLS only, spec/jitsi-client-protocol.md §1.3). Media must still flow.
import { describe, expect, it } from 'vitest';

import { joinToFirstFrame, waitAllReceive } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

describe('TURN-only participants with the Hummingbird test client', () => {
  const bed = useTestbed({ room: 'turn' });

  it('two relay-only participants receive each other through apps/turn', async () => {
    const two = await Promise.all(['A', 'B'].map((l) => bed().join(l, { iceTransportPolicy: 'relay' })));
    const states = await waitAllReceive(two, 90_000);
    for (const s of states) {
      expect(s.session?.localCandidate, 'the selected pair is relayed').toMatch(/^relay\/udp\/(tcp|tls)$/);
      expect(s.errors).toEqual([]);
    }
    console.log(`[e2e] TURN-only: selected local candidates ${states.map((s) => s.session?.localCandidate ?? '?').join(', ')}`);
    recordFirstFrame(import.meta.url, 'TURN-only (relay), 2 participants', 'hummingbird', joinToFirstFrame(states));
  }, 180_000);
});
