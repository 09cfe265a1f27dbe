// The bridge channel over colibri-ws (jitsi-client-protocol.md §5, jicofo-jvb.md §4.3): one WebSocket per
// endpoint at /colibri-ws/<bridge-id>/<conference-id>/<endpoint-id>?pwd=<secret>, one JSON object per text
// frame with a `colibriClass`. The client connects as soon as it has the session-initiate, before ICE (§5.2),
// so the socket is accepted as soon as the endpoint exists. Unknown or malformed messages are counted and
// ignored; they never close the socket.
import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import { fastify, type FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { ColibriService } from './colibri.js';
import type { Conference } from './conference.js';
import type { Endpoint } from './endpoint.js';

export interface BridgeChannelCounters {
  messagesReceived: number;
  messagesSent: number;
  /** Not JSON, not an object, no string colibriClass, or a known class with fields of the wrong type. */
  malformed: number;
  /** A colibriClass the bridge does not handle. */
  unknown: number;
  endpointMessagesRelayed: number;
  authFailures: number;
}

export interface BridgeChannelOptions {
  readonly bridgeId: string;
  readonly colibri: ColibriService;
  readonly host: string;
  readonly port: number;
  readonly logger: { warn(object: object, message: string): void; debug(object: object, message: string): void };
  /** Largest accepted frame; ljm's messages are small (EndpointStats ≈ 1 KB). */
  readonly maxPayload?: number;
  /** WebSocket ping interval (JVB: 15 s). */
  readonly pingIntervalMs?: number;
  /** ConnectionStats interval (JVB: 10 s). */
  readonly connectionStatsIntervalMs?: number;
}

const MAX_PAYLOAD = 64 * 1024;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The socket of one endpoint, as the endpoint sees it. */
class Channel {
  constructor(
    readonly socket: WebSocket,
    private readonly counters: BridgeChannelCounters,
  ) {}

  send(message: Record<string, unknown>): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.counters.messagesSent++;
    this.socket.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
}

export class BridgeChannelServer {
  readonly counters: BridgeChannelCounters = {
    messagesReceived: 0, messagesSent: 0, malformed: 0, unknown: 0, endpointMessagesRelayed: 0, authFailures: 0,
  };
  readonly #o: BridgeChannelOptions;
  readonly #app: FastifyInstance;
  #address: string | undefined;

  constructor(options: BridgeChannelOptions) {
    this.#o = options;
    this.#app = fastify({ logger: false });
  }

  /** `http://host:port` once listening. */
  get address(): string | undefined {
    return this.#address;
  }

  async listen(): Promise<string> {
    const app = this.#app;
    await app.register(websocket, { options: { maxPayload: this.#o.maxPayload ?? MAX_PAYLOAD } });
    app.get<{ Params: { bridge: string; conf: string; ep: string }; Querystring: { pwd?: string } }>(
      '/colibri-ws/:bridge/:conf/:ep',
      {
        websocket: true,
        // Checked before the upgrade (jicofo-jvb.md §4.3): wrong bridge → 404; anything else → one 403.
        preValidation: async (request, reply) => {
          const { bridge, conf, ep } = request.params;
          if (bridge !== this.#o.bridgeId) return reply.code(404).send({ error: 'unknown bridge' });
          const endpoint = this.#o.colibri.byLocalId(conf)?.endpoints.get(ep);
          const pwd = request.query.pwd;
          if (endpoint === undefined || typeof pwd !== 'string' || !sameSecret(pwd, endpoint.wsPassword)) {
            this.counters.authFailures++;
            return reply.code(403).send({ error: 'authentication failed' });
          }
          return undefined;
        },
      },
      (socket, request) => {
        const conf = this.#o.colibri.byLocalId(request.params.conf);
        const endpoint = conf?.endpoints.get(request.params.ep);
        if (conf === undefined || endpoint === undefined) {
          socket.close(1001, 'endpoint gone');
          return;
        }
        this.#attach(conf, endpoint, socket);
      },
    );
    this.#address = await app.listen({ host: this.#o.host, port: this.#o.port });
    return this.#address;
  }

  #attach(conf: Conference, endpoint: Endpoint, socket: WebSocket): void {
    const channel = new Channel(socket, this.counters);
    // A re-dial replaces the old socket (ljm reconnects with the same URL, §5.2).
    const old = endpoint.channel;
    endpoint.attachChannel(channel);
    old?.close(1000, 'replaced by a new connection');
    channel.send({ colibriClass: 'ServerHello' });
    if (conf.speakers[0] !== undefined) {
      channel.send({ colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: conf.speakers[0], previousSpeakers: conf.speakers.slice(1, 11), silence: false });
    }
    endpoint.updateConsumers().catch((error: unknown) => this.#o.logger.warn({ err: error }, 'allocation failed'));
    conf.updateSenderConstraints(endpoint);
    const ping = setInterval(() => socket.ping(), this.#o.pingIntervalMs ?? 15_000);
    ping.unref();
    // ConnectionStats every 10 s (§5.4): the bridge's estimate of the bandwidth toward this endpoint.
    const stats = setInterval(() => {
      endpoint.transport
        .getStats()
        .then((st) => {
          const bwe = st[0]?.availableOutgoingBitrate;
          if (bwe !== undefined) channel.send({ colibriClass: 'ConnectionStats', estimatedDownlinkBandwidth: bwe });
        })
        .catch(() => undefined);
    }, this.#o.connectionStatsIntervalMs ?? 10_000);
    stats.unref();
    socket.on('close', () => {
      clearInterval(ping);
      clearInterval(stats);
      if (endpoint.channel === channel) endpoint.attachChannel(undefined);
    });
    socket.on('message', (data, isBinary) => {
      this.counters.messagesReceived++;
      let message: unknown;
      try {
        message = isBinary ? undefined : JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
      } catch {
        message = undefined;
      }
      if (!isObject(message) || typeof message['colibriClass'] !== 'string') {
        this.counters.malformed++;
        return;
      }
      try {
        this.#handle(conf, endpoint, message);
      } catch (error) {
        this.counters.malformed++;
        this.#o.logger.debug({ err: error, endpoint: endpoint.id }, 'bridge channel message ignored');
      }
    });
  }

  #handle(conf: Conference, endpoint: Endpoint, m: Json): void {
    switch (m['colibriClass']) {
      case 'ClientHello':
        endpoint.channel?.send({ colibriClass: 'ServerHello' });
        return;
      case 'EndpointMessage':
      case 'EndpointStats': {
        // `from` is always stamped by the bridge, never trusted (§4.3); visitors may not send.
        const to = m['to'];
        if (to !== undefined && typeof to !== 'string') return void this.counters.malformed++;
        if (m['colibriClass'] === 'EndpointMessage' && !isObject(m['msgPayload'])) return void this.counters.malformed++;
        if (endpoint.visitor) return;
        const out = { ...m, from: endpoint.id };
        if (to === undefined || to === '') conf.broadcast(out, endpoint.id);
        else conf.endpoints.get(to)?.channel?.send(out);
        this.counters.endpointMessagesRelayed++;
        return;
      }
      case 'ReceiverVideoConstraints':
        return this.#constraints(endpoint, m);
      case 'LastNChangedEvent': {
        if (!isInt(m['lastN'])) return void this.counters.malformed++;
        endpoint.lastN = m['lastN'];
        this.#reallocate(endpoint);
        return;
      }
      case 'SourceVideoTypeMessage':
      case 'VideoTypeMessage':
      case 'ReceiverAudioSubscription':
        // Accepted, not acted on yet (allocation priority by video type, audio subscriptions).
        return;
      default:
        this.counters.unknown++;
    }
  }

  /** ReceiverVideoConstraints: every field optional, missing ones unchanged (jicofo-jvb.md §4.3). Validated first, applied whole. */
  #constraints(endpoint: Endpoint, m: Json): void {
    const lastN = m['lastN'];
    const def = m['defaultConstraints'];
    const per = m['constraints'];
    // Clients of ~2021 (jitsi-client-protocol.md §10 item 5) name endpoints instead of sources: onStageEndpoints /
    // selectedEndpoints, and `constraints` keyed by endpoint id. Endpoint ids never look like source names
    // (`<ep>-v0`), so both kinds of key share the lists; Endpoint.allocation() matches either.
    const onStage = m['onStageSources'] ?? m['onStageEndpoints'];
    const selected = m['selectedSources'] ?? m['selectedEndpoints'];
    const height = (v: unknown): number | undefined => {
      if (!isObject(v)) return undefined;
      const h = v['maxHeight'];
      return isInt(h) && h >= -1 ? h : undefined;
    };
    if (lastN !== undefined && !isInt(lastN)) return void this.counters.malformed++;
    if (def !== undefined && height(def) === undefined) return void this.counters.malformed++;
    if (per !== undefined && (!isObject(per) || Object.values(per).some((v) => height(v) === undefined))) return void this.counters.malformed++;
    if (onStage !== undefined && !isStringArray(onStage)) return void this.counters.malformed++;
    if (selected !== undefined && !isStringArray(selected)) return void this.counters.malformed++;
    const c = endpoint.constraints;
    if (!c.received) {
      c.received = true;
      c.defaultMaxHeight = 180;
    }
    if (isInt(lastN)) endpoint.lastN = lastN;
    const d = height(def);
    if (d !== undefined) c.defaultMaxHeight = d;
    if (isObject(per)) {
      c.perSource.clear();
      for (const [name, v] of Object.entries(per)) c.perSource.set(name, height(v) ?? -1);
    }
    if (isStringArray(onStage)) c.onStage = onStage;
    if (isStringArray(selected)) c.selected = selected;
    this.#reallocate(endpoint);
  }

  #reallocate(endpoint: Endpoint): void {
    endpoint.updateConsumers().catch((error: unknown) => this.#o.logger.warn({ err: error, endpoint: endpoint.id }, 'allocation failed'));
  }

  async close(): Promise<void> {
    await this.#app.close();
  }
}
