// The static page server of the legacy-client harness (jitsi-client-protocol.md §9.2 "a small static
// HTTP server that serves the test page and the lib-jitsi-meet bundle"): loopback, a free port,
// three fixed paths, nothing read from the request but its path.

import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/** A lib-jitsi-meet UMD bundle (sets `window.JitsiMeetJS`). */
export interface LjmBundle {
  /** Short label for test names and logs. */
  readonly name: string;
  readonly path: string;
}

export class LjmBundleError extends Error {
  override name = 'LjmBundleError';
}

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** npm `@lyno/lib-jitsi-meet` 2.6726.2 (upstream of ~2021-12, §9.1, §10): the legacy client. */
export function lynoBundle(): LjmBundle {
  return { name: '@lyno/lib-jitsi-meet', path: join(packageDir('@lyno/lib-jitsi-meet'), 'lib-jitsi-meet.min.js') };
}

/**
 * An upstream bundle supplied by path in `LJM_BUNDLE` (§9.1: never committed, tests skip without it).
 * undefined when the variable is unset or empty.
 */
export function upstreamBundle(env: NodeJS.ProcessEnv = process.env): LjmBundle | undefined {
  const path = env['LJM_BUNDLE'];
  if (path === undefined || path === '') return undefined;
  return { name: 'LJM_BUNDLE', path };
}

/** jQuery 3.6.0, the version the 2021 bundle was built against; it reads `window.jquery`. */
export function jqueryPath(): string {
  return join(packageDir('jquery'), 'dist', 'jquery.min.js');
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>hummingbird legacy client</title>
<script src="/jquery.js"></script>
<script>window.jquery = window.jQuery;</script>
<script src="/ljm.js"></script>
`;

export interface PageServer {
  /** http://127.0.0.1:<port>/ : a secure context, so getUserMedia works (§9.2). */
  readonly url: string;
  readonly bundle: LjmBundle;
  close(): Promise<void>;
}

/** Serves `/` (the page), `/jquery.js` and `/ljm.js` (the bundle). Throws LjmBundleError for a missing bundle. */
export async function startPageServer(bundle: LjmBundle): Promise<PageServer> {
  const info = await stat(bundle.path).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw new LjmBundleError(`lib-jitsi-meet bundle ${bundle.name} not found at ${bundle.path}`);
  const files = new Map<string, { type: string; body: Buffer | string }>([
    ['/', { type: 'text/html; charset=utf-8', body: PAGE }],
    ['/jquery.js', { type: 'text/javascript; charset=utf-8', body: await readFile(jqueryPath()) }],
    ['/ljm.js', { type: 'text/javascript; charset=utf-8', body: await readFile(bundle.path) }],
  ]);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = req.method === 'GET' ? files.get(path) : undefined;
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    res.end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/`,
    bundle,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
