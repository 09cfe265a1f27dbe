import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, type RunningService } from '@hummingbird/service';
import { afterEach, describe, expect, it } from 'vitest';
import { start, turnConfig } from '../src/index.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const SECRET = 'a-long-enough-turn-secret';
const required = { HB_TURN_REALM: 'meet.example.com', HB_TURN_AUTH__SHARED_SECRET: SECRET };
const logger = createLogger({ name: 'turn', level: 'silent' });

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

  it('the sample loads, with the required keys from env, to the schema defaults (UDP/TCP 3478)', () => {
    const config = turnConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(turnConfig.loadConfig({ env: required }));
    expect(config.listen).toEqual({ host: '0.0.0.0', udpPort: 3478, tcpPort: 3478 });
    expect(config.auth.sharedSecret).toBe(SECRET);
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
    const error = configError(() => turnConfig.loadConfig({ env: { ...required, HB_TURN_LISTEN__UDP_PORT: '70000', HB_TURN_LISTEN__TLS_PORT: '5349' } }));
    expect(error.issues.map((i) => i.key).sort()).toEqual(['HB_TURN_LISTEN__TLS_PORT', 'listen.udpPort (from HB_TURN_LISTEN__UDP_PORT)']);
  });
});

describe('turn service', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('reports 503 "not implemented yet" on /about/health and its version on /about/version', async () => {
    service = await start(turnConfig.loadConfig({ env: { ...required, HB_TURN_OPS__PORT: '0' } }), logger);
    const healthRes = await service.ops.inject('/about/health');
    expect(healthRes.statusCode).toBe(503);
    expect(healthRes.json()).toEqual({ status: 'unhealthy', reasons: [expect.stringMatching(/^not implemented yet: /) as string] });
    const version = await service.ops.inject('/about/version');
    expect(version.json()).toEqual({ name: 'hummingbird-turn', version: '0.1.0' });
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
    service = await start(turnConfig.loadConfig({ env: { ...required, HB_TURN_OPS__PORT: '0' } }), capturing);
    const text = lines.join('');
    expect(text).toContain('turn started');
    expect(text).not.toContain(SECRET);
  });
});
