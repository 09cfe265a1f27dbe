import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { ConfigDefinition } from './config.js';
import { ConfigError } from './errors.js';
import { Lifecycle, installSignalHandlers, DEFAULT_DRAIN_TIMEOUT_MS, type ShutdownResult } from './lifecycle.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
import { OpsServer, DEFAULT_OPS_HOST, type HealthCheck } from './ops-server.js';

// ---------------------------------------------------------------------------------------------
// Config sections every app has, so that `ops.port` means the same thing in all four.

export function opsConfigSchema(defaultPort: number) {
  return z
    .object({
      host: z
        .string()
        .min(1)
        .default(DEFAULT_OPS_HOST)
        .describe('Address the ops server binds. Loopback by default: binding anything else exposes\n/metrics and /about/* and is the operator\'s explicit choice.'),
      port: z.number().int().min(0).max(65_535).default(defaultPort).describe('TCP port of the ops server (0 picks a free port).'),
    })
    .describe('Operations server: GET /about/health, /about/version, /metrics (Prometheus).');
}

export const logConfigSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default('info').describe('Minimum level written (JSON lines on stdout).'),
  })
  .describe('Logging.');

export const shutdownConfigSchema = z
  .object({
    drainTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_DRAIN_TIMEOUT_MS)
      .describe('On SIGTERM/SIGINT, how long draining may take before the process exits anyway.'),
  })
  .describe('Graceful shutdown.');

// ---------------------------------------------------------------------------------------------

/** Reads `version` from the package.json above `moduleUrl` (works from src/ and from dist/). */
export function readPackageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return '0.0.0-unknown';
}

export interface ServiceOptions {
  name: string;
  version: string;
  logger: Logger;
  ops: { host: string; port: number };
  health: HealthCheck;
  drainTimeoutMs?: number;
  registry?: Registry;
}

/** A started app: its logger, its ops server (listening) and the lifecycle that closes both. */
export interface RunningService {
  readonly logger: Logger;
  readonly ops: OpsServer;
  readonly lifecycle: Lifecycle;
  close(reason?: string): Promise<ShutdownResult>;
}

/**
 * The common start of every app: ops server listening, its close registered first so that it
 * is closed *last* — health and metrics stay answerable while the app drains.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const lifecycle = new Lifecycle({ logger: options.logger, drainTimeoutMs: options.drainTimeoutMs });
  const ops = new OpsServer({
    name: options.name,
    version: options.version,
    logger: options.logger,
    health: options.health,
    host: options.ops.host,
    port: options.ops.port,
    registry: options.registry,
  });
  lifecycle.onShutdown('ops server', () => ops.close());
  try {
    const address = await ops.listen();
    options.logger.info({ address, version: options.version }, `${options.name}: ops server listening`);
  } catch (error) {
    await lifecycle.close('start failed');
    throw error;
  }
  return { logger: options.logger, ops, lifecycle, close: (reason?: string) => lifecycle.close(reason) };
}

export interface MainOptions<S extends z.ZodObject> {
  definition: ConfigDefinition<S>;
  start: (config: Readonly<z.output<S>>, logger: Logger) => Promise<RunningService>;
  /** Picks the log level out of the loaded config. */
  logLevel: (config: Readonly<z.output<S>>) => LogLevel;
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** False in tests, which close the returned service themselves. */
  installSignals?: boolean;
}

/** `--config <file>` or `--config=<file>` wins over `HB_<APP>_CONFIG`. */
export function configFileFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, fileEnvName: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') return argv[i + 1];
    if (arg?.startsWith('--config=')) return arg.slice('--config='.length);
  }
  const fromEnv = env[fileEnvName];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * The body of every `main.ts`: load and validate the config (a bad key ends the process with
 * exit code 2 and one readable message, no stack), start, drain on SIGTERM/SIGINT.
 */
export async function runMain<S extends z.ZodObject>(options: MainOptions<S>): Promise<RunningService | undefined> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const { definition } = options;
  let config: Readonly<z.output<S>>;
  try {
    config = definition.loadConfig({ file: configFileFrom(argv, env, definition.fileEnvName), env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      process.exitCode = 2;
      return undefined;
    }
    throw error;
  }
  const logger = createLogger({ name: definition.appName, level: options.logLevel(config) });
  try {
    const running = await options.start(config, logger);
    if (options.installSignals ?? true) installSignalHandlers({ lifecycle: running.lifecycle, logger });
    return running;
  } catch (error) {
    logger.fatal({ err: error }, `${definition.appName}: failed to start`);
    process.exitCode = 1;
    return undefined;
  }
}
