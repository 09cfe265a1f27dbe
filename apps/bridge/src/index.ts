import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLogger, Lifecycle, OpsServer, readPackageVersion, type HealthReport, type Logger, type RunningService,
} from '@hummingbird/service';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  backoffDelay, buildConferenceFailed, createClientConnection, NS, StanzaError, type BridgeStats, type ClientConnection,
} from '@hummingbird/xmpp';
import { Gauge, Counter, Registry } from 'prom-client';
import { BreweryMember } from './brewery.js';
import { BridgeChannelServer } from './bridge-channel.js';
import { ColibriService } from './colibri.js';
import type { BridgeConfig } from './config.js';
import { LoadMonitor } from './load.js';
import { WorkerPool } from './media/worker-pool.js';

export { ROUTER_MEDIA_CODECS } from './media/codecs.js';
export { bridgeConfig, bridgeConfigSchema, secretRef, type BridgeConfig } from './config.js';
export { ColibriService, type ColibriCounters } from './colibri.js';
export { Conference } from './conference.js';
export { Endpoint, MID_MODE, layerFor } from './endpoint.js';
export { BreweryMember } from './brewery.js';
export { BridgeChannelServer, type BridgeChannelCounters } from './bridge-channel.js';
export { WorkerPool, MediaWorker } from './media/worker-pool.js';
export { LoadMonitor, type LoadSample } from './load.js';

export const APP_NAME = 'hummingbird-bridge';

/** A `file:<path>` or `env:<VARIABLE>` reference resolved; the error names the key, never the value. */
export function resolveSecret(ref: string, key: string, env: Readonly<Record<string, string | undefined>>): string {
  if (ref.startsWith('env:')) {
    const value = env[ref.slice(4)];
    if (value === undefined || value === '') throw new Error(`${key}: environment variable ${ref.slice(4)} is not set or empty`);
    return value;
  }
  if (ref.startsWith('file:')) {
    const value = readFileSync(ref.slice(5), 'utf8').replace(/\r?\n$/, '');
    if (value === '') throw new Error(`${key}: ${ref.slice(5)} is empty`);
    return value;
  }
  throw new Error(`${key}: not a file: or env: reference`);
}

/** Drain and graceful shutdown, as JVB has them (jicofo-jvb.md §4.9). */
export interface ShutdownState {
  drain: boolean;
  gracefulShutdown: boolean;
  shuttingDown: boolean;
}

export interface BridgeService extends RunningService {
  readonly id: string;
  readonly pool: WorkerPool;
  readonly colibri: ColibriService;
  readonly brewery: BreweryMember;
  readonly connection: ClientConnection;
  readonly load: LoadMonitor;
  readonly state: ShutdownState;
  /** The colibri-ws server, when enabled. */
  readonly channels: BridgeChannelServer | undefined;
  /** The brewery stats as published now. */
  stats(): BridgeStats;
  /** The JVB-style flat statistics of `/colibri/stats`. */
  colibriStats(): Record<string, number | string | boolean>;
  health(): HealthReport;
  /** Starts a graceful shutdown (true) or shuts down now (false), as POST /colibri/shutdown. */
  shutdown(graceful: boolean): void;
  setDrain(drain: boolean): void;
}

/** Starts the bridge: workers, ops server, XMPP connection, brewery. The caller owns the returned service. */
export async function start(
  config: BridgeConfig,
  logger: Logger = createLogger({ name: 'bridge', level: config.log.level }),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<BridgeService> {
  const password = resolveSecret(config.xmpp.passwordRef, 'xmpp.passwordRef', env);
  const id = config.bridge.id ?? config.xmpp.nickname ?? `jvb-${randomBytes(4).toString('hex')}`;
  const nickname = config.xmpp.nickname ?? id;
  const version = readPackageVersion(import.meta.url);
  const lifecycle = new Lifecycle({ logger, drainTimeoutMs: config.shutdown.drainTimeoutMs });
  const state: ShutdownState = { drain: config.bridge.initialDrain, gracefulShutdown: false, shuttingDown: false };

  const pool = await WorkerPool.start({ ...config.media, workerBin: config.media.workerBin });
  lifecycle.onShutdown('mediasoup workers', () => pool.close());
  let wsBase: string | undefined;
  const colibri = new ColibriService({
    pool,
    logger,
    refuseNewConferences: () => state.gracefulShutdown || state.shuttingDown,
    topLayerHeight: config.video.topLayerHeight,
    endpointTimeoutMs: config.bridge.endpointTimeoutMs,
    webSocketUrl: (conf, ep) =>
      wsBase === undefined ? undefined : `${wsBase}/colibri-ws/${id}/${conf.id}/${encodeURIComponent(ep.id)}?pwd=${ep.wsPassword}`,
  });
  lifecycle.onShutdown('conferences', () => colibri.close());
  const channels = config.websocket.enabled
    ? new BridgeChannelServer({ bridgeId: id, colibri, host: config.websocket.host, port: config.websocket.port, logger })
    : undefined;
  if (channels !== undefined) lifecycle.onShutdown('colibri-ws', () => channels.close());
  const load = new LoadMonitor(pool, colibri, config.bridge.maxPacketRate);

  const connection = createClientConnection({
    service: config.xmpp.service,
    domain: config.xmpp.domain,
    username: config.xmpp.username,
    password,
    resource: nickname,
    logger,
  });

  const stats = (): BridgeStats => ({
    stressLevel: Number(load.last.stress.toFixed(4)),
    averageParticipantStress: 0.01,
    ...(config.bridge.region === undefined ? {} : { region: config.bridge.region }),
    relayId: config.bridge.relayId ?? id,
    version,
    ...(config.bridge.release === undefined ? {} : { release: config.bridge.release }),
    gracefulShutdown: state.gracefulShutdown,
    shuttingDown: state.shuttingDown,
    drain: state.drain,
    healthy: pool.workers.length > 0,
    other: [
      { name: 'colibri2', value: 'true' },
      { name: 'conferences', value: String(colibri.conferences.size) },
      { name: 'participants', value: String(colibri.endpointCount) },
      { name: 'current_timestamp', value: new Date().toISOString() },
    ],
  });
  const brewery = new BreweryMember({ connection, breweryJid: config.xmpp.breweryJid, nickname, intervalMs: config.bridge.statsIntervalMs, stats, logger });

  const health = (): HealthReport => {
    const reasons: string[] = [];
    if (pool.workers.length === 0) reasons.push('no mediasoup worker is running');
    if (connection.state !== 'online') reasons.push(`XMPP connection is ${connection.state}`);
    else if (!brewery.joined) reasons.push(brewery.joinError ?? 'not in the brewery');
    if (brewery.statsAgeMs > 3 * config.bridge.statsIntervalMs) reasons.push('brewery stats are stale');
    return reasons.length === 0 ? { status: 'ok' } : { status: 'unhealthy', reasons };
  };

  // COLIBRI2 over XMPP: both IQ types (jicofo-jvb.md §3.1); healthcheck IQ (§4.1).
  for (const type of ['get', 'set'] as const) {
    connection.router.register(NS.COLIBRI2, 'conference-modify', type, async (req) => {
      const reply = await colibri.handle(req.payload, req.stanza.attrs.from);
      brewery.statsChanged();
      return reply;
    });
  }
  connection.router.register(NS.HEALTHCHECK, 'healthcheck', 'get', () => {
    const h = health();
    if (h.status !== 'ok') throw new StanzaError('internal-server-error', 'wait', h.reasons.join('; '));
  });

  pool.on('workerReplaced', (w) => {
    logger.info({ worker: w.index, pid: w.pid }, 'mediasoup worker replaced');
    brewery.statsChanged();
  });
  pool.on('workerReplaceFailed', (index, error) => logger.error({ err: error, worker: index }, 'could not replace a dead mediasoup worker'));
  pool.on('workerDied', (dead, error) => {
    const failed = colibri.failConferencesOn(dead);
    logger.error({ err: error, worker: dead.index, pid: dead.pid, failedConferences: failed.map((c) => c.meetingId) }, 'mediasoup worker died');
    for (const conf of failed) {
      if (conf.focusJid === undefined) continue;
      connection.caller
        .set(conf.focusJid, buildConferenceFailed({ meetingId: conf.meetingId, reason: 'worker-died' }))
        .catch((err: unknown) => logger.warn({ err, meetingId: conf.meetingId }, 'the focus did not acknowledge conference-failed'));
    }
    brewery.statsChanged();
  });

  // Metrics.
  const registry = new Registry();
  new Gauge({ name: 'hb_bridge_conferences', help: 'Conferences on this bridge', registers: [registry], collect() { this.set(colibri.conferences.size); } });
  new Gauge({ name: 'hb_bridge_endpoints', help: 'Endpoints on this bridge', registers: [registry], collect() { this.set(colibri.endpointCount); } });
  new Gauge({ name: 'hb_bridge_workers', help: 'Running mediasoup workers', registers: [registry], collect() { this.set(pool.workers.length); } });
  new Gauge({ name: 'hb_bridge_stress_level', help: 'Published stress level', registers: [registry], collect() { this.set(load.last.stress); } });
  new Gauge({ name: 'hb_bridge_healthy', help: '1 when /about/health is ok', registers: [registry], collect() { this.set(health().status === 'ok' ? 1 : 0); } });
  const counter = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({ name, help, registers: [registry], collect() { const v = read(); this.inc(Math.max(0, v - last)); last = v; } });
  };
  counter('hb_bridge_conferences_created_total', 'Conferences created', () => colibri.counters.conferencesCreated);
  counter('hb_bridge_conferences_failed_total', 'Conferences lost with their worker', () => colibri.counters.conferencesFailed);
  counter('hb_bridge_colibri_requests_total', 'COLIBRI2 requests', () => colibri.counters.requests);
  counter('hb_bridge_colibri_errors_total', 'COLIBRI2 requests answered with an error', () => colibri.counters.errors);
  counter('hb_bridge_ws_messages_malformed_total', 'colibri-ws messages ignored as malformed', () => channels?.counters.malformed ?? 0);
  counter('hb_bridge_ws_messages_unknown_total', 'colibri-ws messages of an unknown colibriClass', () => channels?.counters.unknown ?? 0);
  counter('hb_bridge_workers_replaced_total', 'mediasoup workers replaced after dying', () => pool.replacedWorkers);

  const colibriStats = (): Record<string, number | string | boolean> => {
    let largest = 0;
    for (const c of colibri.conferences.values()) largest = Math.max(largest, c.endpoints.size);
    return {
      // JVB's legacy key names (jicofo-jvb.md §4.12) where they exist.
      conferences: colibri.conferences.size,
      participants: colibri.endpointCount,
      endpoints: colibri.endpointCount,
      local_endpoints: colibri.endpointCount,
      largest_conference: largest,
      stress_level: load.last.stress,
      average_participant_stress: 0.01,
      packet_rate_download: Math.round(load.last.packetRate),
      total_packets_received: load.last.packetsReceived,
      total_packets_sent: load.last.packetsSent,
      total_conferences_created: colibri.counters.conferencesCreated,
      total_conferences_completed: colibri.counters.conferencesCompleted,
      total_failed_conferences: colibri.counters.conferencesFailed,
      total_participants: colibri.counters.endpointsCreated,
      hb_endpoints_expired_by_bridge: colibri.counters.endpointsExpired,
      graceful_shutdown: state.gracefulShutdown,
      shutting_down: state.shuttingDown,
      drain: state.drain,
      healthy: health().status === 'ok',
      region: config.bridge.region ?? '',
      relay_id: config.bridge.relayId ?? id,
      version,
      current_timestamp: new Date().toISOString(),
      mucs_joined: brewery.joined ? 1 : 0,
      mucs_configured: 1,
      muc_clients_connected: connection.state === 'online' ? 1 : 0,
      muc_clients_configured: 1,
      workers: pool.workers.length,
      workers_replaced: pool.replacedWorkers,
      hb_cpu_usage: load.last.cpu,
      total_dominant_speaker_changes: [...colibri.conferences.values()].reduce((n, c) => n + c.dominantSpeakerChanges, 0),
      total_colibri_web_socket_messages_received: channels?.counters.messagesReceived ?? 0,
      total_colibri_web_socket_messages_sent: channels?.counters.messagesSent ?? 0,
      hb_colibri_web_socket_messages_malformed: channels?.counters.malformed ?? 0,
      hb_colibri_web_socket_messages_unknown: channels?.counters.unknown ?? 0,
    };
  };

  let exitTimer: NodeJS.Timeout | undefined;
  const checkShutdown = (): void => {
    if (state.gracefulShutdown && !state.shuttingDown && colibri.endpointCount === 0) {
      state.shuttingDown = true;
      brewery.statsChanged();
      logger.info({ delayMs: config.bridge.shuttingDownDelayMs }, 'graceful shutdown: no endpoints left, shutting down');
      exitTimer = setTimeout(() => void lifecycle.close('graceful shutdown'), config.bridge.shuttingDownDelayMs);
    }
  };
  const shutdown = (graceful: boolean): void => {
    if (!graceful) {
      state.gracefulShutdown = true;
      state.shuttingDown = true;
      brewery.statsChanged();
      exitTimer ??= setTimeout(() => void lifecycle.close('shutdown'), config.bridge.shuttingDownDelayMs);
      return;
    }
    state.gracefulShutdown = true;
    brewery.statsChanged();
    checkShutdown();
  };
  const setDrain = (drain: boolean): void => {
    state.drain = drain;
    brewery.statsChanged();
  };

  const ops = new OpsServer({ name: APP_NAME, version, logger, health, host: config.ops.host, port: config.ops.port, registry });
  ops.app.get('/colibri/stats', () => colibriStats());
  ops.app.get('/colibri/drain', () => ({ drain: state.drain }));
  ops.app.post('/colibri/drain/enable', () => (setDrain(true), { drain: true }));
  ops.app.post('/colibri/drain/disable', () => (setDrain(false), { drain: false }));
  ops.app.post('/colibri/shutdown', (request, reply) => {
    const body = request.body as { 'graceful-shutdown'?: unknown } | undefined;
    const graceful = body?.['graceful-shutdown'];
    if (typeof graceful !== 'boolean') return reply.code(400).send({ error: 'body must be {"graceful-shutdown": true|false}' });
    shutdown(graceful);
    return { gracefulShutdown: state.gracefulShutdown, shuttingDown: state.shuttingDown };
  });
  lifecycle.onShutdown('ops server', () => ops.close());
  // Registered after the ops server, so it closes first (handlers run in reverse order).
  lifecycle.onShutdown('xmpp', async () => {
    clearTimeout(exitTimer);
    clearInterval(sampler);
    await brewery.stop();
    await connection.stop();
  });

  const sampler = setInterval(() => {
    load
      .sample()
      .then(() => checkShutdown())
      .catch((error: unknown) => logger.warn({ err: error }, 'load sample failed'));
  }, config.bridge.statsIntervalMs);
  sampler.unref();

  try {
    const address = await ops.listen();
    logger.info({ address, version }, `${APP_NAME}: ops server listening`);
    if (channels !== undefined) {
      const wsAddress = await channels.listen();
      wsBase = config.websocket.publicUrl ?? wsAddress.replace(/^http/, 'ws');
      logger.info({ address: wsAddress, advertised: wsBase }, 'colibri-ws listening');
    }
    brewery.start();
    // Like JVB, a bridge started before Prosody keeps trying (health says why meanwhile); reconnects after a
    // successful start are the connection's own business.
    const stopRetry = new AbortController();
    lifecycle.onShutdown('xmpp start retry', () => stopRetry.abort());
    void (async () => {
      for (let attempt = 0; !stopRetry.signal.aborted; attempt++) {
        try {
          await connection.start();
          return;
        } catch (error) {
          if (stopRetry.signal.aborted) return;
          logger.warn({ err: error, attempt }, 'XMPP connection failed; retrying');
          await sleep(backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 }), undefined, { signal: stopRetry.signal }).catch(() => undefined);
        }
      }
    })();
    logger.info({ id, occupant: brewery.occupantJid, workers: pool.workers.length }, 'bridge started');
  } catch (error) {
    await lifecycle.close('start failed');
    throw error;
  }

  return {
    id, logger, ops, lifecycle, pool, colibri, brewery, connection, load, state, channels,
    stats, colibriStats, health, shutdown, setDrain,
    close: (reason?: string) => lifecycle.close(reason),
  };
}
