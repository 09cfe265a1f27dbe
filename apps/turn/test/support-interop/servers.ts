// One way to start each relay the interop tests and the benchmark compare, each in its OWN process
// (so its CPU time can be read from /proc/<pid>/stat), all on 127.0.0.1 free ports:
//   - coturn: Debian's turnserver with a generated config (spec/turn.md §2.1), REST secret, TLS with an
//     openssl self-signed certificate;
//   - node-turn 0.0.6: the measured baseline (spec/turn.md §1). UDP only, static users only (no TURN
//     REST API), so it gets a static user; see NODE_TURN_LIMITS;
//   - hummingbird: apps/turn's startTurnServer (src/index.ts), started by hummingbird-child.ts.
// Every relay here allows loopback peers, because the echo peers and the browser's peer connections
// are on 127.0.0.1 (spec/turn.md §5: an explicit allow entry, in the interop and load tests only).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { freeUdpTcpPorts, relayPortRange } from './ports.js';
import { procSample } from './proc.js';
import { restCredentials } from './stun.js';
import { stunBinding, type Credentials } from './turn-session.js';

export type RelayKind = 'coturn' | 'node-turn' | 'hummingbird';
export const RELAY_KINDS: readonly RelayKind[] = ['coturn', 'node-turn', 'hummingbird'];

export const HOST = '127.0.0.1';
export const REALM = 'turn.test';

export const NODE_TURN_LIMITS =
  'node-turn 0.0.6: UDP only (no TCP/TLS), no TURN REST credentials (static user instead), client ChannelData never relayed, ' +
  'Allocate with REQUESTED-ADDRESS-FAMILY or EVEN-PORT dropped (turnutils_uclient cannot allocate), Refresh deletes the allocation (spec/turn.md §1.2)';

export type RelayAuth = { kind: 'rest'; secret: string } | { kind: 'static'; username: string; password: string };

export interface RunningRelay {
  kind: RelayKind;
  /** Human-readable version, for reports. */
  version: string;
  pid: number;
  host: string;
  udpPort: number;
  /** Undefined where the relay has no TCP listener (node-turn). */
  tcpPort: number | undefined;
  tlsPort: number | undefined;
  auth: RelayAuth;
  /** Credentials for `user` (REST: `expiry:user` + HMAC; static: the one static user). */
  credentials(user: string): Credentials;
  cpuSeconds(): number;
  rssBytes(): number;
  /** Recent output of the process, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/** Thrown when the relay cannot be started on this machine for a reason that is not a bug in it. */
export class RelayUnavailableError extends Error {
  override name = 'RelayUnavailableError';
}

const here = fileURLToPath(new URL('.', import.meta.url));
const APP_DIR = join(here, '..', '..');

export interface StartOptions {
  /** coturn only: relay threads (default: coturn's own default, one per core). */
  coturnRelayThreads?: number;
}

export async function startRelay(kind: RelayKind, options: StartOptions = {}): Promise<RunningRelay> {
  switch (kind) {
    case 'coturn':
      return startCoturn(options);
    case 'node-turn':
      return startNodeChild('node-turn');
    case 'hummingbird':
      return startNodeChild('hummingbird');
  }
}

/** A self-signed certificate for turn.test (openssl), PEM. */
export function selfSignedCert(dir: string): { certPath: string; keyPath: string; cert: string; key: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${REALM}`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new RelayUnavailableError(`openssl could not make a test certificate: ${r.stderr || String(r.error)}`);
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

export function coturnAvailable(): string | undefined {
  for (const bin of ['/usr/bin/turnserver', '/usr/bin/turnutils_uclient', '/usr/bin/turnutils_peer']) {
    if (!existsSync(bin)) return `${bin} is missing: install Debian's coturn (npm test / scripts/hb.mjs does, as root)`;
  }
  return undefined;
}

class OutputTail {
  private text = '';
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-8_000);
  }
  toString(): string {
    return this.text;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

async function waitUntil(what: string, probe: () => Promise<boolean>, child: ChildProcess, tail: OutputTail, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what}: the process exited (${String(child.exitCode ?? child.signalCode)}) before it was ready:\n${tail.toString()}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms:\n${tail.toString()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function udpReady(port: number): Promise<boolean> {
  await stunBinding({ address: HOST, port }, 300);
  return true;
}

function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: HOST, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function coturnVersion(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'coturn'], { encoding: 'utf8' });
  return `coturn ${r.status === 0 ? r.stdout.trim() : '?'} (Debian)`;
}

async function startCoturn(options: StartOptions): Promise<RunningRelay> {
  const missing = coturnAvailable();
  if (missing) throw new RelayUnavailableError(missing);
  const dir = mkdtempSync(join(tmpdir(), 'hb-coturn-'));
  const { certPath, keyPath } = selfSignedCert(dir);
  const [port, tlsPort] = await freeUdpTcpPorts(2);
  const range = relayPortRange();
  const secret = randomBytes(24).toString('hex');
  const lines = [
    `listening-ip=${HOST}`,
    `listening-port=${String(port)}`,
    `tls-listening-port=${String(tlsPort)}`,
    // coturn also opens alternative ports (+1) for RFC 5780 unless told not to
    'no-rfc5780',
    `relay-ip=${HOST}`,
    `min-port=${range.min}`,
    `max-port=${range.max}`,
    `realm=${REALM}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'fingerprint',
    'allow-loopback-peers',
    'no-multicast-peers',
    `cert=${certPath}`,
    `pkey=${keyPath}`,
    'no-cli',
    'no-dtls',
    `log-file=${join(dir, 'coturn.log')}`,
    'simple-log',
    `pidfile=${join(dir, 'coturn.pid')}`,
    `userdb=${join(dir, 'turndb')}`,
  ];
  if (options.coturnRelayThreads) lines.push(`relay-threads=${options.coturnRelayThreads}`);
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
  const tail = new OutputTail();
  const child = spawn('/usr/bin/turnserver', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => tail.push(c));
  child.stderr.on('data', (c: Buffer) => tail.push(c));
  const logTail = (): string => {
    try {
      return readFileSync(join(dir, 'coturn.log'), 'utf8').slice(-4_000);
    } catch {
      return tail.toString();
    }
  };
  try {
    await waitUntil('coturn UDP', () => udpReady(port!), child, tail);
    await waitUntil('coturn TCP', () => tcpReady(port!), child, tail);
    await waitUntil('coturn TLS', () => tcpReady(tlsPort!), child, tail);
  } catch (error) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pid = child.pid!;
  return {
    kind: 'coturn',
    version: coturnVersion(),
    pid,
    host: HOST,
    udpPort: port!,
    tcpPort: port!,
    tlsPort: tlsPort!,
    auth: { kind: 'rest', secret },
    credentials: (user) => restCredentials(secret, user),
    cpuSeconds: () => procSample(pid).cpuSeconds,
    rssBytes: () => procSample(pid).rssBytes,
    output: logTail,
    close: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the Node children print as their one JSON line on stdout. */
export type ChildReport =
  | { ready: { udpPort: number; tcpPort?: number; tlsPort?: number; version: string } }
  | { unavailable: string }
  | { error: string };

export interface ChildConfig {
  host: string;
  udpPort: number;
  tcpPort: number;
  tlsPort: number;
  realm: string;
  relay: { host: string; portMin: number; portMax: number };
  auth: RelayAuth;
  tls?: { cert: string; key: string };
}

async function startNodeChild(kind: 'node-turn' | 'hummingbird'): Promise<RunningRelay> {
  const dir = mkdtempSync(join(tmpdir(), `hb-${kind}-`));
  const range = relayPortRange();
  const [udpPort, tlsPort] = await freeUdpTcpPorts(2);
  const auth: RelayAuth =
    kind === 'node-turn'
      ? { kind: 'static', username: 'alice', password: randomBytes(12).toString('hex') }
      : { kind: 'rest', secret: randomBytes(24).toString('hex') };
  const config: ChildConfig = {
    host: HOST,
    udpPort: udpPort!,
    tcpPort: udpPort!,
    tlsPort: tlsPort!,
    realm: REALM,
    relay: { host: HOST, portMin: range.min, portMax: range.max },
    auth,
    ...(kind === 'hummingbird' ? { tls: (({ cert, key }) => ({ cert, key }))(selfSignedCert(dir)) } : {}),
  };
  // The config (secret, key) goes through a 0600 file, never argv or the environment.
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const script = join(here, `${kind}-child.ts`);
  const tail = new OutputTail();
  // HB_TURN_CHILD_NODE_ARGS: extra node flags for the relay child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`
  // to profile the relay under the benchmark's load (NODE_OPTIONS does not allow --cpu-prof).
  const extra = (process.env['HB_TURN_CHILD_NODE_ARGS'] ?? '').split(' ').filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', '--conditions=hummingbird-source', script, configPath], {
    cwd: APP_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (c: Buffer) => tail.push(c));
  const report = await new Promise<ChildReport>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${kind}: no start report within 30 s:\n${tail.toString()}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      tail.push(c);
      buffered += c.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as ChildReport);
      } catch {
        reject(new Error(`${kind}: unreadable start report ${buffered.slice(0, nl)}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind}: exited with ${String(code)} before reporting:\n${tail.toString()}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  if (!('ready' in report)) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    if ('unavailable' in report) throw new RelayUnavailableError(report.unavailable);
    throw new Error(`${kind} failed to start: ${report.error}`);
  }
  const ready = report.ready;
  try {
    await waitUntil(`${kind} UDP`, () => udpReady(ready.udpPort), child, tail);
  } catch (error) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pid = child.pid!;
  return {
    kind,
    version: ready.version,
    pid,
    host: HOST,
    udpPort: ready.udpPort,
    tcpPort: ready.tcpPort,
    tlsPort: ready.tlsPort,
    auth,
    credentials: (user) => (auth.kind === 'rest' ? restCredentials(auth.secret, user) : { username: auth.username, password: auth.password }),
    cpuSeconds: () => procSample(pid).cpuSeconds,
    rssBytes: () => procSample(pid).rssBytes,
    output: () => tail.toString(),
    close: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether apps/turn's relay exists yet: src/index.ts must export startTurnServer (the contract in
 * hummingbird-child.ts; or the module HB_TURN_RELAY_MODULE names). Returns the reason it cannot be tested, or undefined.
 */
export async function hummingbirdUnavailable(): Promise<string | undefined> {
  const override = process.env['HB_TURN_RELAY_MODULE'];
  const mod = (await (override ? import(pathToFileURL(override).href) : import('../../src/index.js'))) as Record<string, unknown>;
  return typeof mod['startTurnServer'] === 'function'
    ? undefined
    : `${override ?? 'apps/turn/src/index.ts'} does not export startTurnServer yet (the relay itself is issue 5 part A): Hummingbird relay runs skipped`;
}
