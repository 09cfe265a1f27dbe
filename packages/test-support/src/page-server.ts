// A page for the browser tests to open. getUserMedia needs a secure context: about:blank is not one (measured:
// `isSecureContext === false`, no navigator.mediaDevices), http://127.0.0.1 is.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  close(): Promise<void>;
}

export interface PageServerOptions {
  title?: string;
  /** Script bodies by path (`/client.js` → its source): served as JavaScript and loaded by the page in this order. */
  scripts?: Readonly<Record<string, string>>;
}

/** Serves an empty page that loads `scripts`, on 127.0.0.1 and a free port; any other path gets the page. */
export async function startPageServer(options: PageServerOptions = {}): Promise<PageServer> {
  const scripts = options.scripts ?? {};
  const tags = Object.keys(scripts)
    .map((path) => `<script src="${path}"></script>`)
    .join('');
  const server: Server = createServer((req, res) => {
    const script = req.url !== undefined && Object.hasOwn(scripts, req.url) ? scripts[req.url] : undefined;
    if (script !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(script);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><meta charset="utf-8"><title>${options.title ?? 'hummingbird test'}</title>${tags}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
