// The legacy-client harness against Prosody alone (no focus, no bridge): the bundles load with
// jQuery, fake local tracks are created, XMPP connects over WebSocket, and two clients that join one
// MUC directly (ljm's `disableFocus`) see each other. This is what legacy.test.ts builds on; it also
// runs the LJM_BUNDLE variant when a bundle path is given (jitsi-client-protocol.md §9.1).

import { startProsody, type ProsodyHandle } from '@hummingbird/stack';
import { launchChromium, waitFor } from '@hummingbird/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyClient } from '../legacy/client.ts';
import { LjmBundleError, lynoBundle, startPageServer, upstreamBundle, type LjmBundle, type PageServer } from '../legacy/server.ts';
import type { LjmStartOptions } from '../legacy/types.ts';

const upstream = upstreamBundle();
const variants: { bundle: LjmBundle | undefined; name: string }[] = [
  { bundle: lynoBundle(), name: '@lyno/lib-jitsi-meet 2.6726.2' },
  { bundle: upstream, name: 'LJM_BUNDLE (upstream)' },
];

describe('page server', () => {
  it('serves the page, jQuery and the bundle, and nothing else', async () => {
    const server = await startPageServer(lynoBundle());
    try {
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('window.jquery = window.jQuery');
      const jq = await fetch(new URL('/jquery.js', server.url));
      expect(await jq.text()).toContain('jQuery v3.6.0');
      const ljm = await fetch(new URL('/ljm.js', server.url));
      expect(ljm.status).toBe(200);
      expect(await ljm.text()).toContain('JitsiMeetJS');
      expect((await fetch(new URL('/../package.json', server.url))).status).toBe(404);
      expect((await fetch(new URL('/ljm.js', server.url), { method: 'POST', body: 'x' })).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses a bundle path that does not exist, with a typed error', async () => {
    await expect(startPageServer({ name: 'missing', path: '/nonexistent/ljm.js' })).rejects.toBeInstanceOf(LjmBundleError);
    expect(upstreamBundle({})).toBeUndefined();
    expect(upstreamBundle({ LJM_BUNDLE: '' })).toBeUndefined();
    expect(upstreamBundle({ LJM_BUNDLE: '/x/ljm.js' })).toEqual({ name: 'LJM_BUNDLE', path: '/x/ljm.js' });
  });
});

for (const variant of variants) {
  describe.skipIf(variant.bundle === undefined)(`${variant.name} against Prosody alone`, { timeout: 120_000 }, () => {
    let prosody: ProsodyHandle;
    let browser: Browser;
    let server: PageServer;
    const clients: LegacyClient[] = [];

    beforeAll(async () => {
      if (variant.bundle === undefined) return;
      [prosody, browser, server] = await Promise.all([
        startProsody({ domain: 'meet.localhost' }),
        launchChromium(),
        startPageServer(variant.bundle),
      ]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.allSettled([browser?.close(), server?.close(), prosody?.stop()]);
    }, 30_000);

    const options = (room: string, name: string): LjmStartOptions => ({
      serviceUrl: `ws://127.0.0.1:${String(prosody.ports.http)}/xmpp-websocket`,
      hosts: { domain: prosody.hosts.domain, muc: prosody.hosts.conference, focus: prosody.hosts.focus },
      room,
      token: null,
      displayName: name,
      disableFocus: true,
      resolution: 180,
      ssrcRewriting: false,
      statsIntervalMs: 200,
    });

    it('two clients connect (WebSocket and BOSH) with fake tracks, join one MUC and see each other', async () => {
      const [a, b] = await Promise.all([LegacyClient.open(browser, server.url, 'A'), LegacyClient.open(browser, server.url, 'B')]);
      clients.push(a, b);
      const started = await a.start(options('harness', 'A'));
      expect(started.failures).toEqual([]);
      expect(started.localTracks.map((t) => t.type).sort()).toEqual(['audio', 'video']);
      const sa = await a.waitJoined();
      // B over BOSH (§1.1: any serviceUrl that is not ws:/wss:), cross-origin from the page server.
      await b.start({ ...options('harness', 'B'), serviceUrl: `http://127.0.0.1:${String(prosody.ports.http)}/http-bind` });
      const sb = await b.waitJoined();
      expect(sa.myId).toMatch(/^[0-9a-f]{8}$/);
      expect(sb.myId).not.toBe(sa.myId);
      const seen = await waitFor(
        'A and B see each other',
        async () => [await a.snapshot(), await b.snapshot()] as const,
        ([x, y]) => x.participants.includes(String(sb.myId)) && y.participants.includes(String(sa.myId)),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(seen[0].events.some((e) => e.what === 'user-joined' && e.detail === sb.myId)).toBe(true);
      // No focus: no Jingle, no remote tracks, and no IQ errors from the harness itself.
      expect(seen[0].remoteTracks).toEqual([]);
      expect(seen[0].iqErrors).toEqual([]);
      expect(seen[0].stanzaCount).toBeGreaterThan(5);

      await b.leave();
      await waitFor('A sees B leave', () => a.snapshot(), (s) => s.events.some((e) => e.what === 'user-left' && e.detail === sb.myId), {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
    });

    it('a dead service URL ends in CONNECTION_FAILED, not a hang', async () => {
      const c = await LegacyClient.open(browser, server.url, 'dead');
      clients.push(c);
      // A port nothing listens on: connect is refused at once; ljm/Strophe retry, then fail.
      const dead = { ...options('harness', 'dead'), serviceUrl: `ws://127.0.0.1:${String(prosody.ports.http)}/no-such-path` };
      await c.start(dead);
      const s = await waitFor('CONNECTION_FAILED', () => c.snapshot(), (x) => x.phase === 'failed', { timeoutMs: 60_000, intervalMs: 200 });
      expect(s.failures.join(' ')).toMatch(/connection-failed/);
    });
  });
}
