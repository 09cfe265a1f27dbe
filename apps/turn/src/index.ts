import { createLogger, readPackageVersion, startService, type HealthReport, type Logger, type RunningService } from '@hummingbird/service';
import type { TurnConfig } from './config.js';
import { Registry } from 'prom-client';
import { serverOptionsFromConfig } from './options.js';
import { registerTurnMetrics } from './prometheus.js';
import { startTurnServer, type TurnServerHandle } from './server.js';

export { turnConfig, turnConfigSchema, type TurnConfig } from './config.js';
export { startTurnServer, TurnServer, type TurnServerHandle, type TurnServerOptions, type TurnLogger } from './server.js';
export { DROP_REASONS, REFUSAL_REASONS, type DropReason, type RefusalReason, type TurnMetricsSnapshot } from './metrics.js';
export { mintRestCredentials, restPassword } from './auth.js';
export { serverOptionsFromConfig } from './options.js';
export { NativeUdpUnavailableError, buildNativeUdp, type DataPath, type DataPathMode } from './native-udp.js';

export const APP_NAME = 'hummingbird-turn';

/** Health: unhealthy while draining or closed, so a load balancer stops sending new clients. */
export function health(relay: Pick<TurnServerHandle, 'metrics'> | undefined): HealthReport {
  if (relay === undefined) return { status: 'unhealthy', reasons: ['TURN relay not started'] };
  if (relay.metrics.draining) return { status: 'unhealthy', reasons: ['draining: no new allocations'] };
  return { status: 'ok' };
}

export interface RunningTurn extends RunningService {
  readonly relay: TurnServerHandle;
}

/**
 * Starts the TURN app: ops server, then the relay. On shutdown the relay drains first (no new
 * allocations, existing ones run out) until the drain deadline, then closes; the ops server
 * closes last so /metrics stays readable during the drain.
 */
export async function start(config: TurnConfig, logger: Logger = createLogger({ name: 'turn', level: config.log.level }), worker?: { index: number; count: number }): Promise<RunningTurn> {
  let relay: TurnServerHandle | undefined;
  const registry = new Registry();
  const service = await startService({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    health: () => health(relay),
    registry,
  });
  try {
    relay = await startTurnServer(serverOptionsFromConfig(config, logger, worker));
  } catch (error) {
    await service.close('start failed');
    throw error;
  }
  const started = relay;
  registerTurnMetrics(registry, () => started.metrics);
  // Drain for most of the shutdown budget, then cut what is left, so that the relay closes (and
  // the ops server after it) before the lifecycle's deadline rather than being abandoned by it.
  const drainMs = Math.max(0, config.shutdown.drainTimeoutMs - Math.min(2_000, config.shutdown.drainTimeoutMs / 4));
  service.lifecycle.onShutdown('turn relay', async (signal) => {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<void>((done) => {
      timer = setTimeout(done, drainMs);
      signal.addEventListener('abort', () => done(), { once: true });
    });
    await Promise.race([started.drain(), budget]);
    clearTimeout(timer);
    const left = started.metrics.allocations;
    if (left > 0) logger.warn({ allocations: left }, 'turn: drain budget spent, closing the remaining allocations');
    await started.close();
  });
  logger.info({ config, ports: started.ports, dataPath: started.dataPath }, 'turn started');
  return { ...service, relay: started };
}
