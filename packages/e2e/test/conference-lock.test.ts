// Room password (issue 8 §3; spec/jitsi-client-protocol.md §3.6): the moderator (the first participant on a
// deployment without auth) locks the room; a client without the password is refused (`not-authorized`), the same
// client with it joins and receives the others.
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Participant, describeState, launchBrowser, startClientServer, waitAllReceive, type JoinOptions } from './support/client-page.js';
import { waitFor } from './support/wait.js';

describe('room password with the Hummingbird test client', () => {
  let stack: Stack;
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };
  const parts: Participant[] = [];
  const room = `lock-${Date.now().toString(36)}`;

  const options = (name: string, password?: string): JoinOptions => ({
    websocketUrl: stack.urls.websocket, domain: stack.hosts.domain, muc: stack.hosts.conference, focus: stack.hosts.focus, room,
    displayName: name, ...(password !== undefined ? { password } : {}),
  });

  beforeAll(async () => {
    [stack, browser, server] = await Promise.all([startStack({ standardPorts: false, logs: 'quiet' }), launchBrowser(), startClientServer()]);
  }, 180_000);

  afterAll(async () => {
    for (const p of parts) await p.close();
    await browser?.close().catch(() => undefined);
    await server?.close();
    await stack?.stop();
  }, 60_000);

  it('a password set by the moderator keeps a client out until it supplies it', async () => {
    const a = await Participant.open(browser, server.url, 'A');
    parts.push(a);
    await a.join(options('Tester A'));
    await waitFor('A is moderator', () => a.state(), (s) => s.role === 'moderator', { timeoutMs: 20_000, intervalMs: 250, describe: describeState });
    await a.lockRoom('s3cret');
    const outsider = await Participant.open(browser, server.url, 'D-without');
    parts.push(outsider);
    const refused = await outsider.join(options('Tester D')).then(() => 'joined', (e: unknown) => String(e));
    expect(refused).toMatch(/MUC join refused: not-authorized/);
    const wrong = await Participant.open(browser, server.url, 'D-wrong');
    parts.push(wrong);
    expect(await wrong.join(options('Tester D', 'nope')).then(() => 'joined', (e: unknown) => String(e))).toMatch(/not-authorized/);
    const d = await Participant.open(browser, server.url, 'D');
    parts.push(d);
    await d.join(options('Tester D', 's3cret'));
    await waitAllReceive([a, d], 60_000);
  }, 180_000);
});
