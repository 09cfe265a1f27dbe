import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createOpsServer, type HealthReport, type OpsServer } from '../src/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function server(health: () => HealthReport | Promise<HealthReport>, extra: { registry?: Registry; healthTimeoutMs?: number } = {}): OpsServer {
  const ops = createOpsServer({ name: 'demo', version: '1.2.3', logger, health, ...extra });
  servers.push(ops);
  return ops;
}

describe('ops server', () => {
  it('answers /about/health 200 {status:ok} when healthy', async () => {
    const res = await server(() => ({ status: 'ok' })).inject('/about/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers /about/health 503 with the reasons when unhealthy', async () => {
    const res = await server(() => Promise.resolve<HealthReport>({ status: 'unhealthy', reasons: ['brewery not joined'] })).inject('/about/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reasons: ['brewery not joined'] });
  });

  it('turns a throwing health check into 503 naming the failure', async () => {
    const res = await server(() => {
      throw new Error('prosody unreachable');
    }).inject('/about/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reasons: ['health check failed: prosody unreachable'] });
  });

  it('turns a hanging health check into 503 after the timeout instead of hanging the prober', async () => {
    const res = await server(() => new Promise<HealthReport>(() => undefined), { healthTimeoutMs: 30 }).inject('/about/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', reasons: ['health check timed out after 30 ms'] });
  });

  it('never answers 503 without a reason', async () => {
    const res = await server(() => ({ status: 'unhealthy', reasons: [] })).inject('/about/health');
    expect(res.statusCode).toBe(503);
    expect((res.json<{ reasons: string[] }>()).reasons).toHaveLength(1);
  });

  it('answers /about/version with {name, version}', async () => {
    const res = await server(() => ({ status: 'ok' })).inject('/about/version');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'demo', version: '1.2.3' });
  });

  it('serves Prometheus text with default process metrics and the app\'s own metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'demo_things_total', help: 'things', registers: [registry] }).inc(3);
    const res = await server(() => ({ status: 'ok' }), { registry }).inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('demo_things_total 3');
    expect(res.body).toContain('process_cpu_user_seconds_total');
    expect(res.body).toContain('nodejs_heap_size_total_bytes');
  });

  it('accepts a registry that already has default metrics (two servers, one registry)', () => {
    const registry = new Registry();
    server(() => ({ status: 'ok' }), { registry });
    expect(() => server(() => ({ status: 'ok' }), { registry })).not.toThrow();
  });

  it('listens on loopback by default, on a free port with port 0, and closes idempotently', async () => {
    const ops = server(() => ({ status: 'ok' }));
    const address = await ops.listen();
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ops.port).toBeGreaterThan(0);
    const res = await fetch(`${address}/about/version`);
    expect(await res.json()).toEqual({ name: 'demo', version: '1.2.3' });
    await Promise.all([ops.close(), ops.close()]);
    await expect(fetch(`${address}/about/version`)).rejects.toThrow();
    await expect(ops.listen()).rejects.toThrow('closed');
  });

  it('rejects an out-of-range port at construction', () => {
    expect(() => createOpsServer({ name: 'x', version: '0', logger, health: () => ({ status: 'ok' }), port: 70_000 })).toThrow(TypeError);
  });
});
