import { Lifecycle, OpsServer, createLogger, readPackageVersion, type Logger, type RunningService } from '@hummingbird/service';
import { StanzaError, createComponentConnection } from '@hummingbird/xmpp';
import { z } from 'zod';
import { breweryJid, componentDomain, mucDomain, type FocusConfig } from './config.js';
import { Focus } from './focus.js';

export { breweryJid, componentDomain, focusConfig, focusConfigSchema, mucDomain, type FocusConfig } from './config.js';
export { BridgeSelector, type BridgeSelectorOptions, type BridgeSnapshot } from './bridges.js';
export { Colibri2Client, ColibriError, classify as classifyColibriError, type BridgeClient, type Allocation, type AllocateRequest } from './colibri.js';
export { CLAIMS_NS, Conference, type ConferencePolicy } from './conference.js';
export { Focus, type FocusOptions } from './focus.js';
export { RestartLimiter, DEFAULT_RESTART_LIMITS, type RestartLimits } from './restart-limiter.js';
export { ROUTER_CAPABILITIES, MID_MODE } from './offer.js';

export const APP_NAME = 'hummingbird-focus';

/** A running focus: the service (ops server, lifecycle) and the focus itself. */
export interface RunningFocus extends RunningService {
  readonly focus: Focus;
}

/** §2.2 HTTP form body: `{room, machineUid, properties, sessionId?}`. */
const conferenceRequestBody = z.object({
  room: z.string().min(1).max(1024),
  machineUid: z.string().max(256).optional(),
  sessionId: z.string().max(256).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Starts the focus: ops server (health, version, metrics, /stats, /debug, POST /conference-request/v1), the component
 * connection to Prosody and the brewery. The caller owns the result and closes it (graceful: conferences are stopped,
 * bridge sessions expired, rooms left, then the connection and the ops server close).
 */
export async function start(config: FocusConfig, logger: Logger = createLogger({ name: 'focus', level: config.log.level })): Promise<RunningFocus> {
  const domain = componentDomain(config);
  const connection = createComponentConnection({
    service: `xmpp://${config.xmpp.component.host}:${String(config.xmpp.component.port)}`,
    domain,
    secret: config.xmpp.component.secret,
    logger: logger.child({ component: 'xmpp' }),
    iqTimeoutMs: config.bridge.colibriTimeoutMs,
  });
  const focus = new Focus({
    connection,
    componentDomain: domain,
    mucDomain: mucDomain(config),
    breweryJid: breweryJid(config),
    guestsMayCreateRooms: config.auth.guestsMayCreateRooms,
    colibriTimeoutMs: config.bridge.colibriTimeoutMs,
    logger,
    policy: {
      tokenHost: config.auth.tokenHost,
      authenticatedModerators: config.auth.authenticatedModerators,
      initialTimeoutMs: config.conference.initialTimeoutMs,
      singleParticipantTimeoutMs: config.conference.singleParticipantTimeoutMs,
      jingleTimeoutMs: config.conference.jingleTimeoutMs,
      discoTimeoutMs: 5_000,
      mucTimeoutMs: 10_000,
      restartLimits: {
        minIntervalMs: config.conference.restartMinIntervalMs,
        maxRequests: config.conference.restartMaxRequests,
        intervalMs: config.conference.restartIntervalMs,
      },
      maxMovesPerMinute: config.conference.maxMovesPerMinute,
      useSsrcRewriting: config.conference.useSsrcRewriting,
    },
    selector: {
      stressThreshold: config.bridge.stressThreshold,
      averageParticipantStress: config.bridge.averageParticipantStress,
      rampupMs: config.bridge.rampupMs,
      failureResetMs: config.bridge.failureResetMs,
      presenceTimeoutMs: config.bridge.presenceTimeoutMs,
    },
  });

  const lifecycle = new Lifecycle({ logger, drainTimeoutMs: config.shutdown.drainTimeoutMs });
  const ops = new OpsServer({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    health: () => focus.health(),
    host: config.ops.host,
    port: config.ops.port,
    registry: focus.metrics.registry,
  });
  const app = ops.app;
  app.get('/stats', () => focus.stats());
  app.get('/debug', () => focus.debug());
  app.get<{ Params: { room: string } }>('/debug/conferences/:room', (request, reply) => {
    const conference = focus.conferences.get(request.params.room.toLowerCase());
    return conference === undefined ? reply.code(404).send({ error: 'no such conference' }) : conference.describe();
  });
  app.post('/conference-request/v1', async (request, reply) => {
    const body = conferenceRequestBody.safeParse(request.body);
    if (!body.success) return reply.code(400).type('text/plain').send('400 bad-request: the body must be {room, machineUid?, properties?}');
    try {
      // No JID over HTTP: the requester counts as unauthenticated (§2.2: XMPP-domain authentication cannot work here).
      const r = await focus.conferenceRequest({ room: body.data.room, requester: undefined });
      return {
        ready: r.ready,
        focusJid: r.focusJid,
        properties: Object.fromEntries(r.properties.map((p) => [p.name, p.value])),
      };
    } catch (error) {
      if (error instanceof StanzaError) {
        if (error.condition === 'not-authorized') return reply.code(403).type('text/plain').send(`403 not-authorized: ${error.text ?? ''}`);
        if (error.condition === 'service-unavailable') return reply.code(503).type('text/plain').send(`503 service-unavailable: ${error.text ?? ''}`);
        return reply.code(400).type('text/plain').send(`400 ${error.condition}: ${error.text ?? ''}`);
      }
      throw error;
    }
  });

  // Registered first, closed last: health and metrics stay answerable while the focus drains.
  lifecycle.onShutdown('ops server', () => ops.close());
  lifecycle.onShutdown('focus', () => focus.stop());
  try {
    const address = await ops.listen();
    logger.info({ address }, `${APP_NAME}: ops server listening`);
    // Secrets in `config` are redacted by the logger.
    logger.info({ config, componentDomain: domain }, 'focus starting');
    focus.start();
  } catch (error) {
    await lifecycle.close('start failed');
    throw error;
  }
  return { logger, ops, lifecycle, focus, close: (reason?: string) => lifecycle.close(reason) };
}
