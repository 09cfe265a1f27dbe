// A conference on the bridge = one mediasoup Router on one worker (the least-loaded one when it was created),
// holding the endpoints. Every source of one endpoint is consumed by every other endpoint.
import { randomBytes, randomInt } from 'node:crypto';
import type { Colibri2MediaSource } from '@hummingbird/xmpp';
import type { types } from 'mediasoup';
import { Endpoint } from './endpoint.js';
import type { MediaWorker } from './media/worker-pool.js';

export interface ConferenceLogger {
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

/** How often the ActiveSpeakerObserver re-ranks the speakers (mediasoup's default). */
export const SPEAKER_INTERVAL_MS = 300;

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

export class Conference {
  /** Local id (hex): what the colibri-ws URL carries, never the meeting id (jicofo-jvb.md §3.4). */
  readonly id = randomBytes(8).toString('hex');
  readonly endpoints = new Map<string, Endpoint>();
  /** The bridge's own sending SSRCs (`jvb-a0`/`jvb-v0`), announced as feedback sources (§3.4, §8.7). */
  readonly feedbackSsrcs = { audio: randomInt(1, 0xffffffff), video: randomInt(1, 0xffffffff) };
  /** The JID the last request came from: where a conference-failed event goes. */
  focusJid: string | undefined;
  readonly createdAt = Date.now();
  #closed = false;
  /** Requests are processed in order per conference (jicofo-jvb.md §3.1). */
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * Replies to create requests, by the request's text: a repeated create gets the same answer. An entry lives as
   * long as the endpoints it created (a later create with that id is a new endpoint).
   */
  readonly createReplies = new Map<string, { readonly reply: string; readonly endpointIds: readonly string[] }>();
  /** Endpoint ids by speech activity, dominant first (jicofo-jvb.md §4.4). */
  speakers: string[] = [];
  /** Dominant speaker changes since creation. */
  dominantSpeakerChanges = 0;
  #observer: types.ActiveSpeakerObserver | undefined;
  /** Last SenderSourceConstraints sent, by `<endpoint>\n<source>`. */
  readonly #senderConstraints = new Map<string, number>();
  topLayerHeight = 720;

  constructor(
    readonly meetingId: string,
    readonly name: string | undefined,
    readonly router: types.Router,
    readonly worker: MediaWorker,
    readonly logger: ConferenceLogger,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Dominant speaker detection from the ssrc-audio-level extension of every audio producer (mediasoup's
   * ActiveSpeakerObserver; JVB uses the same kind of speech-activity ranking, §4.4).
   */
  async startSpeakerDetection(intervalMs = SPEAKER_INTERVAL_MS): Promise<void> {
    const observer = await this.router.createActiveSpeakerObserver({ interval: intervalMs });
    this.#observer = observer;
    observer.on('dominantspeaker', ({ producer }) => {
      const id = (producer.appData as { endpointId?: string }).endpointId;
      if (id === undefined || this.speakers[0] === id) return;
      const previous = this.speakers.filter((s) => s !== id);
      this.speakers = [id, ...previous].slice(0, 11);
      this.dominantSpeakerChanges++;
      this.broadcast({
        colibriClass: 'DominantSpeakerEndpointChangeEvent',
        dominantSpeakerEndpoint: id,
        previousSpeakers: this.speakers.slice(1, 11),
        silence: false,
      });
      for (const ep of this.endpoints.values()) {
        ep.updateConsumers().catch((error: unknown) => this.logger.warn({ err: error, endpoint: ep.id }, 'reallocation failed'));
      }
    });
  }

  /**
   * Adds an audio producer to the observer, only when it was signalled with ssrc-audio-level: without the
   * extension the observer has nothing to rank it by.
   */
  async observeAudio(producer: types.Producer): Promise<void> {
    if (this.#observer === undefined || this.#observer.closed || producer.kind !== 'audio') return;
    if (!(producer.rtpParameters.headerExtensions ?? []).some((h) => h.uri === AUDIO_LEVEL_URI)) return;
    await this.#observer.addProducer({ producerId: producer.id });
  }

  /**
   * SenderSourceConstraints (jitsi-client-protocol.md §5.4): per video source, the largest maxHeight any receiver
   * is allocated (-1 = unlimited, 0 = nobody watches), sent to the sender when it changes so its browser can
   * switch off unneeded simulcast layers.
   */
  updateSenderConstraints(force?: Endpoint): void {
    // One allocation per receiver: O(endpoints × consumers) per call.
    const needed = new Map<string, number>();
    for (const r of this.endpoints.values()) {
      for (const [c, h] of r.allocation()) {
        const key = `${c.senderId}\n${c.sourceName}`;
        const cur = needed.get(key) ?? 0;
        needed.set(key, cur === -1 || h === -1 ? -1 : Math.max(cur, h));
      }
    }
    for (const sender of this.endpoints.values()) {
      if (sender.channel === undefined) continue;
      for (const s of sender.sources.values()) {
        if (s.producer.kind !== 'video') continue;
        const key = `${sender.id}\n${s.source.id}`;
        const max = needed.get(key) ?? 0;
        if (this.#senderConstraints.get(key) === max && sender !== force) continue;
        this.#senderConstraints.set(key, max);
        sender.channel.send({ colibriClass: 'SenderSourceConstraints', sourceName: s.source.id, maxHeight: max });
      }
    }
  }

  /** Sends a bridge-channel message to every endpoint except `exceptId`. */
  broadcast(message: Record<string, unknown>, exceptId?: string): void {
    for (const ep of this.endpoints.values()) if (ep.id !== exceptId) ep.channel?.send(message);
  }

  /** Runs `task` after every earlier request of this conference has finished. */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  feedbackSources(): Colibri2MediaSource[] {
    return (['audio', 'video'] as const).map((kind) => {
      const name = kind === 'audio' ? 'jvb-a0' : 'jvb-v0';
      return { type: kind, id: name, sources: [{ ssrc: this.feedbackSsrcs[kind], name, parameters: [] }], ssrcGroups: [] };
    });
  }

  /** `plain`: an existing PlainTransport on this router instead of a WebRtcTransport (the forwarding benchmark). */
  async createEndpoint(id: string, statsId: string | undefined, visitor: boolean, plain?: types.PlainTransport): Promise<Endpoint> {
    const transport =
      plain ??
      (await this.router.createWebRtcTransport({
        webRtcServer: this.worker.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        appData: { endpointId: id },
      }));
    const ep = new Endpoint(id, statsId, visitor, transport);
    ep.speakerOrder = () => this.speakers;
    ep.onAllocated = () => this.updateSenderConstraints();
    ep.topLayerHeight = this.topLayerHeight;
    this.endpoints.set(id, ep);
    this.worker.load++;
    if ('dtlsState' in transport) {
      transport.on('dtlsstatechange', (state) => {
        if (state === 'connected') {
          ep.updateConsumers().catch((error: unknown) => this.logger.warn({ err: error, endpoint: id }, 'resuming consumers failed'));
        }
      });
    }
    return ep;
  }

  /**
   * Consumers between `receiver` and every source of the other endpoints that it does not consume yet. Returns
   * true when something was created. Receivers without media (`<media>` not sent yet) get none; visitors receive.
   */
  async consumeAllFor(receiver: Endpoint): Promise<boolean> {
    const caps = receiver.rtpCapabilities();
    if (caps === undefined) return false;
    let changed = false;
    for (const sender of this.endpoints.values()) {
      if (sender === receiver) continue;
      for (const s of sender.sources.values()) changed = (await this.#consume(receiver, sender, s.producer, caps)) || changed;
    }
    return changed;
  }

  /** Consumers of one new producer on every other endpoint. Returns the receivers that gained one. */
  async consumeEverywhere(sender: Endpoint, producer: types.Producer): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    for (const receiver of this.endpoints.values()) {
      if (receiver === sender) continue;
      const caps = receiver.rtpCapabilities();
      if (caps !== undefined && (await this.#consume(receiver, sender, producer, caps))) out.push(receiver);
    }
    return out;
  }

  async #consume(receiver: Endpoint, sender: Endpoint, producer: types.Producer, caps: types.RtpCapabilities): Promise<boolean> {
    if (receiver.consumers.has(producer.id) || producer.closed || receiver.closed) return false;
    if (!this.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) {
      this.logger.warn({ receiver: receiver.id, sender: sender.id, kind: producer.kind }, 'receiver cannot consume this producer (no common codec)');
      return false;
    }
    const sourceName = String((producer.appData as { sourceName?: string }).sourceName ?? producer.id);
    const src = sender.sources.get(sourceName);
    // §8.7: created paused, resumed when the receiver's transport is connected (updateConsumers).
    const consumer = await receiver.transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
    const videoType = src?.source.sources[0]?.videoType;
    receiver.consumers.set(producer.id, {
      consumer, senderId: sender.id, sourceName, kind: consumer.kind, msid: src?.msid ?? `${sender.id}-${consumer.kind} ${sourceName}`,
      ...(videoType === undefined ? {} : { videoType }),
    });
    consumer.on('producerclose', () => receiver.consumers.delete(producer.id));
    consumer.on('transportclose', () => receiver.consumers.delete(producer.id));
    if (consumer.type === 'simulcast') consumer.on('score', () => receiver.onProducerLayers(consumer));
    return true;
  }

  /** Closes one endpoint: its transport (and so its producers and consumers); consumers of its sources close too. */
  expireEndpoint(id: string): Endpoint[] {
    const ep = this.endpoints.get(id);
    if (ep === undefined) return [];
    const affected = [...this.endpoints.values()].filter((r) => r !== ep && [...r.consumers.values()].some((c) => c.senderId === id));
    for (const r of affected) for (const [pid, c] of r.consumers) if (c.senderId === id) r.consumers.delete(pid);
    ep.close();
    this.endpoints.delete(id);
    this.speakers = this.speakers.filter((s) => s !== id);
    for (const [k, v] of this.createReplies) if (v.endpointIds.includes(id)) this.createReplies.delete(k);
    this.worker.load = Math.max(0, this.worker.load - 1);
    return affected;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.endpoints.keys()]) this.expireEndpoint(id);
    this.router.close();
  }
}
