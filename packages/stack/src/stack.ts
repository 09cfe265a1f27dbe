// The one launcher for the whole stack, used by `npm start` (src/cli.ts) and by the cross-component tests
// (ARCHITECTURE.md: one launcher, not two). Prosody in the Jitsi layout, then the four Hummingbird apps as child
// processes, all from one generated configuration: one TURN secret for Prosody's XEP-0215, apps/turn and
// apps/token; the bridge account; the focus component secret; the token plugin when `auth: 'token'`.
import { createHmac, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { MeetingPage } from '@hummingbird/client/page-server';
import { spawnApp, type AppName, type LogSink, type StackApp } from './apps.js';
import { ProsodyStartError, StackAppError } from './errors.js';
import { freePort, freePorts, freeUdpTcpPort } from './free-port.js';
import { luaString, type ProsodyPorts } from './prosody-config.js';
import { startProsody, type ProsodyHandle, type StartProsodyOptions } from './prosody.js';

export type { AppName, AppExit, LogSink, StackApp } from './apps.js';

export interface StartStackOptions {
  /** Base domain. Default `meet.localhost` (resolves to loopback without /etc/hosts changes). */
  domain?: string;
  /** Prefer XMPP's usual ports (5222 c2s, 5347 component, 5280 HTTP) when they are free. Default true; tests pass false. */
  standardPorts?: boolean;
  /**
   * `none` (default): anonymous client host, the first participant becomes moderator. `token`: the client host
   * needs a JWT (SASL PLAIN, or `?token=` on BOSH/WebSocket) checked by apps/token through Prosody's plugin, and
   * `guest.<domain>` is an anonymous guest host (docs/jwt.md).
   */
  auth?: 'none' | 'token';
  /** How many bridges join the brewery. Default 1. */
  bridges?: number;
  /** Start apps/turn (and advertise it over XEP-0215). Default true. */
  turn?: boolean;
  /** Start apps/focus. Default true. */
  focus?: boolean;
  /** Where the apps' log lines go: `prefix` (default: stdout, `[focus] …`), `quiet`, or a function. */
  logs?: 'prefix' | 'quiet' | LogSink;
  /** Extra `HB_<APP>_*` environment per app, e.g. `{ focus: { HB_FOCUS_BRIDGE__COLIBRI_TIMEOUT_MS: '2000' } }`. */
  env?: Partial<Record<AppName, Record<string, string>>>;
  /**
   * App configuration merged over what the launcher generates (same keys as each app's config.sample.yaml),
   * e.g. `{ bridge: { media: { announcedAddress: '203.0.113.7', udpPort: 10000 } } }`. Objects merge key by key;
   * arrays and values replace. The apps validate the result and refuse a bad key with its name.
   */
  apps?: Partial<Record<AppName, Record<string, unknown>>>;
  /** Passed through to the Prosody harness (log echo, smacks, …). */
  prosody?: Omit<StartProsodyOptions, 'domain' | 'ports'>;
  /** How long each app may take to become healthy. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Serve the meeting page (@hummingbird/client: join a room in a browser). Default true. On 127.0.0.1, port
   * 8000 with `standardPorts` when it is free, else a free port.
   */
  page?: boolean;
}

export interface StackBridge extends StackApp {
  /** The bridge id: its brewery nickname and the server id in its colibri-ws URLs. */
  readonly id: string;
  /** `ws://127.0.0.1:<port>`: the colibri-ws server. */
  readonly colibriWsUrl: string;
}

export interface StackToken extends StackApp {
  /** `http://127.0.0.1:<port>`: `/v1/tokens`, `/v1/verify`, `/v1/turn-credentials`, JWKS. */
  readonly apiUrl: string;
  /** POSTs `body` to `/v1/tokens` with the stack's issuing API key and returns the JWT. */
  mint(body: Record<string, unknown>): Promise<string>;
}

export interface StackTurn extends StackApp {
  /** `turn:127.0.0.1:<port>?transport=udp`, `…tcp`, and `turns:` when a certificate could be made. */
  readonly uris: string[];
  /** TURN REST credentials (`expiry:user`, base64 HMAC-SHA1), as apps/token and Prosody mint them. */
  credentials(user: string, ttlSeconds?: number): { username: string; credential: string };
}

export interface StackHosts {
  /** `<d>`: the client host (anonymous, or token login with `auth: 'token'`). */
  readonly domain: string;
  /** `guest.<d>` with `auth: 'token'`: anonymous guests. */
  readonly guest?: string;
  readonly auth: string;
  readonly conference: string;
  readonly internal: string;
  readonly focus: string;
}

export interface Stack {
  readonly domain: string;
  readonly prosody: ProsodyHandle;
  readonly hosts: StackHosts;
  /** What a client dials: `ws://127.0.0.1:<p>/xmpp-websocket` and `http://127.0.0.1:<p>/http-bind`. */
  readonly urls: { readonly websocket: string; readonly bosh: string };
  readonly token?: StackToken;
  readonly turn?: StackTurn;
  /** The running bridges, in start order (a killed one stays listed; see its `exited`). */
  readonly bridges: readonly StackBridge[];
  readonly focus?: StackApp;
  /** `http://127.0.0.1:<port>/`: the meeting page, unless started with `page: false`. */
  readonly pageUrl?: string;
  /** One more bridge in the brewery. */
  startBridge(): Promise<StackBridge>;
  /** Human-readable lines: what runs where. Secrets are not included. */
  describe(): string[];
  /** Stops everything, in reverse start order. Idempotent. */
  stop(): Promise<void>;
}

const STANDARD_PORTS: ProsodyPorts = { c2s: 5222, component: 5347, http: 5280 };
const STANDARD_PAGE_PORT = 8000;
const PLUGINS = fileURLToPath(new URL('../../../infra/prosody/plugins', import.meta.url));
const run = promisify(execFile);

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function pickPorts(standard: boolean): Promise<ProsodyPorts> {
  const pick = async (port: number): Promise<number> => (standard && (await isFree(port)) ? port : freePort());
  return { c2s: await pick(STANDARD_PORTS.c2s), component: await pick(STANDARD_PORTS.component), http: await pick(STANDARD_PORTS.http) };
}

function sinkOf(logs: StartStackOptions['logs']): LogSink {
  if (typeof logs === 'function') return logs;
  if (logs === 'quiet') return () => undefined;
  return (app, line) => console.log(`[${app}] ${line}`);
}

async function secretFile(dir: string, name: string, value: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${value}\n`, { mode: 0o600 });
  return path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `over` merged into `base`: objects key by key, anything else replaces. Neither input is modified. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  if (over === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

async function configFile(dir: string, name: string, config: Record<string, unknown>, over?: Record<string, unknown>): Promise<string> {
  const path = join(dir, `${name}.json`);
  await writeFile(path, `${JSON.stringify(mergeConfig(config, over), null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** A self-signed certificate for the TURN TLS listener; undefined (no `turns:`) when openssl is missing. */
async function selfSigned(dir: string, domain: string): Promise<{ certFile: string; keyFile: string } | undefined> {
  const certFile = join(dir, 'turn-cert.pem');
  const keyFile = join(dir, 'turn-key.pem');
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
      '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${domain}`, '-addext', `subjectAltName=DNS:${domain},IP:127.0.0.1`,
    ]);
    return { certFile, keyFile };
  } catch {
    return undefined;
  }
}

export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const domain = options.domain ?? 'meet.localhost';
  const auth = options.auth ?? 'none';
  const log = sinkOf(options.logs);
  const readyTimeoutMs = options.readyTimeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'hb-stack-'));
  const started: { stop(): Promise<unknown> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const part of [...started].reverse()) {
      try {
        await part.stop();
      } catch {
        // keep stopping the others
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  /**
   * Ports are chosen before the process that binds them starts, so another process can take one in between; such a
   * start (EADDRINUSE in the app's log, "in use" from Prosody) is retried on fresh ports, twice at most.
   */
  const retryOnPortRace = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        const race =
          (error instanceof StackAppError && error.logTail.some((line) => line.includes('EADDRINUSE'))) ||
          (error instanceof ProsodyStartError && /in use|EADDRINUSE/i.test(error.message));
        if (!race || i >= 3) throw error;
        log(what, 'a port was taken before it could be bound; retrying on other ports');
      }
    }
  };

  try {
    const [turnOps] = await freePorts(1);
    const turnSecret = randomBytes(24).toString('base64url');
    const envOf = (app: AppName): Record<string, string> => ({ ...options.env?.[app] });

    // apps/turn first: its port is chosen here (free for UDP and TCP alike) and then written into Prosody's XEP-0215
    // list and apps/token's config. Another process may still take the UDP port between the check and the bind
    // (the kernel hands out ephemeral ports to browsers and workers all the time); that start is retried on a new port.
    let turn: StackTurn | undefined;
    let turnPort = 3478;
    let turnTlsPort = 5349;
    if (options.turn ?? true) {
      const tls = await selfSigned(dir, domain);
      for (let attempt = 1; ; attempt++) {
        turnPort = await freeUdpTcpPort();
        turnTlsPort = await freePort();
        try {
          const turnApp = await spawnApp({
            app: 'turn',
            name: 'turn',
            opsUrl: `http://127.0.0.1:${String(turnOps)}`,
            log,
            ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
            env: envOf('turn'),
            configFile: await configFile(dir, 'turn', {
              ops: { host: '127.0.0.1', port: turnOps },
              realm: domain,
              listen: { host: '127.0.0.1', udpPort: turnPort, tcpPort: turnPort, tlsPort: turnTlsPort },
              ...(tls ? { tls } : {}),
              relay: { host: '127.0.0.1' },
              // The whole stack is on loopback: the bridge's candidates are 127.0.0.1, which the relay refuses by
              // default (docs/turn.md, peer policy). A real deployment allows the bridge's private address instead.
              peers: { allow: ['127.0.0.1/32', '::1/128'] },
              workers: 1,
              auth: { sharedSecret: turnSecret },
            }, options.apps?.turn),
          });
          started.push(turnApp);
          const udp = turnPort;
          turn = {
            ...turnApp,
            uris: [
              `turn:127.0.0.1:${String(udp)}?transport=udp`,
              `turn:127.0.0.1:${String(udp)}?transport=tcp`,
              ...(tls ? [`turns:127.0.0.1:${String(turnTlsPort)}?transport=tcp`] : []),
            ],
            credentials(user, ttlSeconds = 3_600) {
              const username = `${String(Math.floor(Date.now() / 1000) + ttlSeconds)}:${user}`;
              return { username, credential: createHmac('sha1', turnSecret).update(username).digest('base64') };
            },
          };
          break;
        } catch (error) {
          const lostRace = error instanceof StackAppError && error.logTail.some((line) => line.includes('EADDRINUSE'));
          if (!lostRace || attempt >= 3) throw error;
          log('turn', `port ${String(turnPort)} was taken before the relay bound it; retrying on another port`);
        }
      }
    }
    const bridgePassword = randomBytes(18).toString('base64url');
    const apiKeys = { prosody: `prosody-${randomBytes(16).toString('hex')}`, backend: `backend-${randomBytes(16).toString('hex')}` };
    const guestHost = `guest.${domain}`;

    // apps/token: always when auth is 'token' (Prosody asks it), and for minting / TURN credentials over HTTP.
    const appSecretFile = await secretFile(dir, 'jwt.secret', randomBytes(32).toString('base64url'));
    const turnSecretFile = await secretFile(dir, 'turn.secret', turnSecret);
    let tokenHttp = 0;
    const tokenApp = await retryOnPortRace('token', async () => {
      const [httpPort, tokenOps] = await freePorts(2);
      tokenHttp = httpPort ?? 0;
      return spawnApp({
        app: 'token',
        name: 'token',
        opsUrl: `http://127.0.0.1:${String(tokenOps)}`,
        log,
        ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
        env: envOf('token'),
        configFile: await configFile(dir, 'token', {
          ops: { host: '127.0.0.1', port: tokenOps },
          http: { host: '127.0.0.1', port: tokenHttp },
          jwt: { appId: 'hummingbird', appSecretRef: `file:${appSecretFile}` },
          apiKeys: [
            { id: 'prosody', keyRef: `file:${await secretFile(dir, 'verify-api.key', apiKeys.prosody)}`, scopes: ['verify'] },
            { id: 'backend', keyRef: `file:${await secretFile(dir, 'backend-api.key', apiKeys.backend)}`, scopes: ['issue', 'turn'] },
          ],
          turn: { secretRef: `file:${turnSecretFile}`, host: '127.0.0.1', port: turnPort, tlsPort: turnTlsPort },
        }, options.apps?.token),
      });
    });
    started.push(tokenApp);
    const tokenApiUrl = `http://127.0.0.1:${String(tokenHttp)}`;
    const token: StackToken = {
      ...tokenApp,
      apiUrl: tokenApiUrl,
      async mint(body) {
        const reply = await fetch(`${tokenApiUrl}/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKeys.backend}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await reply.text();
        if (reply.status !== 200) throw new Error(`minting a token failed: ${String(reply.status)} ${text}`);
        return (JSON.parse(text) as { token: string }).token;
      },
    };

    const prosodyExtra: Partial<StartProsodyOptions> = {};
    if (auth === 'token') {
      const keyFile = await secretFile(dir, 'prosody-api.key', apiKeys.prosody);
      Object.assign(prosodyExtra, {
        pluginPaths: [...(options.prosody?.pluginPaths ?? []), PLUGINS],
        meetAuth: 'hummingbird_token',
        meetExtra: [
          options.prosody?.meetExtra ?? '',
          `  hummingbird_token_verify_url = ${luaString(`${tokenApiUrl}/v1/verify`)}`,
          `  hummingbird_token_api_key_file = ${luaString(keyFile)}`,
          // docs/jwt.md: guests log in anonymously on their own host; claims they forge are stripped there too.
          `VirtualHost ${luaString(guestHost)}`,
          '  authentication = "anonymous"',
          '  modules_enabled = { "hummingbird_claims_strip" }',
        ].join('\n'),
      });
    }
    let ports: ProsodyPorts = { c2s: 0, component: 0, http: 0 };
    const prosody = await retryOnPortRace('prosody', async () => {
      ports = await pickPorts(options.standardPorts ?? true);
      return startProsody({
        ...options.prosody,
        ...prosodyExtra,
        domain,
        ports,
        turnSecret,
        turn: { host: '127.0.0.1', port: turnPort, tlsPort: turnTlsPort },
        users: [...(options.prosody?.users ?? []), ['jvb', `auth.${domain}`, bridgePassword]],
      });
    });
    started.push(prosody);
    const hosts: StackHosts = { ...prosody.hosts, ...(auth === 'token' ? { guest: guestHost } : {}) };

    const bridgePasswordFile = await secretFile(dir, 'jvb.password', bridgePassword);
    const bridges: StackBridge[] = [];
    let bridgeCount = 0;
    const startBridge = async (): Promise<StackBridge> => {
      bridgeCount += 1;
      const id = `bridge-${String(bridgeCount)}`;
      let ws = 0;
      const app = await retryOnPortRace(id, async () => {
        const [ops, wsPort] = await freePorts(2);
        ws = wsPort ?? 0;
        return spawnApp({
          app: 'bridge',
          name: id,
          opsUrl: `http://127.0.0.1:${String(ops)}`,
          log,
          ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
          env: envOf('bridge'),
          configFile: await configFile(dir, id, {
            ops: { host: '127.0.0.1', port: ops },
            xmpp: {
              service: `xmpp://127.0.0.1:${String(ports.c2s)}`,
              domain: hosts.auth,
              username: 'jvb',
              passwordRef: `file:${bridgePasswordFile}`,
              breweryJid: `jvbbrewery@${hosts.internal}`,
            },
            // A local stack stops in seconds; production keeps JVB's minute of shutting_down (apps/bridge config).
            bridge: { id, shuttingDownDelayMs: 2_000 },
            media: { workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0 },
            websocket: { host: '127.0.0.1', port: wsPort },
          }, options.apps?.bridge),
        });
      });
      const bridge: StackBridge = {
        ...app,
        id,
        colibriWsUrl: `ws://127.0.0.1:${String(ws)}`,
      };
      bridges.push(bridge);
      bridges.sort((a, b) => Number(a.id.slice(7)) - Number(b.id.slice(7)));
      started.push(bridge);
      return bridge;
    };
    await Promise.all(Array.from({ length: options.bridges ?? 1 }, () => startBridge()));

    let focus: StackApp | undefined;
    if (options.focus ?? true) {
      focus = await retryOnPortRace('focus', async () => {
        const [focusOps] = await freePorts(1);
        return spawnApp({
          app: 'focus',
          name: 'focus',
          opsUrl: `http://127.0.0.1:${String(focusOps)}`,
          log,
          ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
          env: envOf('focus'),
          configFile: await configFile(dir, 'focus', {
            ops: { host: '127.0.0.1', port: focusOps },
            xmpp: {
              domain,
              component: { host: '127.0.0.1', port: ports.component, secret: prosody.config.componentSecret },
            },
            ...(auth === 'token' ? { auth: { tokenHost: domain } } : {}),
          }, options.apps?.focus),
          // Healthy needs a bridge; a stack started without one is ready once only that is missing.
          ...((options.bridges ?? 1) === 0 ? { ready: (status: number, body: string) => status === 200 || /bridge/i.test(body) } : {}),
        });
      });
      started.push(focus);
    }

    let page: MeetingPage | undefined;
    if (options.page ?? true) {
      // Loaded only when asked for: Prosody-only users of this package (and their child processes run without
      // the hummingbird-source condition) do not need the client package built.
      const { startMeetingPage } = await import('@hummingbird/client/page-server');
      const facts = {
        websocketUrl: `ws://127.0.0.1:${String(ports.http)}/xmpp-websocket`,
        domain: hosts.domain,
        muc: hosts.conference,
        focus: hosts.focus,
        ...(hosts.guest ? { guest: hosts.guest } : {}),
      };
      const standard = (options.standardPorts ?? true) && (await isFree(STANDARD_PAGE_PORT));
      try {
        page = await startMeetingPage({ ...facts, port: standard ? STANDARD_PAGE_PORT : 0 });
      } catch (error) {
        // Taken between the check and the listen: any free port will do.
        if (!standard || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        page = await startMeetingPage({ ...facts, port: 0 });
      }
      const served = page;
      started.push({ stop: () => served.close() });
    }

    let stopping: Promise<void> | undefined;
    const stack: Stack = {
      domain,
      prosody,
      hosts,
      urls: {
        websocket: `ws://127.0.0.1:${String(ports.http)}/xmpp-websocket`,
        bosh: `http://127.0.0.1:${String(ports.http)}/http-bind`,
      },
      token,
      ...(turn ? { turn } : {}),
      bridges,
      ...(focus ? { focus } : {}),
      ...(page ? { pageUrl: page.url } : {}),
      startBridge,
      describe() {
        const p = prosody.ports;
        return [
          `Prosody (pid ${String(prosody.pid)}) for ${domain}`,
          `  client host       ${hosts.domain} (${auth === 'token' ? 'JWT login: SASL PLAIN or ?token=' : 'anonymous login'})`,
          ...(hosts.guest ? [`  guest host        ${hosts.guest} (anonymous)`] : []),
          `  WebSocket         ws://127.0.0.1:${String(p.http)}/xmpp-websocket`,
          `  BOSH              http://127.0.0.1:${String(p.http)}/http-bind`,
          `  c2s (plain TCP)   127.0.0.1:${String(p.c2s)}`,
          `  conference MUC    ${hosts.conference}`,
          `  brewery MUC       jvbbrewery@${hosts.internal}`,
          `  focus component   ${hosts.focus} on 127.0.0.1:${String(p.component)}`,
          `token (pid ${String(token.pid)})   ${tokenApiUrl} (ops ${token.opsUrl})`,
          `  mint a token      pnpm --filter @hummingbird/token exec tsx src/cli.ts issue --config ${join(dir, 'token.json')} --room <room> --name <name> [--moderator]`,
          ...(turn ? [`turn (pid ${String(turn.pid)})    ${turn.uris.join('  ')} (ops ${turn.opsUrl})`] : []),
          ...bridges.map((b) => `${b.id} (pid ${String(b.pid)}) colibri-ws ${b.colibriWsUrl} (ops ${b.opsUrl}, /colibri/stats)`),
          ...(focus ? [`focus (pid ${String(focus.pid)})   ops ${focus.opsUrl} (/about/health, /stats, /debug)`] : []),
          ...(page ? [`meeting page       open ${page.url} in a browser (join a room; ?client=legacy for lib-jitsi-meet)`] : []),
          `run directory      ${dir} (generated configs; removed on stop)`,
        ];
      },
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
    return stack;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
