// TURN-only (issue 8 §3): every participant with `iceTransportPolicy: 'relay'`, so no direct path to the bridge is
// ever tried; the only ICE servers are the ones Prosody advertises over XEP-0215 for apps/turn, filtered as ljm
// does for the JVB session (TURN over TCP/TLS only, spec/jitsi-client-protocol.md §1.3). Media must still flow.
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Participant, launchBrowser, startClientServer, waitAllReceive, type JoinOptions } from './support/client-page.js';

describe('TURN-only participants with the Hummingbird test client', () => {
  let stack: Stack;
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };
  const parts: Participant[] = [];
  const room = `turn-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [stack, browser, server] = await Promise.all([startStack({ standardPorts: false, logs: 'quiet' }), launchBrowser(), startClientServer()]);
  }, 180_000);

  afterAll(async () => {
    for (const p of parts) await p.close();
    await browser?.close().catch(() => undefined);
    await server?.close();
    await stack?.stop();
  }, 60_000);

  it('two relay-only participants receive each other through apps/turn', async () => {
    const options = (name: string): JoinOptions => ({
      websocketUrl: stack.urls.websocket, domain: stack.hosts.domain, muc: stack.hosts.conference, focus: stack.hosts.focus, room,
      displayName: name, iceTransportPolicy: 'relay',
    });
    const two = await Promise.all(['A', 'B'].map((l) => Participant.open(browser, server.url, l)));
    parts.push(...two);
    await Promise.all(two.map((p) => p.join(options(`Tester ${p.label}`))));
    const states = await waitAllReceive(two, 90_000);
    for (const s of states) {
      expect(s.session?.localCandidate, 'the selected pair is relayed').toMatch(/^relay\/udp\/(tcp|tls)$/);
      expect(s.errors).toEqual([]);
    }
    console.log(`[e2e] TURN-only: selected local candidates ${states.map((s) => s.session?.localCandidate ?? '?').join(', ')}`);
  }, 180_000);
});
