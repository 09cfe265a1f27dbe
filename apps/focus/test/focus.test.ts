import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger, type RunningService } from '@hummingbird/service';
import { afterEach, describe, expect, it } from 'vitest';
import { componentDomain, focusConfig, start, type FocusConfig } from '../src/index.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const required = { HB_FOCUS_XMPP__DOMAIN: 'meet.example.com', HB_FOCUS_XMPP__COMPONENT__SECRET: 'component-secret' };
const logger = createLogger({ name: 'focus', level: 'silent' });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('focus config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(focusConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults', () => {
    const config = focusConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(focusConfig.loadConfig({ env: required }));
    expect(config.ops).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(config.xmpp.component).toMatchObject({ host: '127.0.0.1', port: 5347, secret: 'component-secret' });
    expect(componentDomain(config)).toBe('focus.meet.example.com');
  });

  it('without the required keys, names each of them', () => {
    const error = configError(() => focusConfig.loadConfig({ file: samplePath, env: {} }));
    expect(error.code).toBe('HB_ERR_CONFIG');
    expect(error.issues.map((i) => i.key).sort()).toEqual(['xmpp.component.secret', 'xmpp.domain']);
  });

  it('names a bad key: an invalid XMPP domain and a non-numeric port from env', () => {
    const error = configError(() =>
      focusConfig.loadConfig({
        env: { ...required, HB_FOCUS_XMPP__DOMAIN: 'user@meet.example.com', HB_FOCUS_XMPP__COMPONENT__PORT: 'five' },
      }),
    );
    expect(error.issues.map((i) => i.key).sort()).toEqual([
      'xmpp.component.port (from HB_FOCUS_XMPP__COMPONENT__PORT)',
      'xmpp.domain (from HB_FOCUS_XMPP__DOMAIN)',
    ]);
    expect(error.message).toContain('must be a domain only');
  });
});

describe('focus service', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function started(): Promise<RunningService> {
    const config: FocusConfig = focusConfig.loadConfig({ env: { ...required, HB_FOCUS_OPS__PORT: '0' } });
    service = await start(config, logger);
    return service;
  }

  it('reports 503 with an honest "not implemented yet" reason on /about/health', async () => {
    const res = await (await started()).ops.inject('/about/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reasons: [expect.stringMatching(/^not implemented yet: /) as string] });
  });

  it('reports its name and package version on /about/version', async () => {
    const res = await (await started()).ops.inject('/about/version');
    expect(res.json()).toEqual({ name: 'hummingbird-focus', version: '0.1.0' });
  });

  it('listens on loopback and stops listening once closed', async () => {
    const running = await started();
    const port = running.ops.port;
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await running.close()).clean).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
