// Room password (issue 8 §3; spec/jitsi-client-protocol.md §3.6): the moderator (the first participant on a
// deployment without auth) locks the room; a client without the password is refused (`not-authorized`), the same
// client with it joins and receives the others.
import { describe, expect, it } from 'vitest';

import { waitFor } from '@hummingbird/test-support';
import { describeState, joinToFirstFrame, waitAllReceive } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

describe('room password with the Hummingbird test client', () => {
  const bed = useTestbed({ room: 'lock' });

  it('a password set by the moderator keeps a client out until it supplies it', async () => {
    const a = await bed().join('A');
    await waitFor('A is moderator', () => a.state(), (s) => s.role === 'moderator', { timeoutMs: 20_000, intervalMs: 250, describe: describeState });
    await a.lockRoom('s3cret');
    const outsider = await bed().open('D-without');
    const refused = await outsider.join(bed().joinOptions('Tester D')).then(() => 'joined', (e: unknown) => String(e));
    expect(refused).toMatch(/MUC join refused: not-authorized/);
    const wrong = await bed().open('D-wrong');
    expect(await wrong.join(bed().joinOptions('Tester D', { password: 'nope' })).then(() => 'joined', (e: unknown) => String(e))).toMatch(/not-authorized/);
    const d = await bed().open('D');
    await d.join(bed().joinOptions('Tester D', { password: 's3cret' }));
    const states = await waitAllReceive([a, d], 60_000);
    // Only D: A joined long before anyone else was there to be received.
    recordFirstFrame(import.meta.url, 'room password: D joins with it', 'hummingbird', joinToFirstFrame(states.slice(1)));
  }, 180_000);
});
