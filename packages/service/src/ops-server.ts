import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from './logger.js';

/**
 * What an app says about itself. `reasons` are short, operator-facing sentences ("brewery not
 * joined", "not implemented yet: TURN relay") — the operations contract asks for the reason, not
 * only a status code.
 */
export type HealthReport = { status: 'ok' } | { status: 'unhealthy'; reasons: string[] };

export type HealthCheck = () => HealthReport | Promise<HealthReport>;

// One zod source per response: the TS type and the fastify (JSON Schema) serializer come from it.
const healthyBody = z.object({ status: z.literal('ok') });
const unhealthyBody = z.object({ status: z.literal('unhealthy'), reasons: z.array(z.string()) });
const versionBody = z.object({ name: z.string(), version: z.string() });

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // fastify's serializer speaks draft-07 and does not want the `$schema` marker.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7' });
  return rest;
}

export interface OpsServerOptions {
  name: string;
  version: string;
  logger: Logger;
  health: HealthCheck;
  /** Registry the app's own metrics live in; default process metrics are added to it. */
  registry?: Registry;
  /** Loopback unless the operator chooses otherwise: /metrics and /about are not for the public. */
  host?: string;
  /** 0 picks a free port (tests, the stack launcher). */
  port?: number;
  /** A health check slower than this counts as unhealthy rather than hanging the prober. */
  healthTimeoutMs?: number;
}

export const DEFAULT_OPS_HOST = '127.0.0.1';
export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000;

/**
 * The operations surface every app has (ARCHITECTURE.md, operations contract): `/about/health`,
 * `/about/version`, `/metrics`. It owns its fastify instance and its listener; `close()` is
 * idempotent.
 */
export class OpsServer {
  readonly #app: FastifyInstance;
  readonly #host: string;
  readonly #port: number;
  readonly #registry: Registry;
  #listening: Promise<string> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: OpsServerOptions) {
    this.#host = options.host ?? DEFAULT_OPS_HOST;
    this.#port = options.port ?? 0;
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65_535) {
      throw new TypeError(`ops port must be an integer in 0..65535, got ${this.#port}`);
    }
    this.#registry = options.registry ?? new Registry();
    // collectDefaultMetrics throws on a registry that already has them (an app sharing one registry
    // between two ops servers in tests): add them once.
    if (this.#registry.getSingleMetric('process_cpu_user_seconds_total') === undefined) {
      collectDefaultMetrics({ register: this.#registry });
    }
    this.#app = buildApp(options, this.#registry);
  }

  get registry(): Registry {
    return this.#registry;
  }

  /** The fastify instance, for `inject()` in tests and for apps adding an ops-only route. */
  get app(): FastifyInstance {
    return this.#app;
  }

  inject(options: InjectOptions | string): Promise<LightMyRequestResponse> {
    return this.#app.inject(options);
  }

  /** Starts listening; resolves to the address (`http://127.0.0.1:12345`). Idempotent. */
  listen(): Promise<string> {
    if (this.#closing !== undefined) return Promise.reject(new Error('ops server is closed'));
    this.#listening ??= this.#app.listen({ host: this.#host, port: this.#port });
    return this.#listening;
  }

  /** The bound port once listening (useful with port 0). */
  get port(): number | undefined {
    const address = this.#app.server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  close(): Promise<void> {
    this.#closing ??= this.#app.close();
    return this.#closing;
  }
}

export function createOpsServer(options: OpsServerOptions): OpsServer {
  return new OpsServer(options);
}

function withTimeout(check: HealthCheck, timeoutMs: number): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'unhealthy', reasons: [`health check timed out after ${timeoutMs} ms`] }), timeoutMs);
  });
  const run = (async () => check())().catch(
    (error: unknown): HealthReport => ({
      status: 'unhealthy',
      reasons: [`health check failed: ${error instanceof Error ? error.message : String(error)}`],
    }),
  );
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

function buildApp(options: OpsServerOptions, registry: Registry): FastifyInstance {
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  // Typed as fastify's base logger so that the instance keeps fastify's default generics.
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'ops' });
  const app = fastify({
    loggerInstance,
    // Probes hit these routes every few seconds; a log line per probe would bury everything else.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.get(
    '/about/health',
    { schema: { response: { 200: jsonSchema(healthyBody), 503: jsonSchema(unhealthyBody) } } },
    async (_request, reply) => {
      const report = await withTimeout(options.health, healthTimeoutMs);
      if (report.status === 'ok') return reply.code(200).send({ status: 'ok' });
      // An unhealthy report without a reason would break the contract: say so instead of nothing.
      const reasons = report.reasons.length > 0 ? report.reasons : ['unhealthy (no reason given)'];
      return reply.code(503).send({ status: 'unhealthy', reasons });
    },
  );

  app.get('/about/version', { schema: { response: { 200: jsonSchema(versionBody) } } }, () => ({
    name: options.name,
    version: options.version,
  }));

  app.get(
    '/metrics',
    { schema: { response: { 200: { content: { [registry.contentType]: { schema: { type: 'string' } } } } } } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );

  return app;
}
