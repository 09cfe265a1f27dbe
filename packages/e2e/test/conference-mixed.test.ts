// A mixed room (issue 7 acceptance: "two current + one legacy client works too"): two Hummingbird test clients
// (current lib-jitsi-meet protocol: source names, SIM simulcast, JSON sources) and one real legacy lib-jitsi-meet
// (npm @lyno/lib-jitsi-meet 2.6726.2, ~2021: no source names, spec/jitsi-client-protocol.md §10) in one conference
// through the whole stack. Every client receives the other two's audio (packets) and video (decoded frames).
import { startStack, type Stack } from '@hummingbird/stack';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { LegacyClient, describeReceived } from '../legacy/client.ts';
import { lynoBundle, startPageServer, type PageServer } from '../legacy/server.ts';
import { Participant, describeState, launchBrowser, sourcesOf, startClientServer, type ClientState, type JoinOptions } from './support/client-page.js';
import { waitFor } from './support/wait.js';

/** Audio packets and decoded video from `owner`, whatever the source names (legacy senders have none of their own). */
function hears(s: ClientState, owner: string): boolean {
  const live = sourcesOf(s, owner);
  return live.some((x) => x.kind === 'video' && x.framesDecoded > 0) && live.some((x) => x.kind === 'audio' && x.packetsReceived > 0);
}

describe('a mixed room: two Hummingbird test clients and one legacy lib-jitsi-meet', () => {
  let stack: Stack;
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };
  let legacyServer: PageServer;
  const parts: Participant[] = [];
  let legacy: LegacyClient | undefined;
  const room = `mixed-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [stack, browser, server, legacyServer] = await Promise.all([
      startStack({ standardPorts: false, logs: 'quiet' }),
      launchBrowser(),
      startClientServer(),
      startPageServer(lynoBundle()),
    ]);
  }, 180_000);

  afterAll(async () => {
    for (const p of parts) await p.close();
    await legacy?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await Promise.allSettled([server?.close(), legacyServer?.close()]);
    await stack?.stop();
  }, 60_000);

  it('each of the three receives the other two\'s audio and video', async () => {
    const options = (name: string): JoinOptions => ({
      websocketUrl: stack.urls.websocket, domain: stack.hosts.domain, muc: stack.hosts.conference, focus: stack.hosts.focus, room, displayName: name,
    });
    const [a, b] = await Promise.all(['A', 'B'].map((l) => Participant.open(browser, server.url, l)));
    if (!a || !b) throw new Error('no pages');
    parts.push(a, b);
    legacy = await LegacyClient.open(browser, legacyServer.url, 'L');
    await Promise.all([
      a.join(options('Tester A')),
      b.join(options('Tester B')),
      legacy.start({
        serviceUrl: stack.urls.websocket,
        hosts: { domain: stack.hosts.domain, muc: stack.hosts.conference, focus: stack.hosts.focus },
        room, token: null, displayName: 'Legacy L', disableFocus: false, resolution: 180, ssrcRewriting: false, statsIntervalMs: 100,
      }),
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
    // The legacy sender's sources reach the current client under the names the focus gives them (§10.1).
    console.log(`[e2e] mixed room: A sees the legacy sources as ${sourcesOf(as, lid).map((x) => `${x.kind}:${x.name ?? '(no name)'}`).join(', ')}`);
    expect(sourcesOf(as, lid).map((x) => x.name).sort()).toEqual([`${lid}-a0`, `${lid}-v0`]);
    expect(as.errors).toEqual([]);
  }, 180_000);
});
