import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, type RunningService } from '@hummingbird/service';
import { afterEach, describe, expect, it } from 'vitest';
import { start, tokenConfig } from '../src/index.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const required = { HB_TOKEN_JWT__APP_ID: 'my-app', HB_TOKEN_JWT__APP_SECRET_REF: 'env:HB_TOKEN_APP_SECRET' };
const logger = createLogger({ name: 'token', level: 'silent' });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('token config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(tokenConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults', () => {
    const config = tokenConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(tokenConfig.loadConfig({ env: required }));
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8890 });
    expect(config.jwt).toEqual({ appId: 'my-app', appSecretRef: 'env:HB_TOKEN_APP_SECRET' });
  });

  it('without app id and secret reference, names both', () => {
    const error = configError(() => tokenConfig.loadConfig({ file: samplePath }));
    expect(error.issues.map((i) => i.key).sort()).toEqual(['jwt.appId', 'jwt.appSecretRef']);
  });

  it('refuses an inline secret where a reference is expected', () => {
    const error = configError(() => tokenConfig.loadConfig({ env: { ...required, HB_TOKEN_JWT__APP_SECRET_REF: 'hunter2' } }));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.key).toBe('jwt.appSecretRef (from HB_TOKEN_JWT__APP_SECRET_REF)');
    expect(error.message).toContain('not the secret itself');
    // The offending value is not echoed back: it may be the secret.
    expect(error.message).not.toContain('hunter2');
  });

  it('accepts file: and env: references', () => {
    for (const ref of ['file:/etc/hummingbird/jwt.secret', 'env:JWT_SECRET']) {
      expect(tokenConfig.loadConfig({ env: { ...required, HB_TOKEN_JWT__APP_SECRET_REF: ref } }).jwt.appSecretRef).toBe(ref);
    }
  });
});

describe('token service', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('reports 503 "not implemented yet" on /about/health and its version on /about/version', async () => {
    service = await start(tokenConfig.loadConfig({ env: { ...required, HB_TOKEN_OPS__PORT: '0' } }), logger);
    const healthRes = await service.ops.inject('/about/health');
    expect(healthRes.statusCode).toBe(503);
    expect(healthRes.json()).toEqual({ status: 'unhealthy', reasons: [expect.stringMatching(/^not implemented yet: /) as string] });
    const version = await service.ops.inject('/about/version');
    expect(version.json()).toEqual({ name: 'hummingbird-token', version: '0.1.0' });
  });
});
