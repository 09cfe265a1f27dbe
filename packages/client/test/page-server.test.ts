// The meeting page server on its own (no stack, no browser): what it serves, what it refuses, bad config.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingPageConfig, startMeetingPage, type MeetingPage } from '../src/page-server.js';

const config = { websocketUrl: 'ws://127.0.0.1:5280/xmpp-websocket', domain: 'meet.localhost', muc: 'conference.meet.localhost', focus: 'focus.meet.localhost' };

describe('startMeetingPage', () => {
  let page: MeetingPage;
  beforeAll(async () => {
    page = await startMeetingPage({ ...config, guest: 'guest.meet.localhost' });
  });
  afterAll(async () => {
    await page.close();
  });

  it('listens on loopback and serves the page, its bundle, the legacy bundle and the config', async () => {
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const html = await fetch(page.url);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await html.text();
    expect(body).toContain('<script src="/page.js"></script>');
    expect(body).toContain('id="legacy"');
    const js = await (await fetch(new URL('/page.js', page.url))).text();
    expect(js).toContain('hbPage');
    expect(js).toContain('session-accept'); // the Hummingbird client is bundled in
    expect((await (await fetch(new URL('/hummingbird-client.js', page.url))).text())).toContain('Hummingbird');
    expect((await (await fetch(new URL('/legacy/lib-jitsi-meet.js', page.url))).text())).toContain('JitsiMeetJS');
    expect((await (await fetch(new URL('/legacy/jquery.js', page.url))).text())).toContain('jQuery v3.6.0');
    expect((await (await fetch(new URL('/style.css', page.url))).text())).toContain('.tile');
    expect(await (await fetch(new URL('/config.json', page.url))).json()).toEqual({ ...config, guest: 'guest.meet.localhost' });
  });

  it('answers 404 for anything else, 405 for other methods, and never reads files by path', async () => {
    for (const path of ['/../package.json', '/page/app.ts', '/%2e%2e/src/page-server.ts', '/legacy/', '/config.json/x']) {
      expect((await fetch(new URL(path, page.url))).status, path).toBe(404);
    }
    const post = await fetch(page.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(page.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('close() is idempotent and frees the port', async () => {
    const other = await startMeetingPage(config);
    await Promise.all([other.close(), other.close()]);
    await expect(fetch(other.url)).rejects.toThrow();
  });

  it('rejects a port in use without leaving a server behind', async () => {
    await expect(startMeetingPage({ ...config, port: page.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('meetingPageConfig', () => {
  it('refuses hostile or broken values with the field named', () => {
    expect(() => meetingPageConfig({ ...config, websocketUrl: 'javascript:alert(1)' })).toThrow(/websocketUrl/);
    expect(() => meetingPageConfig({ ...config, websocketUrl: 'not a url' })).toThrow(/websocketUrl/);
    expect(() => meetingPageConfig({ ...config, domain: 'meet.localhost"><script>' })).toThrow(/domain/);
    expect(() => meetingPageConfig({ ...config, muc: '' })).toThrow(/muc/);
    expect(() => meetingPageConfig({ ...config, focus: 'a b' })).toThrow(/focus/);
    expect(() => meetingPageConfig({ ...config, guest: '-guest' })).toThrow(/guest/);
    expect(meetingPageConfig(config)).toEqual(config);
  });
});
