// The meeting page's JWT field on a token stack (auth: 'token'): a page with a minted JWT joins on the client host,
// a page without one joins through the guest host, and they see each other. A bad JWT is refused with a message
// on the page, not a hang.
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser } from './support/client-page.js';
import { PageUser, waitTilesPlaying } from './support/meeting-page.js';

describe('the meeting page on a token stack', () => {
  let stack: Stack;
  let browser: Browser;
  const users: PageUser[] = [];

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack({ standardPorts: false, auth: 'token', logs: 'quiet' }), launchBrowser()]);
  }, 180_000);

  afterAll(async () => {
    for (const u of users) await u.close();
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  }, 60_000);

  it('a page with a JWT and a guest page without one hold a call; a forged JWT is refused on the page', async () => {
    const room = `jwt-${Date.now().toString(36)}`;
    const jwt = await stack.token?.mint({ room, user: { name: 'Mia' }, moderator: true });
    expect(jwt).toBeDefined();
    const [mia, gus, eve] = await Promise.all(['Mia', 'Gus', 'Eve'].map((n) => PageUser.open(browser, stack.pageUrl ?? '', n)));
    users.push(mia!, gus!, eve!);
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
