// The meeting page's HTTP server (node:http, loopback by default): the page, its bundle (built in memory by
// esbuild from page/app.ts, with the Hummingbird client in it), the legacy `@lyno/lib-jitsi-meet` bundle and
// jQuery 3.6.0 for the legacy switch, and `/config.json` with the stack facts the page needs. A fixed set of
// paths, GET/HEAD only; nothing from the request but its path is read. Node only: no DOM types here, so that
// @hummingbird/stack can import it.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleClient, bundleForBrowser } from './bundle.js';

/** The stack facts the page joins with (served as /config.json). */
export interface MeetingPageConfig {
  /** ws://…/xmpp-websocket */
  websocketUrl: string;
  /** The client host (anonymous, or JWT login). */
  domain: string;
  /** The conference MUC host. */
  muc: string;
  /** The focus component host. */
  focus: string;
  /** The anonymous guest host of a token stack: the page logs in there when no JWT is given. */
  guest?: string;
}

export interface StartMeetingPageOptions extends MeetingPageConfig {
  /** Default 127.0.0.1. Browsers allow the camera only in a secure context: http is fine on loopback only. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
}

export interface MeetingPage {
  /** http://<host>:<port>/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const PAGE_DIR = fileURLToPath(new URL('../page/', import.meta.url));
const require = createRequire(import.meta.url);

function packageFile(name: string, file: string): string {
  return join(dirname(require.resolve(`${name}/package.json`)), file);
}

/** The page script: page/app.ts and the client, one IIFE. */
export function bundlePage(options: { minify?: boolean } = {}): Promise<string> {
  return bundleForBrowser(join(PAGE_DIR, 'app.ts'), options);
}

const HOST_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** Checks the config; throws a TypeError naming the bad field. */
export function meetingPageConfig(options: MeetingPageConfig): MeetingPageConfig {
  let ws: URL;
  try {
    ws = new URL(options.websocketUrl);
  } catch {
    throw new TypeError(`websocketUrl: not a URL: ${options.websocketUrl}`);
  }
  if (ws.protocol !== 'ws:' && ws.protocol !== 'wss:') throw new TypeError(`websocketUrl: must be ws: or wss:, got ${ws.protocol}`);
  for (const key of ['domain', 'muc', 'focus'] as const) {
    if (!HOST_RE.test(options[key])) throw new TypeError(`${key}: not a host name: ${options[key]}`);
  }
  if (options.guest !== undefined && !HOST_RE.test(options.guest)) throw new TypeError(`guest: not a host name: ${options.guest}`);
  return {
    websocketUrl: ws.href,
    domain: options.domain,
    muc: options.muc,
    focus: options.focus,
    ...(options.guest !== undefined ? { guest: options.guest } : {}),
  };
}

/** Starts the page server; resolves once it listens. Rejects (e.g. EADDRINUSE) without leaving anything open. */
export async function startMeetingPage(options: StartMeetingPageOptions): Promise<MeetingPage> {
  const config = meetingPageConfig(options);
  const js = 'text/javascript; charset=utf-8';
  const [html, css, page, client, jquery, ljm] = await Promise.all([
    readFile(join(PAGE_DIR, 'index.html')),
    readFile(join(PAGE_DIR, 'style.css')),
    bundlePage(),
    bundleClient(),
    readFile(packageFile('jquery', 'dist/jquery.min.js')),
    readFile(packageFile('@lyno/lib-jitsi-meet', 'lib-jitsi-meet.min.js')),
  ]);
  const files = new Map<string, { type: string; body: Buffer | string }>([
    ['/', { type: 'text/html; charset=utf-8', body: html }],
    ['/index.html', { type: 'text/html; charset=utf-8', body: html }],
    ['/style.css', { type: 'text/css; charset=utf-8', body: css }],
    ['/page.js', { type: js, body: page }],
    ['/hummingbird-client.js', { type: js, body: client }],
    ['/legacy/jquery.js', { type: js, body: jquery }],
    ['/legacy/lib-jitsi-meet.js', { type: js, body: ljm }],
    ['/config.json', { type: 'application/json', body: `${JSON.stringify(config)}\n` }],
  ]);
  const server: Server = createServer((req, res) => {
    const headers = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-store' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://page.invalid').pathname;
    } catch {
      path = '';
    }
    const file = files.get(path);
    if (!file) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': file.type });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${String(port)}/`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
