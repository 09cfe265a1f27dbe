import { createLogger, readPackageVersion, startService, type HealthReport, type Logger, type RunningService } from '@hummingbird/service';
import type { TurnConfig } from './config.js';

export { turnConfig, turnConfigSchema, type TurnConfig } from './config.js';

export const APP_NAME = 'hummingbird-turn';

/** Honest health: no STUN/TURN listener exists yet, so this process relays nothing. */
export function health(): HealthReport {
  return { status: 'unhealthy', reasons: ['not implemented yet: STUN/TURN relay (no UDP/TCP listener is open)'] };
}

/** Starts the TURN app (for now: its ops server). The caller owns the returned service. */
export async function start(config: TurnConfig, logger: Logger = createLogger({ name: 'turn', level: config.log.level })): Promise<RunningService> {
  const service = await startService({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    health,
  });
  logger.info({ config }, 'turn started (ops server only)');
  return service;
}
