import { createLogger, readPackageVersion, startService, type HealthReport, type Logger, type RunningService } from '@hummingbird/service';
import type { TokenConfig } from './config.js';

export { secretRef, tokenConfig, tokenConfigSchema, type TokenConfig } from './config.js';

export const APP_NAME = 'hummingbird-token';

/** Honest health: the token API does not exist yet, so Prosody cannot verify any token here. */
export function health(): HealthReport {
  return { status: 'unhealthy', reasons: ['not implemented yet: token API (JWT verification, TURN credentials); no API listener is open'] };
}

/** Starts the token app (for now: its ops server). The caller owns the returned service. */
export async function start(config: TokenConfig, logger: Logger = createLogger({ name: 'token', level: config.log.level })): Promise<RunningService> {
  const service = await startService({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    health,
  });
  logger.info({ config }, 'token started (ops server only)');
  return service;
}
