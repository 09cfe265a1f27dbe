// JWT rooms with the Hummingbird test client (issue 8 §3 "JWT"; spec/jitsi-client-protocol.md §1.2): the stack with
// `auth: 'token'`. The token rides on the WebSocket URL (`?token=`) with SASL ANONYMOUS, as ljm does.
//   - a client without a token is refused on the token host;
//   - a client with a token minted with `moderator: true` joins and becomes moderator, visible to the others;
//   - a guest on the anonymous guest host joins the same room as a non-moderator, and the two hold a call.
import { describe, expect, it } from 'vitest';

import { waitFor } from '@hummingbird/test-support';
import { describeState, joinToFirstFrame, waitAllReceive } from './support/client-page.js';
import { recordFirstFrame } from './support/first-frame.js';
import { useTestbed } from './support/testbed.js';

describe('token rooms with the Hummingbird test client', () => {
  const bed = useTestbed({ room: 'jwt', auth: 'token' });

  it('refuses a client without a token on the token host', async () => {
    const p = await bed().open('no-token');
    const error = await p.join(bed().joinOptions('Nobody')).then(() => undefined, (e: unknown) => String(e));
    console.log(`[e2e] without a token: ${error ?? 'joined'}`);
    // Hummingbird's token host offers SASL ANONYMOUS only to a connection that carries a token on its URL.
    expect(error).toMatch(/no SASL ANONYMOUS/);
  }, 60_000);

  it('admits a token holder as moderator and a guest as participant; they hold a call', async () => {
    const { stack, room } = bed();
    const token = await stack.token?.mint({ room, user: { name: 'Ada', id: 'ada' }, moderator: true });
    expect(token).toBeDefined();
    const mod = await bed().open('moderator');
    const guest = await bed().open('guest');
    await mod.join(bed().joinOptions('Ada', token !== undefined ? { token } : {}));
    const guestHost = stack.hosts.guest;
    if (guestHost === undefined) throw new Error('no guest host in a token stack');
    await guest.join(bed().joinOptions('Guest', { domain: guestHost }));
    const [m, g] = await waitFor(
      'the moderator role on the token holder, seen by the guest',
      () => Promise.all([mod.state(), guest.state()]),
      ([ms, gs]) => ms.role === 'moderator' && gs.participants.find((x) => x.id === mod.endpointId)?.role === 'moderator',
      { timeoutMs: 30_000, intervalMs: 250, describe: (ss) => ss.map(describeState).join('\n') },
    );
    expect(m.jid?.split('/')[0]?.endsWith(`@${stack.hosts.domain}`)).toBe(true);
    expect(g.jid?.split('/')[0]?.endsWith(`@${guestHost}`)).toBe(true);
    expect(g.role).not.toBe('moderator');
    expect(m.participants.find((x) => x.id === guest.endpointId)?.role).not.toBe('moderator');
    const states = await waitAllReceive([mod, guest], 60_000);
    recordFirstFrame(import.meta.url, 'JWT: moderator with a token + guest', 'hummingbird', joinToFirstFrame(states));
  }, 120_000);
});
