import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  configFileFrom,
  createLogger,
  defineConfig,
  logConfigSchema,
  opsConfigSchema,
  readPackageVersion,
  runMain,
  shutdownConfigSchema,
  startService,
  type RunningService,
} from '../src/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const running: RunningService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('configFileFrom', () => {
  it('prefers --config over the env variable and accepts both argument forms', () => {
    expect(configFileFrom(['--config', 'a.yaml'], { HB_X_CONFIG: 'b.yaml' }, 'HB_X_CONFIG')).toBe('a.yaml');
    expect(configFileFrom(['--config=c.yaml'], {}, 'HB_X_CONFIG')).toBe('c.yaml');
    expect(configFileFrom([], { HB_X_CONFIG: 'b.yaml' }, 'HB_X_CONFIG')).toBe('b.yaml');
    expect(configFileFrom([], { HB_X_CONFIG: '' }, 'HB_X_CONFIG')).toBeUndefined();
  });
});

describe('readPackageVersion', () => {
  it('finds the version of the package a module belongs to', () => {
    expect(readPackageVersion(import.meta.url)).toBe('0.1.0');
  });
});

describe('startService', () => {
  it('starts a listening ops server and closes it through the lifecycle', async () => {
    const service = await startService({
      name: 'demo',
      version: '9.9.9',
      logger,
      ops: { host: '127.0.0.1', port: 0 },
      health: () => ({ status: 'ok' }),
    });
    running.push(service);
    const res = await fetch(`http://127.0.0.1:${service.ops.port}/about/version`);
    expect(await res.json()).toEqual({ name: 'demo', version: '9.9.9' });
    const result = await service.close('test');
    expect(result.clean).toBe(true);
    await expect(fetch(`http://127.0.0.1:${service.ops.port ?? 1}/about/version`)).rejects.toThrow();
  });

  it('fails to start when the ops port is taken, leaving nothing open', async () => {
    const first = await startService({ name: 'a', version: '1', logger, ops: { host: '127.0.0.1', port: 0 }, health: () => ({ status: 'ok' }) });
    running.push(first);
    await expect(
      startService({ name: 'b', version: '1', logger, ops: { host: '127.0.0.1', port: first.ops.port ?? 0 }, health: () => ({ status: 'ok' }) }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('runMain', () => {
  const definition = defineConfig(
    z.object({ ops: opsConfigSchema(0), log: logConfigSchema, shutdown: shutdownConfigSchema, secret: z.string() }),
    { appName: 'demo' },
  );

  it('prints one HB_ERR_CONFIG message naming the bad key and exits 2, without a stack', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const start = vi.fn<() => Promise<RunningService>>();
    const result = await runMain({ definition, start, logLevel: (c) => c.log.level, argv: [], env: { HB_DEMO_OPS__PORT: 'x' } });
    expect(result).toBeUndefined();
    expect(start).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(2);
    const text = writes.join('');
    expect(text).toContain('HB_ERR_CONFIG: invalid demo configuration');
    expect(text).toContain('ops.port (from HB_DEMO_OPS__PORT)');
    expect(text).toContain('secret: required, but not set');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('starts the app with the validated config', async () => {
    const service = await runMain({
      definition,
      argv: [],
      env: { HB_DEMO_SECRET: 's', HB_DEMO_LOG__LEVEL: 'silent' },
      logLevel: (c) => c.log.level,
      installSignals: false,
      start: (config, log) =>
        startService({ name: 'demo', version: '1', logger: log, ops: config.ops, health: () => ({ status: 'ok' }) }),
    });
    expect(service).toBeDefined();
    if (service) running.push(service);
    expect(process.exitCode).toBeUndefined();
    expect(service?.ops.port).toBeGreaterThan(0);
  });
});
