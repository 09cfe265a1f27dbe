import { createLogger, readPackageVersion, startService, type HealthReport, type Logger, type RunningService } from '@hummingbird/service';
import { componentDomain, type FocusConfig } from './config.js';

export { componentDomain, focusConfig, focusConfigSchema, type FocusConfig } from './config.js';

export const APP_NAME = 'hummingbird-focus';

/**
 * Honest health: the focus does not yet connect to Prosody nor handle conference requests, so it
 * must not tell a load balancer or the stack launcher that it is ready.
 */
export function health(): HealthReport {
  return {
    status: 'unhealthy',
    reasons: ['not implemented yet: XMPP component connection and conference focus (conference IQ, MUC, Jingle)'],
  };
}

/** Starts the focus (for now: its ops server). The caller owns the returned service and closes it. */
export async function start(config: FocusConfig, logger: Logger = createLogger({ name: 'focus', level: config.log.level })): Promise<RunningService> {
  const service = await startService({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    health,
  });
  // Secrets in `config` are redacted by the logger; logging the effective config is how an
  // operator checks which file and env overrides won.
  logger.info({ config, componentDomain: componentDomain(config) }, 'focus started (ops server only)');
  return service;
}
