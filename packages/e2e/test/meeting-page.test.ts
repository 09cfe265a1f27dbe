// The meeting page (issue 8 deliverable 2) on a stack from startStack({ standardPorts: false }): three people on the
// page see three tiles with moving video (screenshot saved as a CI artifact under <repo>/.hb/artifacts/), muting
// the camera shows on the others' pages (from the presence's SourceInfo), a screen share appears as a tile on the
// others' pages, and the legacy switch (`?client=legacy`, @lyno/lib-jitsi-meet) holds a call too.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';

import { ARTIFACTS, recordFirstFrame } from './support/first-frame.js';
import { expectFramesAdvancing, waitTilesPlaying, type PageUser } from './support/meeting-page.js';
import { useTestbed } from './support/testbed.js';

const SCREENSHOT = `${ARTIFACTS}meeting-3-participants.png`;

describe('the meeting page', () => {
  const bed = useTestbed({ room: 'page', client: false });
  const open = (label: string, query = ''): Promise<PageUser> => bed().openPage(label, query);
  let ada: PageUser;
  let bob: PageUser;
  let cyd: PageUser;

  it('three people join the same room: every page shows three named tiles with moving video; a screenshot is kept', async () => {
    const { stack, room } = bed();
    expect(stack.pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    [ada, bob, cyd] = await Promise.all([open('Ada'), open('Bob'), open('Cyd')]);
    const started = Date.now();
    await Promise.all([ada.join({ room, name: 'Ada' }), bob.join({ room, name: 'Bob' }), cyd.join({ room, name: 'Cyd' })]);
    const firstVideo: number[] = [];
    await Promise.all([ada, bob, cyd].map(async (u) => {
      const s = await waitTilesPlaying(u, 3, 60_000);
      firstVideo.push(Date.now() - started);
      expect(s.client).toBe('hummingbird');
      expect(s.tiles.filter((t) => t.self)).toHaveLength(1);
      expect(s.tiles.map((t) => t.name).sort()).toEqual(['Ada', 'Bob', 'Cyd'].map((n) => (n === u.label ? `${n} (you)` : n)).sort());
    }));
    for (const u of [ada, bob, cyd]) {
      const frames = await expectFramesAdvancing(u);
      for (const [key, f] of Object.entries(frames)) expect(f.frames, `${u.label} tile ${key} presents frames`).toBeGreaterThanOrEqual(2);
    }
    firstVideo.sort((a, b) => a - b);
    console.log(`[meeting page] 3 participants: join click → all 3 tiles playing, per page: ${firstVideo.join(', ')} ms (p50 ${String(firstVideo[1])} ms)`);
    recordFirstFrame(import.meta.url, 'meeting page: 3 participants', 'meeting page', firstVideo, 'join click → all tiles playing');

    await mkdir(ARTIFACTS, { recursive: true });
    await rm(SCREENSHOT, { force: true });
    await ada.page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature').toBe(true);
    expect(png.length).toBeGreaterThan(10_000);
    console.log(`[meeting page] screenshot ${SCREENSHOT} (${String(png.length)} bytes)`);
    for (const u of [ada, bob, cyd]) expect(u.pageErrors, `${u.label} page errors`).toEqual([]);
  }, 180_000);

  it('muting the camera and the microphone on one page shows on the others (SourceInfo in presence), and unmuting too', async () => {
    const tileOf = async (u: PageUser, name: string) => (await u.state()).tiles.find((t) => t.name === name);
    await ada.page.click('#mute-video');
    await ada.page.click('#mute-audio');
    for (const u of [bob, cyd]) {
      await waitFor(`${u.label} sees Ada muted`, () => tileOf(u, 'Ada'), (t) => t?.videoMuted === true && t.audioMuted, { timeoutMs: 15_000, intervalMs: 200 });
      expect(await u.page.locator('figure.video-muted figcaption').allTextContents()).toEqual(['Ada · mic off']);
    }
    expect((await tileOf(ada, 'Ada (you)'))?.videoMuted).toBe(true);
    expect((await tileOf(bob, 'Cyd'))?.videoMuted).toBe(false);
    await ada.page.click('#mute-video');
    await ada.page.click('#mute-audio');
    for (const u of [bob, cyd]) {
      await waitFor(`${u.label} sees Ada unmuted`, () => tileOf(u, 'Ada'), (t) => t?.videoMuted === false && !t.audioMuted, { timeoutMs: 15_000, intervalMs: 200 });
    }
    await expectFramesAdvancing(bob);
  }, 60_000);

  it('a screen share shows as one more tile on every page, and goes away when stopped', async () => {
    await bob.page.click('#share');
    const shared = await waitFor('Bob shares', () => bob.state(), (s) => s.tiles.some((t) => t.self && t.screen) && s.screenShare !== undefined, { timeoutMs: 15_000, intervalMs: 200 });
    // Headless Chromium with --use-fake-ui-for-media-stream picks a fake screen for getDisplayMedia.
    console.log(`[meeting page] screen share by ${shared.screenShare ?? '?'}`);
    expect(shared.screenShare).toBe('display');
    for (const u of [ada, cyd]) {
      const s = await waitTilesPlaying(u, 4, 30_000);
      expect(s.tiles.find((t) => t.screen)?.name).toBe('Bob (screen)');
    }
    expect(await bob.page.textContent('#share')).toBe('Stop sharing');
    await bob.page.click('#share');
    for (const u of [ada, cyd]) {
      await waitFor(`${u.label}: Bob's screen tile goes`, () => u.state(), (s) => s.tiles.length === 3 && !s.tiles.some((t) => t.screen), { timeoutMs: 20_000, intervalMs: 200 });
    }
  }, 90_000);

  it('leave: the others drop the tile', async () => {
    await cyd.page.click('#leave');
    await waitFor('Cyd is back at the form', () => cyd.page.isVisible('#join'), (v) => v, { timeoutMs: 10_000, intervalMs: 100 });
    for (const u of [ada, bob]) await waitFor(`${u.label} shows 2 tiles`, () => u.state(), (s) => s.tiles.length === 2, { timeoutMs: 20_000, intervalMs: 200 });
  }, 60_000);

  it('the legacy switch (?client=legacy): two @lyno/lib-jitsi-meet pages join and see each other\'s video', async () => {
    const legacyRoom = `${bed().room}-legacy`;
    const [lee, max] = await Promise.all([open('Lee', '?client=legacy'), open('Max', '?client=legacy')]);
    expect(await lee.page.isChecked('#legacy')).toBe(true);
    await Promise.all([lee.join({ room: legacyRoom, name: 'Lee' }), max.join({ room: legacyRoom, name: 'Max' })]);
    for (const u of [lee, max]) {
      const s = await waitTilesPlaying(u, 2, 60_000);
      expect(s.client).toBe('legacy');
      expect(s.tiles.map((t) => t.name).sort()).toEqual([u.label === 'Lee' ? 'Lee (you)' : 'Lee', u.label === 'Max' ? 'Max (you)' : 'Max'].sort());
      await expectFramesAdvancing(u);
    }
    await lee.page.screenshot({ path: `${ARTIFACTS}meeting-legacy-2-participants.png`, fullPage: true });
  }, 120_000);
});
