// Driving the meeting page (@hummingbird/client page/) the way a person does: fill the form, click Join, click
// the buttons; read what is on screen through `window.hbPage.state()` and the <video> elements themselves.
import type { PageState } from '@hummingbird/client';
import { waitFor } from '@hummingbird/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export type { PageState };

interface PageWindow {
  hbPage: { state(): PageState };
}

export interface JoinPageOptions {
  room: string;
  name: string;
  token?: string;
  /** Tick the legacy switch (the same as opening the page with `?client=legacy`). */
  legacy?: boolean;
}

/** One person in front of the meeting page: a browser context (profile) and a tab. */
export class PageUser {
  readonly pageErrors: string[] = [];
  readonly console: string[] = [];

  private constructor(
    readonly label: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && this.console.length < 50) this.console.push(m.text());
    });
  }

  static async open(browser: Browser, url: string, label: string): Promise<PageUser> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const user = new PageUser(label, context, page);
    await page.goto(url, { timeout: 20_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    return user;
  }

  /** Fills the form and clicks Join; resolves once the page shows the controls (joined), throws with the page's error. */
  async join(o: JoinPageOptions, timeoutMs = 45_000): Promise<void> {
    await this.page.fill('#room', o.room);
    await this.page.fill('#name', o.name);
    if (o.token !== undefined) await this.page.fill('#token', o.token);
    if (o.legacy !== undefined) await this.page.setChecked('#legacy', o.legacy);
    await this.page.click('#join-button');
    const outcome = await this.page.waitForFunction(
      () => {
        const error = document.getElementById('error');
        if (error && !error.hidden) return `error: ${error.textContent ?? ''}`;
        return document.getElementById('controls')?.hidden === false ? 'joined' : false;
      },
      undefined,
      { timeout: timeoutMs, polling: 100 },
    );
    const result = await outcome.jsonValue();
    if (result !== 'joined') throw new Error(`${this.label}: ${String(result)} (page errors: ${this.pageErrors.join(' | ')})`);
  }

  state(): Promise<PageState> {
    return this.page.evaluate(() => (window as unknown as PageWindow).hbPage.state());
  }

  /**
   * For every tile: does its <video> present new frames? Counts `requestVideoFrameCallback` callbacks for
   * `windowMs` (a frozen or black-holed video gets none).
   */
  framesPresented(windowMs = 1_500): Promise<Record<string, { frames: number; width: number; height: number }>> {
    return this.page.evaluate(async (ms) => {
      const out: Record<string, { frames: number; width: number; height: number }> = {};
      const figures = Array.from(document.querySelectorAll<HTMLElement>('#tiles figure'));
      await Promise.all(
        figures.map(
          (fig) =>
            new Promise<void>((resolve) => {
              const video = fig.querySelector('video');
              const key = fig.dataset['key'] ?? '?';
              const entry = { frames: 0, width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0 };
              out[key] = entry;
              if (!video) return resolve();
              let done = false;
              const tick = (): void => {
                if (done) return;
                entry.frames++;
                video.requestVideoFrameCallback(tick);
              };
              video.requestVideoFrameCallback(tick);
              setTimeout(() => {
                done = true;
                entry.width = video.videoWidth;
                entry.height = video.videoHeight;
                resolve();
              }, ms);
            }),
        ),
      );
      return out;
    }, windowMs);
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}

/** Waits until `user` shows `count` tiles, each with a decoded picture (videoWidth > 0), and returns the state. */
export async function waitTilesPlaying(user: PageUser, count: number, timeoutMs = 45_000): Promise<PageState> {
  return waitFor(
    `${user.label} shows ${count} tiles with video`,
    () => user.state(),
    (s) => s.tiles.length === count && s.tiles.every((t) => t.videoWidth > 0 && t.frames > 0),
    { timeoutMs, intervalMs: 250, describe: (s) => JSON.stringify(s.tiles) + (s.error ? ` error=${s.error}` : '') },
  );
}

/** Every tile of `user` presents new frames (requestVideoFrameCallback) and has a picture; returns the counts. */
export async function expectFramesAdvancing(user: PageUser, timeoutMs = 20_000): Promise<Record<string, { frames: number; width: number; height: number }>> {
  return waitFor(
    `${user.label}: every tile's video advances`,
    () => user.framesPresented(),
    (r) => Object.keys(r).length > 0 && Object.values(r).every((t) => t.frames >= 2 && t.width > 0),
    { timeoutMs, intervalMs: 0 },
  );
}
