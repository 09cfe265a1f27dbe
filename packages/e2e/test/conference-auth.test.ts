// JWT rooms with the Hummingbird test client (issue 8 §3 "JWT"; spec/jitsi-client-protocol.md §1.2): the stack with
// `auth: 'token'`. The token rides on the WebSocket URL (`?token=`) with SASL ANONYMOUS, as ljm does.
//   - a client without a token is refused on the token host;
//   - a client with a token minted with `moderator: true` joins and becomes moderator, visible to the others;
//   - a guest on the anonymous guest host joins the same room as a non-moderator, and the two hold a call.
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Participant, describeState, launchBrowser, startClientServer, waitAllReceive, type JoinOptions } from './support/client-page.js';
import { waitFor } from './support/wait.js';

describe('token rooms with the Hummingbird test client', () => {
  let stack: Stack;
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };
  const parts: Participant[] = [];
  const room = `jwt-${Date.now().toString(36)}`;

  const options = (domain: string, name: string, token?: string): JoinOptions => ({
    websocketUrl: stack.urls.websocket, domain, muc: stack.hosts.conference, focus: stack.hosts.focus, room, displayName: name,
    ...(token !== undefined ? { token } : {}),
  });

  beforeAll(async () => {
    [stack, browser, server] = await Promise.all([startStack({ standardPorts: false, auth: 'token', logs: 'quiet' }), launchBrowser(), startClientServer()]);
  }, 180_000);

  afterAll(async () => {
    for (const p of parts) await p.close();
    await browser?.close().catch(() => undefined);
    await server?.close();
    await stack?.stop();
  }, 60_000);

  it('refuses a client without a token on the token host', async () => {
    const p = await Participant.open(browser, server.url, 'no-token');
    parts.push(p);
    const error = await p.join(options(stack.hosts.domain, 'Nobody')).then(() => undefined, (e: unknown) => String(e));
    console.log(`[e2e] without a token: ${error ?? 'joined'}`);
    // Hummingbird's token host offers SASL ANONYMOUS only to a connection that carries a token on its URL.
    expect(error).toMatch(/no SASL ANONYMOUS/);
  }, 60_000);

  it('admits a token holder as moderator and a guest as participant; they hold a call', async () => {
    const token = await stack.token?.mint({ room, user: { name: 'Ada', id: 'ada' }, moderator: true });
    expect(token).toBeDefined();
    const mod = await Participant.open(browser, server.url, 'moderator');
    const guest = await Participant.open(browser, server.url, 'guest');
    parts.push(mod, guest);
    await mod.join(options(stack.hosts.domain, 'Ada', token));
    const guestHost = stack.hosts.guest;
    if (guestHost === undefined) throw new Error('no guest host in a token stack');
    await guest.join(options(guestHost, 'Guest'));
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
    await waitAllReceive([mod, guest], 60_000);
  }, 120_000);
});
