import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProsody, luaString, type ProsodyHandle } from '@hummingbird/stack';
import { client, type Client, type Element } from '@xmpp/client';
import { WebSocket } from 'ws';
import { start, type TokenService } from '../../src/index.js';
import { capturingLogger, keyEnv, makeKeys, testConfig, type TestKeys } from './keys.js';

// prosody.md §3.3: @xmpp/websocket uses the global WebSocket, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

export const PLUGINS = fileURLToPath(new URL('../../../../infra/prosody/plugins', import.meta.url));
export const GUEST_HOST = 'guest.meet.test';

/**
 * A proxy in front of the token API that holds every request for `delayMs` before passing it on:
 * a slow token service as Prosody sees it, without a test hook in the service. Emits `request`
 * when a request arrives (so a test knows a verify is pending).
 */
export class SlowProxy extends EventEmitter {
  readonly #server: Server;
  readonly #abort = new AbortController();
  constructor(target: string, delayMs: number) {
    super();
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.emit('request');
        void (async () => {
          await sleep(delayMs, undefined, { signal: this.#abort.signal });
          const upstream = await fetch(`${target}${req.url ?? '/'}`, {
            method: req.method ?? 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? 'application/json', authorization: req.headers.authorization ?? '' },
            body: Buffer.concat(chunks),
          });
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
          res.end(await upstream.text());
        })().catch(() => res.destroy());
      });
    });
  }
  async listen(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.#abort.abort();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface TokenStack {
  keys: TestKeys;
  token: TokenService;
  prosody: ProsodyHandle;
  /** Every JSON line the token service logged. */
  logLines: string[];
  proxy: SlowProxy | undefined;
  close(): Promise<void>;
}

/** The token service in-process, and a real Prosody whose token host uses the Hummingbird plugin. */
export async function startTokenStack(options: { verifyDelayMs?: number; pluginTimeoutSeconds?: number } = {}): Promise<TokenStack> {
  const keys = makeKeys();
  const { logger, lines } = capturingLogger();
  // 4 KiB: an oversized token must still fit Prosody's pre-auth stanza limit (≈ 10 kB) to reach us.
  const token = await start(testConfig({ jwt: { maxTokenBytes: 4096 } }), logger, keyEnv(keys));
  let proxy: SlowProxy | undefined;
  let base = token.apiAddress;
  if (options.verifyDelayMs !== undefined) {
    proxy = new SlowProxy(token.apiAddress, options.verifyDelayMs);
    base = await proxy.listen();
  }
  // The documented production path: the API key in a file Prosody reads, not inline in its config.
  const secrets = await mkdtemp(join(tmpdir(), 'hb-token-test-'));
  const apiKeyFile = join(secrets, 'prosody.key');
  await writeFile(apiKeyFile, `${keys.apiKey}\n`, { mode: 0o600 });
  let prosody: ProsodyHandle;
  try {
    prosody = await startProsody({
      pluginPaths: [PLUGINS],
      // Debug level on purpose: the tests assert that not even Prosody's debug log contains a token.
      logLevel: 'debug',
      meetAuth: 'hummingbird_token',
      turnSecret: keys.turnSecret,
      meetExtra: [
        `  hummingbird_token_verify_url = ${luaString(`${base}/v1/verify`)}`,
        `  hummingbird_token_api_key_file = ${luaString(apiKeyFile)}`,
        ...(options.pluginTimeoutSeconds === undefined ? [] : [`  hummingbird_token_timeout = ${String(options.pluginTimeoutSeconds)}`]),
        // The guest host of seed 003: anonymous, sharing the MUCs; it strips forged claims.
        `VirtualHost ${luaString(GUEST_HOST)}`,
        '  authentication = "anonymous"',
        '  modules_enabled = { "hummingbird_claims_strip" }',
      ].join('\n'),
    });
  } catch (error) {
    await proxy?.close();
    await token.close();
    await rm(secrets, { recursive: true, force: true });
    throw error;
  }
  return {
    keys,
    token,
    prosody,
    logLines: lines,
    proxy,
    async close() {
      await stopClients();
      await prosody.stop();
      await proxy?.close();
      await token.close();
      await rm(secrets, { recursive: true, force: true });
    },
  };
}

const clients = new Set<Client>();

export async function stopClients(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(
    all.map(async (c) => {
      c.reconnect.stop();
      await c.stop().catch(() => undefined);
    }),
  );
}

/** Starts an xmpp.js client; rejects with the SASL error when login fails (no background retries). */
export async function login(options: Parameters<typeof client>[0]): Promise<Client> {
  const xmpp = client({ timeout: 20_000, ...options });
  clients.add(xmpp);
  xmpp.on('error', () => undefined);
  try {
    await xmpp.start();
  } catch (error) {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => undefined);
    clients.delete(xmpp);
    throw error;
  }
  return xmpp;
}

/** SASL PLAIN with the JWT as password over plain TCP on loopback (prosody.md §3.4 item 4). */
export function plainLogin(stack: TokenStack, username: string, jwt: string): Promise<Client> {
  return login({
    service: `xmpp://127.0.0.1:${stack.prosody.ports.c2s}`,
    domain: stack.prosody.domain,
    credentials: (authenticate) => authenticate({ username, password: jwt }, 'PLAIN'),
  });
}

/** lib-jitsi-meet's way: `?token=` on the WebSocket URL, then SASL ANONYMOUS. */
export function urlTokenLogin(stack: TokenStack, jwt: string): Promise<Client> {
  return login({
    service: `ws://127.0.0.1:${stack.prosody.ports.http}/xmpp-websocket?room=r&token=${encodeURIComponent(jwt)}`,
    domain: stack.prosody.domain,
  });
}

export function guestLogin(stack: TokenStack): Promise<Client> {
  return login({ service: `xmpp://127.0.0.1:${stack.prosody.ports.c2s}`, domain: GUEST_HOST });
}

/** Resolves with the first stanza matching `predicate`. */
export function nextStanza(entity: Client, predicate: (stanza: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      entity.off('stanza', listener);
      reject(new Error(`no matching stanza within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    const listener = (stanza: Element): void => {
      if (predicate(stanza)) {
        clearTimeout(timer);
        entity.off('stanza', listener);
        resolve(stanza);
      }
    };
    entity.on('stanza', listener);
  });
}
