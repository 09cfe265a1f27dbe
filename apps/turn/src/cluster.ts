import cluster, { type Worker } from 'node:cluster';
import { createLogger, readPackageVersion, startService, type Logger, type RunningService } from '@hummingbird/service';
import { Gauge, Registry } from 'prom-client';
import type { TurnConfig } from './config.js';
import { DROP_REASONS, REFUSAL_REASONS, type TurnMetricsSnapshot } from './metrics.js';
import { serverOptionsFromConfig } from './options.js';
import { registerTurnMetrics } from './prometheus.js';
import { startTurnServer, type TurnServerHandle } from './server.js';

/**
 * One relay process per core (config `workers`), on node:cluster. Why this shape (docs/turn.md,
 * "processes"): Node 20 has no SO_REUSEPORT for sockets, and a UDP socket shared through
 * cluster hands each datagram to whichever worker reads first, while an allocation lives in one
 * worker. So TCP and TLS connections (where a TURN allocation lives on its connection) are
 * spread over all workers by cluster's round-robin; UDP is served by worker 0 only; every
 * worker owns its own slice of the relay port range. The primary runs the ops server and sums
 * the workers' counters.
 */

// Not under HB_TURN_: every HB_TURN_* variable is a config key, and unknown keys are errors.
export const WORKER_ENV = 'HUMMINGBIRD_TURN_WORKER';

type ToPrimary = { type: 'ready'; ports: TurnServerHandle['ports'] } | { type: 'metrics'; snapshot: TurnMetricsSnapshot } | { type: 'failed'; message: string };
type ToWorker = { type: 'drain'; budgetMs: number };

export function sumSnapshots(list: readonly TurnMetricsSnapshot[]): TurnMetricsSnapshot {
  const refusals = Object.create(null) as Record<(typeof REFUSAL_REASONS)[number], number>;
  const drops = Object.create(null) as Record<(typeof DROP_REASONS)[number], number>;
  for (const r of REFUSAL_REASONS) refusals[r] = list.reduce((n, s) => n + s.refusals[r], 0);
  for (const r of DROP_REASONS) drops[r] = list.reduce((n, s) => n + s.drops[r], 0);
  const sum = (pick: (s: TurnMetricsSnapshot) => number): number => list.reduce((n, s) => n + pick(s), 0);
  return {
    allocations: sum((s) => s.allocations),
    allocationsCreated: sum((s) => s.allocationsCreated),
    allocationsClosed: sum((s) => s.allocationsClosed),
    connections: sum((s) => s.connections),
    requests: sum((s) => s.requests),
    relayed: {
      clientToPeer: { packets: sum((s) => s.relayed.clientToPeer.packets), bytes: sum((s) => s.relayed.clientToPeer.bytes) },
      peerToClient: { packets: sum((s) => s.relayed.peerToClient.packets), bytes: sum((s) => s.relayed.peerToClient.bytes) },
    },
    refusals,
    drops,
    dropped: sum((s) => s.dropped),
    draining: list.some((s) => s.draining),
    // The UDP listener is worker 0's: report a dgram fallback anywhere, else what the workers use.
    dataPath: list.some((s) => s.dataPath === 'dgram') || list.length === 0 ? 'dgram' : 'native',
  };
}

const EMPTY = sumSnapshots([]);

/** The primary: ops server, N workers, summed metrics, coordinated drain. */
export async function startCluster(config: TurnConfig, logger: Logger): Promise<RunningService & { ports: TurnServerHandle['ports'] }> {
  const count = config.workers;
  const snapshots = new Map<number, TurnMetricsSnapshot>();
  const workers = new Map<number, Worker>();
  let stopping = false;
  const registry = new Registry();
  const service = await startService({
    name: 'hummingbird-turn',
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    registry,
    health: () => {
      const missing = [...Array(count).keys()].filter((i) => workers.get(i)?.isConnected() !== true);
      if (missing.length > 0) return { status: 'unhealthy', reasons: [`worker(s) ${missing.join(', ')} not running`] };
      if ([...snapshots.values()].some((s) => s.draining)) return { status: 'unhealthy', reasons: ['draining: no new allocations'] };
      return { status: 'ok' };
    },
  });
  const total = (): TurnMetricsSnapshot => (snapshots.size === 0 ? EMPTY : sumSnapshots([...snapshots.values()]));
  registerTurnMetrics(registry, total);
  new Gauge({
    name: 'turn_worker_allocations',
    help: 'Allocations alive now, per relay worker process',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      for (const [index, snapshot] of snapshots) this.set({ worker: String(index) }, snapshot.allocations);
    },
  });

  let ports: TurnServerHandle['ports'] | undefined;
  const fork = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ [WORKER_ENV]: String(index) });
      workers.set(index, worker);
      let ready = false;
      worker.on('message', (message: ToPrimary) => {
        if (message.type === 'metrics') snapshots.set(index, message.snapshot);
        else if (message.type === 'ready') {
          ready = true;
          if (index === 0) ports = message.ports;
          resolve();
        } else if (message.type === 'failed') reject(new Error(`turn worker ${index} failed to start: ${message.message}`));
      });
      worker.once('exit', (code, signal) => {
        snapshots.delete(index);
        if (!ready) return reject(new Error(`turn worker ${index} exited before it was ready (code ${code}, signal ${signal})`));
        if (stopping) return;
        // Its allocations are gone with it; a fresh worker restores the capacity.
        logger.error({ worker: index, code, signal }, 'turn: worker died, starting a new one');
        fork(index).catch((error: unknown) => logger.error({ err: error, worker: index }, 'turn: worker restart failed'));
      });
    });

  const stopWorkers = async (budgetMs: number): Promise<void> => {
    stopping = true;
    const exits = [...workers.values()].filter((w) => w.isConnected() || !w.isDead()).map((w) => new Promise<void>((done) => {
      if (w.isDead()) return done();
      w.once('exit', () => done());
      if (w.isConnected()) w.send({ type: 'drain', budgetMs } satisfies ToWorker);
      else w.kill();
    }));
    const timer = setTimeout(() => {
      for (const w of workers.values()) if (!w.isDead()) w.process.kill('SIGKILL');
    }, budgetMs + 2_000);
    await Promise.all(exits);
    clearTimeout(timer);
  };

  try {
    await Promise.all([...Array(count).keys()].map((i) => fork(i)));
  } catch (error) {
    await stopWorkers(0);
    await service.close('start failed');
    throw error;
  }
  const drainMs = Math.max(0, config.shutdown.drainTimeoutMs - Math.min(2_000, config.shutdown.drainTimeoutMs / 4));
  service.lifecycle.onShutdown('turn workers', () => stopWorkers(drainMs));
  const started = ports ?? { udp: 0, tcp: 0 };
  logger.info({ workers: count, ports: started }, 'turn cluster started');
  return { ...service, ports: started };
}

/** A worker: one relay with its slice of the port range; reports to and drains for the primary. */
export async function runWorker(config: TurnConfig, index: number): Promise<void> {
  const logger = createLogger({ name: 'turn', level: config.log.level }).child({ worker: index });
  const send = (message: ToPrimary): void => {
    if (process.connected) process.send?.(message);
  };
  // The primary coordinates shutdown; Ctrl-C reaches the whole process group, so ignore it here.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  let relay: TurnServerHandle;
  try {
    const options = serverOptionsFromConfig(config, logger, { index, count: config.workers });
    relay = await startTurnServer({
      ...options,
      listen: { ...options.listen, udp: index === 0 },
      ownRelayRange: { min: config.relay.portMin, max: config.relay.portMax },
    });
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect();
    return;
  }
  send({ type: 'ready', ports: relay.ports });
  const report = setInterval(() => send({ type: 'metrics', snapshot: relay.metrics }), 1_000);
  send({ type: 'metrics', snapshot: relay.metrics });
  const stop = async (budgetMs: number): Promise<void> => {
    clearInterval(report);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([relay.drain(), new Promise<void>((done) => (timer = setTimeout(done, budgetMs)))]);
    clearTimeout(timer);
    await relay.close();
    process.exit(0);
  };
  process.on('message', (message: ToWorker) => {
    if (message.type === 'drain') {
      send({ type: 'metrics', snapshot: { ...relay.metrics, draining: true } });
      void stop(message.budgetMs);
    }
  });
  // The primary is gone: nobody will coordinate us any more.
  process.on('disconnect', () => void stop(0));
}
