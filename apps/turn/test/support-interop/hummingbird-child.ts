// apps/turn's relay in its own process, so the benchmark can read its CPU time like coturn's.
// Argument: the path of a ChildConfig JSON file. Prints one ChildReport line, then runs until SIGTERM.
// Until src/index.ts exports startTurnServer (issue 5 part A) it reports `unavailable` and exits 0.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ChildConfig, ChildReport } from './servers.js';

/** The part of the relay's public API used here (issue 5: startTurnServer(options) → handle). */
export interface TurnServerOptionsContract {
  listen: { host: string; udpPort: number; tcpPort: number; tlsPort?: number };
  realm: string;
  secrets: string[];
  relay: { host: string; portMin: number; portMax: number };
  allowPeers?: string[];
  tls?: { cert: string; key: string };
  quotas?: { allocationsPerUser?: number };
}
export interface TurnServerHandleContract {
  ports: { udp: number; tcp: number; tls?: number };
  /** The UDP socket layer (native or dgram); absent in relay builds that predate it. */
  dataPath?: string;
  close(): Promise<void>;
}
type StartTurnServer = (options: TurnServerOptionsContract) => Promise<TurnServerHandleContract>;

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ChildConfig;
const report = (r: ChildReport): void => void process.stdout.write(`${JSON.stringify(r)}\n`);

// HB_TURN_RELAY_MODULE: another module exporting startTurnServer (an absolute path), e.g. to measure a
// relay build that is not this checkout's src/; by default apps/turn/src/index.ts.
const override = process.env['HB_TURN_RELAY_MODULE'];
const mod = (await (override ? import(pathToFileURL(override).href) : import('../../src/index.js'))) as Record<string, unknown>;
const start = mod['startTurnServer'];
if (typeof start !== 'function') {
  report({ unavailable: `${override ?? 'apps/turn/src/index.ts'} does not export startTurnServer yet (issue 5 part A)` });
  process.exit(0);
}
if (config.auth.kind !== 'rest') {
  report({ error: 'the Hummingbird relay is started with a TURN REST secret here' });
  process.exit(1);
}
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
try {
  const options: TurnServerOptionsContract & Record<string, unknown> = {
    listen: { host: config.host, udpPort: 0, tcpPort: 0, ...(config.tls ? { tlsPort: 0 } : {}) },
    realm: config.realm,
    secrets: [config.auth.secret],
    relay: config.relay,
    // loopback echo peers and browser relays: allowed explicitly, as spec/turn.md §5 says for T1/T8
    allowPeers: ['127.0.0.0/8'],
    ...(config.tls ? { tls: config.tls } : {}),
    // The coturn reference config (servers.ts) sets no user-quota; uclient runs all its clients as one
    // user (50 in the spec's size), so ours gets no per-user cap here either. Quotas have their own tests.
    quotas: { allocationsPerUser: 100_000 },
    // HB_TURN_DATA_PATH (auto | native | dgram), as the app's config loader maps it.
    ...(process.env['HB_TURN_DATA_PATH'] ? { dataPath: process.env['HB_TURN_DATA_PATH'] } : {}),
  };
  const handle = await (start as StartTurnServer)(options);
  report({ ready: { udpPort: handle.ports.udp, tcpPort: handle.ports.tcp, ...(handle.ports.tls ? { tlsPort: handle.ports.tls } : {}), version: `hummingbird-turn ${version}${handle.dataPath !== undefined ? ` (${handle.dataPath} UDP)` : ''}` } });
  process.on('SIGTERM', () => {
    handle.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
} catch (error) {
  report({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
