// The meeting page's JWT field on a token stack (auth: 'token'): a page with a minted JWT joins on the client host,
// a page without one joins through the guest host, and they see each other. A bad JWT is refused with a message
// on the page, not a hang.
import { describe, expect, it } from 'vitest';

import { waitTilesPlaying } from './support/meeting-page.js';
import { useTestbed } from './support/testbed.js';

describe('the meeting page on a token stack', () => {
  const bed = useTestbed({ room: 'jwt', auth: 'token', client: false });

  it('a page with a JWT and a guest page without one hold a call; a forged JWT is refused on the page', async () => {
    const { stack, room } = bed();
    const jwt = await stack.token?.mint({ room, user: { name: 'Mia' }, moderator: true });
    expect(jwt).toBeDefined();
    const [mia, gus, eve] = await Promise.all(['Mia', 'Gus', 'Eve'].map((n) => bed().openPage(n)));
    const forged = `${jwt?.split('.').slice(0, 2).join('.') ?? ''}.AAAA`;
    const refused = await eve!.join({ room, name: 'Eve', token: forged }, 45_000).then(() => 'joined', (e: unknown) => String(e));
    expect(refused).toMatch(/Could not join/);
    await Promise.all([mia!.join({ room, name: 'Mia', token: jwt ?? '' }), gus!.join({ room, name: 'Gus' })]);
    for (const u of [mia!, gus!]) {
      const s = await waitTilesPlaying(u, 2, 60_000);
      expect(s.tiles.map((t) => t.name).sort()).toEqual(u === mia ? ['Gus', 'Mia (you)'] : ['Gus (you)', 'Mia']);
    }
  }, 180_000);
});
