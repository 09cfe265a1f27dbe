// COLIBRI2 `conference-modify` on the bridge side (jicofo-jvb.md §3.2–3.5): validation with Jitsi's error
// conditions and reasons, then the media plane changes, then `conference-modified` with the Hummingbird
// consumer report (packages/xmpp colibri2-consumers.ts).
import {
  buildConferenceModified, buildConsumerReport, colibri2StanzaError, conferenceModifyShapeError, iceUdpTransportFromMediasoup,
  offerDescription, parseConferenceModify, StanzaError, type Colibri2Endpoint, type Colibri2EndpointResult, type Colibri2Media,
  type ConferenceModify, type Element, type ReceiverConsumers,
} from '@hummingbird/xmpp';
import { parseXmlString } from '@hummingbird/xmpp';
import type { types } from 'mediasoup';
import { Conference, type ConferenceLogger } from './conference.js';
import { MID_MODE, type Endpoint } from './endpoint.js';
import { ROUTER_MEDIA_CODECS } from './media/codecs.js';
import type { WorkerPool } from './media/worker-pool.js';

export interface ColibriOptions {
  readonly pool: WorkerPool;
  readonly logger: ConferenceLogger & { info(object: object, message: string): void };
  /** True while the bridge refuses new conferences (graceful shutdown, §4.9). */
  readonly refuseNewConferences: () => boolean;
  /** Expire an endpoint that has not connected / stayed disconnected this long (default 60 s, JVB's 1 min). */
  readonly endpointTimeoutMs?: number;
  /** Height of the top simulcast layer (receiver maxHeight → spatial layer); default 720. */
  readonly topLayerHeight?: number;
  /** The colibri-ws URL for one endpoint, or undefined when the bridge channel is not offered. */
  readonly webSocketUrl?: (conference: Conference, endpoint: Endpoint) => string | undefined;
}

/** Counters the stats and metrics read. */
export interface ColibriCounters {
  conferencesCreated: number;
  conferencesCompleted: number;
  conferencesFailed: number;
  endpointsCreated: number;
  /** Endpoints the bridge expired itself (never connected, ICE lost, DTLS failed). */
  endpointsExpired: number;
  requests: number;
  errors: number;
}

const badRequest = (text: string): StanzaError => new StanzaError('bad-request', 'modify', text);

export class ColibriService {
  readonly #options: ColibriOptions;
  readonly conferences = new Map<string, Conference>();
  /** Meeting ids whose creation is in progress (two concurrent creates must not both build a router). */
  readonly #creating = new Map<string, Promise<Conference>>();
  readonly counters: ColibriCounters = {
    conferencesCreated: 0, conferencesCompleted: 0, conferencesFailed: 0, endpointsCreated: 0, endpointsExpired: 0, requests: 0, errors: 0,
  };

  constructor(options: ColibriOptions) {
    this.#options = options;
  }

  /** The IQ handler body: the request payload in, the `<conference-modified>` out, or a thrown StanzaError. */
  async handle(payload: Element, from: string | undefined): Promise<Element> {
    this.counters.requests++;
    try {
      return await this.#handle(payload, from);
    } catch (error) {
      this.counters.errors++;
      throw error;
    }
  }

  async #handle(payload: Element, from: string | undefined): Promise<Element> {
    const req = parseConferenceModify(payload);
    const shape = conferenceModifyShapeError(req);
    if (shape !== undefined) throw colibri2StanzaError('feature_not_implemented', shape);
    if (req.relays.length > 0) throw new StanzaError('feature-not-implemented', 'cancel', 'relays (Octo) are not enabled on this bridge');
    if (req.connects !== undefined && req.connects.length > 0) {
      throw new StanzaError('feature-not-implemented', 'cancel', 'media export (connects) is not supported by this bridge');
    }
    const requestText = payload.toString();

    let conference = this.conferences.get(req.meetingId);
    if (req.create === true) {
      if (conference !== undefined) {
        const replay = conference.createReplies.get(requestText);
        if (replay !== undefined) return parseXmlString(replay.reply);
        throw colibri2StanzaError('conference_already_exists', `conference ${req.meetingId} already exists`);
      }
      if (this.#options.refuseNewConferences()) throw colibri2StanzaError('graceful_shutdown', 'the bridge is shutting down');
      conference = await this.#createConference(req);
    } else if (conference === undefined) {
      throw colibri2StanzaError('conference_not_found', `no conference ${req.meetingId}`);
    }
    const conf = conference;
    if (from !== undefined) conf.focusJid = from;
    return conf.serialize(async () => {
      if (conf.closed) throw colibri2StanzaError('conference_not_found', `conference ${req.meetingId} has ended`);
      const replay = conf.createReplies.get(requestText);
      if (replay !== undefined) return parseXmlString(replay.reply);
      const reply = await this.#modify(conf, req);
      const created = req.endpoints.filter((e) => e.create === true).map((e) => e.id);
      if (created.length > 0 && !conf.closed) conf.createReplies.set(requestText, { reply: reply.toString(), endpointIds: created });
      return reply;
    });
  }

  async #createConference(req: ConferenceModify): Promise<Conference> {
    const pending = this.#creating.get(req.meetingId);
    if (pending !== undefined) {
      await pending.catch(() => undefined);
      throw colibri2StanzaError('conference_already_exists', `conference ${req.meetingId} already exists`);
    }
    const work = (async () => {
      const worker = this.#options.pool.leastLoaded();
      if (worker === undefined) throw colibri2StanzaError('unspecified', 'no mediasoup worker is running');
      const router = await worker.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { meetingId: req.meetingId } });
      const conf = new Conference(req.meetingId, req.name, router, worker, this.#options.logger);
      conf.topLayerHeight = this.#options.topLayerHeight ?? 720;
      try {
        await conf.startSpeakerDetection();
      } catch (error) {
        router.close();
        throw error;
      }
      this.conferences.set(req.meetingId, conf);
      this.counters.conferencesCreated++;
      // A dead worker closes the router first and then emits 'died': the pool's workerDied → failConferencesOn
      // removes and reports the conference, so nothing is done on the router's 'workerclose' here.
      this.#options.logger.info({ meetingId: req.meetingId, conferenceId: conf.id, worker: worker.index }, 'conference created');
      return conf;
    })();
    this.#creating.set(req.meetingId, work);
    try {
      return await work;
    } finally {
      this.#creating.delete(req.meetingId);
    }
  }

  /** Validates every endpoint against the conference before anything changes (§3.5). */
  #validate(conf: Conference, req: ConferenceModify): void {
    const pureBatch = req.endpoints.every(
      (e) => e.create !== true && e.media.length === 0 && e.transport === undefined && e.sources === undefined && e.initialLastN === undefined,
    );
    for (const ep of req.endpoints) {
      const exists = conf.endpoints.has(ep.id);
      if (ep.create === true) {
        if (exists) throw new StanzaError('conflict', 'cancel', `endpoint ${ep.id} already exists`);
        if (ep.transport === undefined) throw badRequest(`endpoint ${ep.id}: create needs a <transport>`);
        if (!ep.capabilities.includes('source-names')) throw badRequest(`endpoint ${ep.id}: the source-names capability is required`);
      } else if (!exists && !(ep.expire === true || pureBatch)) {
        throw colibri2StanzaError('unknown_endpoint', `unknown endpoint ${ep.id}`);
      }
      if (ep.mucRole === 'visitor' && ep.sources !== undefined && ep.sources.length > 0) throw badRequest(`endpoint ${ep.id}: a visitor cannot send sources`);
      const sctp = ep.transport?.sctp;
      if (sctp !== undefined) {
        if (sctp.role === 'client') throw new StanzaError('feature-not-implemented', 'cancel', 'the bridge is always the SCTP server');
        if (sctp.port !== undefined && sctp.port !== 5000) throw badRequest('the SCTP port must be 5000');
        throw new StanzaError('feature-not-implemented', 'cancel', 'SCTP data channels are not offered; use colibri-ws');
      }
    }
  }

  async #modify(conf: Conference, req: ConferenceModify): Promise<Element> {
    this.#validate(conf, req);
    const results: Colibri2EndpointResult[] = [];
    const changedReceivers = new Set<Endpoint>();
    let created = req.create === true;

    if (req.expire === true) {
      this.#expireConference(conf, 'expired by the focus');
      return buildConferenceModified({ endpoints: req.endpoints.map((e) => ({ id: e.id, expire: true })), relays: [] });
    }

    for (const ep of req.endpoints) {
      if (ep.expire === true) {
        for (const r of conf.expireEndpoint(ep.id)) changedReceivers.add(r);
        results.push({ id: ep.id, expire: true });
        continue;
      }
      const existing = conf.endpoints.get(ep.id);
      if (existing === undefined && ep.create !== true) {
        // A pure force-mute batch naming an endpoint that is gone: nothing to do (§3.5).
        results.push({ id: ep.id });
        continue;
      }
      const endpoint = existing ?? (await this.#createEndpoint(conf, ep));
      try {
        results.push(await this.#updateEndpoint(conf, endpoint, ep, changedReceivers));
      } catch (error) {
        // A create that failed half-way leaves nothing behind.
        if (ep.create === true) for (const r of conf.endpoints.get(ep.id) === endpoint ? conf.expireEndpoint(ep.id) : []) changedReceivers.add(r);
        throw error;
      }
      if (ep.create === true) created = true;
    }

    for (const r of changedReceivers) await r.updateConsumers();
    const reply = buildConferenceModified({
      endpoints: results,
      relays: [],
      ...(created ? { sources: conf.feedbackSources() } : {}),
    });
    const report: ReceiverConsumers[] = [...changedReceivers]
      .filter((r) => !r.closed)
      .map((r) => ({ endpointId: r.id, sources: r.consumerReport() }));
    if (report.length > 0) reply.cnode(buildConsumerReport(report));

    // §3.3 item 7: a non-create request that leaves no endpoints ends the conference.
    if (req.create !== true && conf.endpoints.size === 0) this.#expireConference(conf, 'no endpoints left');
    return reply;
  }

  async #createEndpoint(conf: Conference, ep: Colibri2Endpoint): Promise<Endpoint> {
    const endpoint = await conf.createEndpoint(ep.id, ep.statsId, ep.mucRole === 'visitor');
    this.counters.endpointsCreated++;
    this.#watch(conf, endpoint);
    return endpoint;
  }

  /**
   * Endpoint expiry by the bridge (jicofo-jvb.md §4.9): not connected within the timeout, ICE disconnected for the
   * timeout, or DTLS failed. Runs in the conference's request order; the focus is not told (JVB does not either;
   * it learns from the client or from a later unknown_endpoint).
   */
  #watch(conf: Conference, endpoint: Endpoint): void {
    const t = endpoint.transport;
    if (!('iceState' in t)) return;
    const timeoutMs = this.#options.endpointTimeoutMs ?? 60_000;
    const expire = (reason: string): void => {
      void conf
        .serialize(async () => {
          if (conf.closed || conf.endpoints.get(endpoint.id) !== endpoint) return;
          const affected = conf.expireEndpoint(endpoint.id);
          this.counters.endpointsExpired++;
          this.#options.logger.info({ meetingId: conf.meetingId, endpoint: endpoint.id, reason }, 'endpoint expired by the bridge');
          for (const r of affected) await r.updateConsumers();
          if (conf.endpoints.size === 0) this.#expireConference(conf, 'no endpoints left');
        })
        .catch((error: unknown) => this.#options.logger.warn({ err: error, endpoint: endpoint.id }, 'endpoint expiry failed'));
    };
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      if (!endpoint.mediaConnected) expire(`ICE/DTLS not connected within ${timeoutMs} ms`);
    }, timeoutMs);
    timer.unref();
    t.on('icestatechange', (state) => {
      clearTimeout(timer);
      timer = undefined;
      if (state === 'disconnected') {
        timer = setTimeout(() => expire(`ICE disconnected for ${timeoutMs} ms`), timeoutMs);
        timer.unref();
      }
    });
    t.on('dtlsstatechange', (state) => {
      if (state === 'failed') expire('DTLS failed');
    });
    t.observer.once('close', () => clearTimeout(timer));
  }

  async #updateEndpoint(conf: Conference, endpoint: Endpoint, ep: Colibri2Endpoint, changed: Set<Endpoint>): Promise<Colibri2EndpointResult> {
    const hadCaps = endpoint.rtpCapabilities() !== undefined;
    if (ep.media.length > 0) endpoint.addMedia(ep.media);
    if (ep.initialLastN !== undefined) {
      endpoint.lastN = ep.initialLastN;
      changed.add(endpoint);
    }
    if (ep.forceMute !== undefined) await endpoint.setForceMute(ep.forceMute);

    let transportResult: Colibri2EndpointResult['transport'];
    if (ep.transport?.iceRestart === true && ep.create !== true) {
      await endpoint.webRtc.restartIce();
      transportResult = { iceUdp: this.#iceUdp(conf, endpoint) };
    }
    if (ep.transport?.iceUdp !== undefined) await endpoint.connectDtls(ep.transport.iceUdp);

    if (ep.sources !== undefined) {
      const { removed, added } = endpoint.diffSources(ep.sources);
      for (const s of removed) {
        for (const r of conf.endpoints.values()) if (r.consumers.delete(s.producer.id)) changed.add(r);
        s.producer.close();
      }
      for (const s of added) {
        const produced = await endpoint.produce(s);
        if (produced === undefined) continue;
        await conf.observeAudio(produced.producer);
        for (const r of await conf.consumeEverywhere(endpoint, produced.producer)) changed.add(r);
      }
    }
    // A receiver whose media just arrived (usually at create) consumes everything that exists already.
    if (!hadCaps && (await conf.consumeAllFor(endpoint))) changed.add(endpoint);
    if (ep.create === true) changed.add(endpoint);

    if (ep.create === true) {
      return { id: ep.id, media: this.#routerMedia(conf.router), transport: { iceUdp: this.#iceUdp(conf, endpoint) } };
    }
    return transportResult === undefined ? { id: ep.id } : { id: ep.id, transport: transportResult };
  }

  #iceUdp(conf: Conference, endpoint: Endpoint): ReturnType<typeof iceUdpTransportFromMediasoup> {
    const url = this.#options.webSocketUrl?.(conf, endpoint);
    return iceUdpTransportFromMediasoup(endpoint.webRtc, url === undefined ? {} : { webSocketUrl: url });
  }

  /** The router's payload types and extension ids, as the focus must offer them (§8.3), without sdes:mid (§8.4). */
  #routerMedia(router: types.Router): Colibri2Media[] {
    return (['audio', 'video'] as const).map((kind) => {
      const d = offerDescription(router.rtpCapabilities, kind, { midMode: MID_MODE });
      return { type: kind, payloadTypes: d.payloadTypes, headerExtensions: d.headerExtensions, extmapAllowMixed: d.extmapAllowMixed };
    });
  }

  #expireConference(conf: Conference, reason: string): void {
    if (this.conferences.get(conf.meetingId) === conf) this.conferences.delete(conf.meetingId);
    if (conf.closed) return;
    conf.close();
    this.counters.conferencesCompleted++;
    this.#options.logger.info({ meetingId: conf.meetingId, reason }, 'conference expired');
  }

  /** The conferences on a worker that died: removed (so later requests get conference_not_found) and returned. */
  failConferencesOn(worker: { index: number; pid: number }): Conference[] {
    const failed: Conference[] = [];
    for (const conf of [...this.conferences.values()]) {
      if (conf.worker.pid !== worker.pid) continue;
      this.conferences.delete(conf.meetingId);
      conf.close();
      this.counters.conferencesFailed++;
      failed.push(conf);
    }
    return failed;
  }

  /** A conference by its local id (the one in colibri-ws URLs). */
  byLocalId(id: string): Conference | undefined {
    for (const c of this.conferences.values()) if (c.id === id) return c;
    return undefined;
  }

  /** Endpoint count over all conferences. */
  get endpointCount(): number {
    let n = 0;
    for (const c of this.conferences.values()) n += c.endpoints.size;
    return n;
  }

  close(): void {
    for (const conf of [...this.conferences.values()]) this.#expireConference(conf, 'bridge stopping');
  }
}
