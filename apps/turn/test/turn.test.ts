import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, type RunningService } from '@hummingbird/service';
import { afterEach, describe, expect, it } from 'vitest';
import { serverOptionsFromConfig, start, turnConfig } from '../src/index.js';
import { Method } from '../src/stun/constants.js';
import { TurnTestClient } from './helpers/client.js';
import { eventually, TEST_DATA_PATH } from './helpers/server.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const SECRET = 'a-long-enough-turn-secret';
const required = { HB_TURN_REALM: 'meet.example.com', HB_TURN_AUTH__SHARED_SECRET: SECRET };
const logger = createLogger({ name: 'turn', level: 'silent' });
/** The relay on loopback with free ports (the defaults bind 0.0.0.0:3478). */
const loopback = {
  ...required,
  HB_TURN_LISTEN__HOST: '127.0.0.1',
  HB_TURN_LISTEN__UDP_PORT: '0',
  HB_TURN_LISTEN__TCP_PORT: '0',
  HB_TURN_RELAY__HOST: '127.0.0.1',
  HB_TURN_RELAY__PORT_MIN: '40000',
  HB_TURN_RELAY__PORT_MAX: '59999',
  // `pnpm test:dgram` runs these on Node dgram too
  ...(TEST_DATA_PATH !== undefined ? { HB_TURN_DATA_PATH: TEST_DATA_PATH } : {}),
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('turn config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(turnConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults (UDP/TCP 3478, TLS 5349)', () => {
    const config = turnConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(turnConfig.loadConfig({ env: required }));
    expect(config.listen).toEqual({ host: '0.0.0.0', udpPort: 3478, tcpPort: 3478, tlsPort: 5349 });
    expect(config.auth).toEqual({ sharedSecret: SECRET, previousSecrets: [] });
    expect(config.peers).toEqual({ allow: [], deny: [] });
    expect(config.lifetimes).toMatchObject({ permissionSec: 300, channelSec: 600, allocationDefaultSec: 600 });
  });

  it('maps the config onto the relay options: rotation secrets, allow list, per-worker relay port slices', () => {
    const config = turnConfig.loadConfig({
      env: { ...required, HB_TURN_AUTH__PREVIOUS_SECRETS: 'an-older-turn-secret-123', HB_TURN_PEERS__ALLOW: '10.0.0.5/32, 127.0.0.1', HB_TURN_RELAY__PORT_MIN: '50000', HB_TURN_RELAY__PORT_MAX: '50999' },
    });
    const options = serverOptionsFromConfig(config);
    expect(options.secrets).toEqual([SECRET, 'an-older-turn-secret-123']);
    expect(options.allowPeers).toEqual(['10.0.0.5/32', '127.0.0.1']);
    expect(options.listen.tlsPort).toBeUndefined(); // no certificate configured: no TLS listener
    const slices = [0, 1, 2].map((index) => serverOptionsFromConfig(config, undefined, { index, count: 3 }).relay);
    expect(slices.map((r) => [r.portMin, r.portMax])).toEqual([[50000, 50332], [50333, 50665], [50666, 50999]]);
    expect(options.dataPath).toBe('auto');
    expect(serverOptionsFromConfig(turnConfig.loadConfig({ env: { ...required, HB_TURN_DATA_PATH: 'dgram' } })).dataPath).toBe('dgram');
    expect(configError(() => turnConfig.loadConfig({ env: { ...required, HB_TURN_DATA_PATH: 'fast' } })).message).toMatch(/dataPath/);
  });

  it('refuses a certificate without a key', () => {
    const config = turnConfig.loadConfig({ env: { ...required, HB_TURN_TLS__CERT_FILE: '/nonexistent.pem' } });
    expect(() => serverOptionsFromConfig(config)).toThrow(/together/);
  });

  it('has no default shared secret: without one, loading fails naming auth.sharedSecret', () => {
    const error = configError(() => turnConfig.loadConfig({ file: samplePath, env: { HB_TURN_REALM: 'x' } }));
    expect(error.issues).toEqual([{ key: 'auth.sharedSecret', message: 'required, but not set' }]);
    expect(turnConfig.renderSample()).toContain('# sharedSecret:');
  });

  it('rejects a short shared secret and says why', () => {
    const error = configError(() => turnConfig.loadConfig({ env: { ...required, HB_TURN_AUTH__SHARED_SECRET: 'short' } }));
    expect(error.issues).toEqual([
      { key: 'auth.sharedSecret (from HB_TURN_AUTH__SHARED_SECRET)', message: 'must be at least 16 characters: it signs every TURN credential' },
    ]);
  });

  it('names a bad key: an out-of-range UDP port and an unknown key in the file', () => {
    const error = configError(() => turnConfig.loadConfig({ env: { ...required, HB_TURN_LISTEN__UDP_PORT: '70000', HB_TURN_LISTEN__DTLS_PORT: '5349' } }));
    expect(error.issues.map((i) => i.key).sort()).toEqual(['HB_TURN_LISTEN__DTLS_PORT', 'listen.udpPort (from HB_TURN_LISTEN__UDP_PORT)']);
  });
});

describe('turn service', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('serves STUN on its ports, reports healthy, exposes turn_* metrics, and turns unhealthy while draining', async () => {
    const running = await start(turnConfig.loadConfig({ env: { ...loopback, HB_TURN_OPS__PORT: '0' } }), logger);
    service = running;
    const healthRes = await running.ops.inject('/about/health');
    expect(healthRes.statusCode).toBe(200);
    expect(healthRes.json()).toEqual({ status: 'ok' });
    const version = await running.ops.inject('/about/version');
    expect(version.json()).toEqual({ name: 'hummingbird-turn', version: '0.1.0' });

    const client = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: running.relay.ports.udp })).withCredentials(SECRET);
    expect((await client.request(Method.Binding, [], { auth: false })).cls).toBe(2);
    expect((await client.allocate()).cls).toBe(2);
    const metrics = (await running.ops.inject('/metrics')).body;
    expect(metrics).toMatch(/^turn_allocations 1$/m);
    expect(metrics).toMatch(/^turn_allocations_created_total 1$/m);
    expect(metrics).toMatch(/^turn_refusals_total\{reason="unauthorized"\} 1$/m);
    expect(metrics).toContain('turn_relayed_packets_total');
    // The UDP layer in use: native by default on Linux (the addon builds at start), dgram when asked.
    const expectedPath = TEST_DATA_PATH === 'dgram' || process.platform !== 'linux' ? 'dgram' : 'native';
    expect(running.relay.dataPath).toBe(expectedPath);
    expect(metrics).toMatch(new RegExp(`^turn_data_path\\{path="${expectedPath}"\\} 1$`, 'm'));

    const drained = running.relay.drain();
    const draining = await running.ops.inject('/about/health');
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toEqual({ status: 'unhealthy', reasons: ['draining: no new allocations'] });
    expect((await client.refresh(0)).cls).toBe(2);
    await drained;
    await client.close();
  });

  it('shutdown drains until the deadline, then closes every listener', async () => {
    const running = await start(turnConfig.loadConfig({ env: { ...loopback, HB_TURN_OPS__PORT: '0', HB_TURN_SHUTDOWN__DRAIN_TIMEOUT_MS: '300' } }), logger);
    const client = (await TurnTestClient.connect({ transport: 'tcp', host: '127.0.0.1', port: running.relay.ports.tcp })).withCredentials(SECRET);
    expect((await client.allocate()).cls).toBe(2);
    const result = await running.close('test');
    expect(result).toMatchObject({ clean: true, timedOut: [], failed: [] });
    await eventually(() => client.closedByServer, 5_000, 'connection closed by the relay');
    expect(running.relay.metrics.allocations).toBe(0);
    await client.close();
  });

  it('never writes the shared secret to the log when logging its config', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const capturing = createLogger({ name: 'turn', level: 'info', destination });
    service = await start(turnConfig.loadConfig({ env: { ...loopback, HB_TURN_OPS__PORT: '0' } }), capturing);
    const text = lines.join('');
    expect(text).toContain('turn started');
    expect(text).not.toContain(SECRET);
  });
});
