// node-turn 0.0.6 in its own process, as the benchmark's measured baseline (spec/turn.md §1, §2.1).
// Argument: the path of a ChildConfig JSON file. Prints one ChildReport line, then runs until SIGTERM.
// node-turn cannot bind port 0 and has no TCP/TLS or REST credentials: it gets the UDP port chosen by
// the parent and a static long-term user.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Turn from 'node-turn';
import type { ChildConfig, ChildReport } from './servers.js';

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ChildConfig;
const report = (r: ChildReport): void => void process.stdout.write(`${JSON.stringify(r)}\n`);

if (config.auth.kind !== 'static') {
  report({ error: 'node-turn supports static users only' });
  process.exit(1);
}
const version = (createRequire(import.meta.url)('node-turn/package.json') as { version: string }).version;
const server = new Turn({
  listeningIps: [config.host],
  relayIps: [config.relay.host],
  listeningPort: config.udpPort,
  minPort: config.relay.portMin,
  maxPort: config.relay.portMax,
  authMech: 'long-term',
  credentials: { [config.auth.username]: config.auth.password },
  realm: config.realm,
  debugLevel: 'OFF',
  log: () => undefined,
});
server.start();
report({ ready: { udpPort: config.udpPort, version: `node-turn ${version}` } });
process.on('SIGTERM', () => {
  server.stop();
  process.exit(0);
});
