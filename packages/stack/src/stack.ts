// The one launcher for the whole stack, used by `npm start` (src/cli.ts) and by integration
// tests. Today it runs Prosody in the Jitsi layout; each Hummingbird app joins it here as it
// lands (ARCHITECTURE.md: one launcher, not two).
import { createServer } from 'node:net';
import { freePort } from './free-port.js';
import { startProsody, type ProsodyHandle, type StartProsodyOptions } from './prosody.js';
import type { ProsodyPorts } from './prosody-config.js';

export interface StartStackOptions {
  /** Base domain. Default `meet.localhost` (resolves to loopback without /etc/hosts changes). */
  domain?: string;
  /** Prefer XMPP's usual ports (5222 c2s, 5347 component, 5280 HTTP) when they are free. Default true. */
  standardPorts?: boolean;
  /** Passed through to the Prosody harness (log echo, smacks, …). */
  prosody?: Omit<StartProsodyOptions, 'domain' | 'ports'>;
}

export interface Stack {
  readonly prosody: ProsodyHandle;
  /** Human-readable lines: what runs where. Secrets are not included. */
  describe(): string[];
  /** Stops everything, in reverse start order. Idempotent. */
  stop(): Promise<void>;
}

const STANDARD_PORTS: ProsodyPorts = { c2s: 5222, component: 5347, http: 5280 };

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

export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const domain = options.domain ?? 'meet.localhost';
  const ports = await pickPorts(options.standardPorts ?? true);
  const prosody = await startProsody({ ...options.prosody, domain, ports });
  let stopping: Promise<void> | undefined;
  return {
    prosody,
    describe() {
      const { hosts, ports: p, config } = prosody;
      return [
        `Prosody ${'(pid ' + String(prosody.pid) + ')'} for ${domain}`,
        `  client host       ${hosts.domain} (anonymous login)`,
        `  WebSocket         ws://127.0.0.1:${p.http}/xmpp-websocket`,
        `  BOSH              http://127.0.0.1:${p.http}/http-bind`,
        `  c2s (plain TCP)   127.0.0.1:${p.c2s}`,
        `  service accounts  ${hosts.auth}`,
        `  conference MUC    ${hosts.conference}`,
        `  brewery MUC       ${hosts.internal}`,
        `  focus component   ${hosts.focus} on 127.0.0.1:${p.component} (secret in ${prosody.configPath})`,
        `  TURN (XEP-0215)   ${config.turn.host}:${config.turn.port} udp/tcp, turns ${config.turn.tlsPort}`,
        `Hummingbird apps: focus, bridge, turn and token are not part of the stack yet; they join it as their issues land.`,
      ];
    },
    stop() {
      stopping ??= prosody.stop().then(() => undefined);
      return stopping;
    },
  };
}
