// SSRC simulcast end to end (spec/jitsi-client-protocol.md §4.3, §5.3, §8.5): A sends its camera at 640×360 with the
// SIM group the client munges in (Chrome then encodes two active layers, 320×180 and 640×360). Receivers tell the
// bridge their maxHeight with ReceiverVideoConstraints; the bridge picks the simulcast layer per receiver:
// B (maxHeight 180) decodes A at 180 lines, C (720) at 360; when B raises its maxHeight, B switches up.
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Participant, describeState, launchBrowser, sourcesOf, startClientServer, waitAllReceive, type ClientState, type JoinOptions } from './support/client-page.js';
import { waitFor } from './support/wait.js';

describe('simulcast layers follow the receivers\' constraints', () => {
  let stack: Stack;
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };
  const parts: Participant[] = [];
  const room = `simulcast-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [stack, browser, server] = await Promise.all([startStack({ standardPorts: false, logs: 'quiet' }), launchBrowser(), startClientServer()]);
  }, 180_000);

  afterAll(async () => {
    for (const p of parts) await p.close();
    await browser?.close().catch(() => undefined);
    await server?.close();
    await stack?.stop();
  }, 60_000);

  it('each receiver gets the layer its maxHeight asks for, and switches when it changes', async () => {
    const options = (name: string, extra: Partial<JoinOptions>): JoinOptions => ({
      websocketUrl: stack.urls.websocket, domain: stack.hosts.domain, muc: stack.hosts.conference, focus: stack.hosts.focus, room,
      displayName: name, ...extra,
    });
    const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((l) => Participant.open(browser, server.url, l)));
    if (!a || !b || !c) throw new Error('no pages');
    parts.push(a, b, c);
    await a.join(options('Sender', { video: { width: 640, height: 360, frameRate: 15 }, receiverMaxHeight: 180 }));
    await b.join(options('Low', { receiverMaxHeight: 180 }));
    await c.join(options('High', { receiverMaxHeight: 720 }));
    await waitAllReceive([a, b, c], 60_000);
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
