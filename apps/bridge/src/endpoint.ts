// One participant's media on the bridge: a WebRtcTransport on its worker's WebRtcServer, a Producer per
// signalled source, and a Consumer per source of every other endpoint (jitsi-client-protocol.md §8.1).
import {
  consumerRtpCapabilities, consumerSources, dtlsParametersFromTransport, MappingError, MalformedStanzaError, producerRtpParameters,
  sourceMsid, type Colibri2ForceMute, type Colibri2Media, type Colibri2MediaSource, type IceUdpTransport, type MidMode,
  type RtpDescription, type SignalledSource,
} from '@hummingbird/xmpp';
import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';

/** What the endpoint's bridge channel can do (colibri-ws, src/bridge-channel.ts). */
export interface ChannelSink {
  send(message: Record<string, unknown>): void;
  close(code: number, reason: string): void;
}

/**
 * A receiver's video constraints (jitsi-client-protocol.md §5.3, jicofo-jvb.md §4.3): maxHeight per source and by
 * default, on-stage and selected sources, last-N. Until the first ReceiverVideoConstraints the bridge forwards
 * everything at full quality (§5.5: a client without a bridge channel must still get video); after it, missing
 * fields keep their value and the default maxHeight starts at JVB's 180.
 */
export interface VideoConstraints {
  received: boolean;
  defaultMaxHeight: number;
  readonly perSource: Map<string, number>;
  onStage: string[];
  selected: string[];
}

/** Assumed simulcast layer heights: ratios 1/4, 1/2, 1 of the top layer (jitsi-client-protocol.md §8.5). */
export function layerFor(maxHeight: number, layers: number, topHeight: number): number {
  let best = 0;
  for (let i = 0; i < layers; i++) if (topHeight / 2 ** (layers - 1 - i) <= maxHeight) best = i;
  return best;
}

/**
 * The spatial layer to prefer: `wanted` (from the receiver's maxHeight), unless none of the sender's layers at or
 * below it is active; then the lowest active layer above it. mediasoup with transport-cc never forwards a layer
 * above the preferred one, so without this a sender whose low layers are off reaches no receiver that asks for
 * thumbnails. ljm of ~2021 shares its screen that way (jitsi-client-protocol.md §10): only simulcast encoding 1
 * active, at full size, encodings 0 and 2 off. `producerScores` is mediasoup's per-encoding score list (0 = inactive).
 */
export function activeLayerFor(wanted: number, producerScores: readonly number[]): number {
  if (producerScores.slice(0, wanted + 1).some((score) => score > 0)) return wanted;
  const above = producerScores.findIndex((score, layer) => layer > wanted && score > 0);
  return above < 0 ? wanted : above;
}

/**
 * How consumers reach their m-line in the browser. The focus must offer without sdes:mid (packages/xmpp
 * README, "MidMode"): mediasoup 3.19.3 stamps MIDs whenever the BUNDLE negotiated the extension, and Chrome
 * drops packets whose MID names another m-line. The bridge therefore never gives sdes:mid to consume().
 */
export const MID_MODE: MidMode = 'no-mid-extension';

/** A producer made from one `<media-source>` of the endpoint. */
export interface EndpointSource {
  readonly source: Colibri2MediaSource;
  /** The SSRC set it was produced with: a changed set means a new producer (§8.1: the browser regenerated SSRCs). */
  readonly key: string;
  readonly producer: types.Producer;
  readonly msid: string;
}

/** A consumer of another endpoint's source, sent to this endpoint. */
export interface EndpointConsumer {
  readonly consumer: types.Consumer;
  readonly senderId: string;
  readonly sourceName: string;
  readonly kind: types.MediaKind;
  readonly msid: string;
  readonly videoType?: string;
}

function sourceKey(s: Colibri2MediaSource): string {
  return `${s.type}|${s.sources.map((x) => x.ssrc).join(',')}|${s.ssrcGroups.map((g) => `${g.semantics}:${g.ssrcs.join(',')}`).join(';')}`;
}

export class Endpoint {
  readonly sources = new Map<string, EndpointSource>();
  /** Keyed by producer id. */
  readonly consumers = new Map<string, EndpointConsumer>();
  /** `<media>` from the focus, per kind; payload types and extensions are only ever added (§3.2). */
  readonly media = new Map<'audio' | 'video', Colibri2Media>();
  forceMute: { audio: boolean; video: boolean } = { audio: false, video: false };
  /** -1 = unlimited (jicofo-jvb.md §4.4). */
  lastN = -1;
  readonly constraints: VideoConstraints = { received: false, defaultMaxHeight: -1, perSource: new Map(), onStage: [], selected: [] };
  /** colibri-ws password: random, URL-safe, fixed for the endpoint's life (jicofo-jvb.md §3.4). */
  readonly wsPassword = randomBytes(18).toString('base64url');
  channel: ChannelSink | undefined;
  /** Speaker order of the conference (dominant first), for last-N. */
  speakerOrder: () => readonly string[] = () => [];
  /** Called after every allocation (the conference recomputes SenderSourceConstraints). */
  onAllocated: () => void = () => undefined;
  /** Height of the top simulcast layer the bridge assumes (see layerFor). */
  topLayerHeight = 720;
  #forwarded = '';
  /** Per simulcast consumer: which producer layers were active at the last allocation ('101'…). */
  readonly #activeLayers = new WeakMap<types.Consumer, string>();
  #allocating: Promise<void> = Promise.resolve();
  #dtlsConnectCalled = false;
  #closed = false;
  readonly createdAt = Date.now();

  constructor(
    readonly id: string,
    readonly statsId: string | undefined,
    readonly visitor: boolean,
    /** A WebRtcTransport for every COLIBRI2 endpoint; a PlainTransport only in the forwarding benchmark. */
    readonly transport: types.WebRtcTransport | types.PlainTransport,
  ) {}

  /** The endpoint's WebRtcTransport (every endpoint COLIBRI2 creates has one). */
  get webRtc(): types.WebRtcTransport {
    if (!('iceParameters' in this.transport)) throw new TypeError(`endpoint ${this.id} has no WebRtcTransport`);
    return this.transport;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** DTLS is up: consumers may be resumed (jitsi-client-protocol.md §8.7). */
  get mediaConnected(): boolean {
    const t = this.transport;
    return 'dtlsState' in t ? t.dtlsState === 'connected' : t.tuple.remoteIp !== undefined;
  }

  addMedia(list: readonly Colibri2Media[]): void {
    for (const m of list) {
      const old = this.media.get(m.type);
      if (old === undefined) {
        this.media.set(m.type, m);
        continue;
      }
      const pts = [...old.payloadTypes, ...m.payloadTypes.filter((p) => !old.payloadTypes.some((o) => o.id === p.id))];
      const exts = [...old.headerExtensions, ...m.headerExtensions.filter((h) => !old.headerExtensions.some((o) => o.id === h.id))];
      this.media.set(m.type, { ...old, payloadTypes: pts, headerExtensions: exts, extmapAllowMixed: old.extmapAllowMixed || m.extmapAllowMixed });
    }
  }

  description(kind: 'audio' | 'video'): RtpDescription | undefined {
    const m = this.media.get(kind);
    if (m === undefined) return undefined;
    return {
      media: kind, payloadTypes: m.payloadTypes, headerExtensions: m.headerExtensions, extmapAllowMixed: m.extmapAllowMixed,
      rtcpMux: true, sources: [], ssrcGroups: [],
    };
  }

  /** The capabilities consume() gets for this receiver, or undefined before the focus sent its media. */
  rtpCapabilities(): types.RtpCapabilities | undefined {
    const descriptions = (['audio', 'video'] as const).map((k) => this.description(k)).filter((d): d is RtpDescription => d !== undefined);
    if (descriptions.length === 0) return undefined;
    return consumerRtpCapabilities(descriptions, MID_MODE);
  }

  /**
   * The client's ICE-UDP transport from the focus (after session-accept): DTLS connect with its fingerprint. The
   * bridge never needs remote candidates (ICE-lite, §8.2). A second transport with the same fingerprint is a
   * no-op; mediasoup allows connect() once per transport.
   */
  async connectDtls(t: IceUdpTransport): Promise<void> {
    if (t.fingerprints.length === 0) return;
    let params: types.DtlsParameters;
    try {
      params = dtlsParametersFromTransport(t);
    } catch (error) {
      if (error instanceof MappingError) throw new MalformedStanzaError('endpoint/transport/fingerprint', error.message);
      throw error;
    }
    if (this.#dtlsConnectCalled) return;
    this.#dtlsConnectCalled = true;
    await this.webRtc.connect({ dtlsParameters: params });
  }

  /**
   * Applies a full replacement of the endpoint's sources (§3.2). Returns the producers to close (already removed
   * from `sources`) and the new sources to produce; the caller (the conference) does both, because consumers on
   * other endpoints follow.
   */
  diffSources(next: readonly Colibri2MediaSource[]): { removed: EndpointSource[]; added: Colibri2MediaSource[] } {
    const names = new Set<string>();
    for (const s of next) {
      if (names.has(s.id)) throw new MalformedStanzaError(`sources/media-source[@id=${s.id}]`, 'duplicate source name');
      names.add(s.id);
    }
    const removed: EndpointSource[] = [];
    const added: Colibri2MediaSource[] = [];
    for (const [name, cur] of this.sources) {
      const n = next.find((s) => s.id === name);
      if (n === undefined || sourceKey(n) !== cur.key) {
        removed.push(cur);
        this.sources.delete(name);
      }
    }
    for (const s of next) if (!this.sources.has(s.id)) added.push(s);
    return { removed, added };
  }

  /** Creates the producer for one signalled source (SIM → simulcast encodings, FID → RTX; §8.1). */
  async produce(s: Colibri2MediaSource): Promise<EndpointSource | undefined> {
    if (s.synthetic === true || s.sources.length === 0) return undefined;
    const d = this.description(s.type);
    if (d === undefined) throw new MalformedStanzaError(`sources/media-source[@id=${s.id}]`, `a ${s.type} source but no ${s.type} <media> for this endpoint`);
    const first = s.sources[0];
    const msid = (first === undefined ? undefined : sourceMsid(first)) ?? `${this.id}-${s.type} ${s.id}`;
    const signalled: SignalledSource = {
      name: s.id, kind: s.type, msid, ssrcs: s.sources.map((x) => x.ssrc), ssrcGroups: s.ssrcGroups,
      ...(first?.videoType === undefined ? {} : { videoType: first.videoType }),
    };
    let rtpParameters: types.RtpParameters;
    try {
      rtpParameters = producerRtpParameters(d, signalled, MID_MODE);
    } catch (error) {
      if (error instanceof MappingError) throw new MalformedStanzaError(`sources/media-source[@id=${s.id}]`, error.message);
      throw error;
    }
    let producer: types.Producer;
    try {
      producer = await this.transport.produce({ kind: s.type, rtpParameters, appData: { endpointId: this.id, sourceName: s.id } });
    } catch (error) {
      // mediasoup refuses parameters it cannot handle (unknown codec, SSRC already in use on this transport): the
      // focus sent something this router cannot carry, which is the request's fault.
      if (error instanceof Error && (error.name === 'TypeError' || error.name === 'UnsupportedError' || /already exists|in use/i.test(error.message))) {
        throw new MalformedStanzaError(`sources/media-source[@id=${s.id}]`, `cannot produce: ${error.message}`);
      }
      throw error;
    }
    if (this.forceMute[s.type]) await producer.pause();
    const entry: EndpointSource = { source: s, key: sourceKey(s), producer, msid };
    this.sources.set(s.id, entry);
    return entry;
  }

  /** force-mute: the bridge drops this endpoint's incoming audio/video (§3.2) by pausing its producers. */
  async setForceMute(fm: Colibri2ForceMute): Promise<void> {
    if (fm.audio !== undefined) this.forceMute.audio = fm.audio;
    if (fm.video !== undefined) this.forceMute.video = fm.video;
    for (const s of this.sources.values()) {
      const muted = this.forceMute[s.producer.kind];
      if (muted && !s.producer.paused) await s.producer.pause();
      else if (!muted && s.producer.paused) await s.producer.resume();
    }
  }

  /**
   * The maxHeight each video consumer gets (-1 = unlimited, 0 = not forwarded): last-N over the priority order
   * (on-stage, selected, then speakers, then the rest in creation order; jicofo-jvb.md §4.4–4.5), then the
   * per-source and default constraints.
   */
  /** A (re)connected bridge channel: it has not been told the forwarded sources yet. */
  attachChannel(channel: ChannelSink | undefined): void {
    this.channel = channel;
    this.#forwarded = '';
  }

  /**
   * A simulcast consumer's producer layers went on or off (its 'score' event): re-apply the allocation when the set
   * of active layers changed, since the preferred layer may have to move (activeLayerFor).
   */
  onProducerLayers(consumer: types.Consumer): void {
    const key = consumer.score.producerScores.map((score) => (score > 0 ? '1' : '0')).join('');
    if (this.#activeLayers.get(consumer) === key) return;
    this.#activeLayers.set(consumer, key);
    this.updateConsumers().catch(() => undefined);
  }

  allocation(): Map<EndpointConsumer, number> {
    const videos = [...this.consumers.values()].filter((c) => c.kind === 'video' && !c.consumer.closed);
    const speakers = this.speakerOrder();
    const rank = (c: EndpointConsumer): number => {
      // A source name, or (older clients, §10 item 5) the sender's endpoint id.
      const find = (list: readonly string[]): number => {
        const i = list.indexOf(c.sourceName);
        return i >= 0 ? i : list.indexOf(c.senderId);
      };
      const onStage = find(this.constraints.onStage);
      if (onStage >= 0) return onStage;
      const selected = find(this.constraints.selected);
      if (selected >= 0) return 1_000 + selected;
      const speaker = speakers.indexOf(c.senderId);
      if (speaker >= 0) return 2_000 + speaker;
      return 1_000_000;
    };
    const ordered = videos.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
    const out = new Map<EndpointConsumer, number>();
    ordered.forEach((c, i) => {
      if (this.lastN >= 0 && i >= this.lastN) {
        out.set(c, 0);
        return;
      }
      const own = this.constraints.perSource.get(c.sourceName) ?? this.constraints.perSource.get(c.senderId);
      out.set(c, own ?? (this.constraints.received ? this.constraints.defaultMaxHeight : -1));
    });
    return out;
  }

  /**
   * Applies the allocation to the consumers: only once DTLS is connected (§8.7: resume sends a keyframe request,
   * wasted before the receiver can decrypt). maxHeight 0 pauses; otherwise the preferred spatial layer follows
   * maxHeight. Audio consumers always flow. Tells the receiver which video sources it now gets (ForwardedSources).
   */
  updateConsumers(): Promise<void> {
    // Serialised: two constraint messages in a row must be applied in order.
    const run = this.#allocating.then(() => this.#applyAllocation());
    this.#allocating = run.catch(() => undefined);
    return run;
  }

  async #applyAllocation(): Promise<void> {
    if (!this.mediaConnected || this.#closed) return;
    const alloc = this.allocation();
    for (const c of this.consumers.values()) {
      if (c.consumer.closed) continue;
      const maxHeight = c.kind === 'audio' ? -1 : (alloc.get(c) ?? -1);
      if (maxHeight === 0) {
        if (!c.consumer.paused) await c.consumer.pause();
        continue;
      }
      if (c.consumer.type === 'simulcast') {
        const layers = Number(/^L(\d+)/.exec(c.consumer.rtpParameters.encodings?.[0]?.scalabilityMode ?? '')?.[1] ?? '1');
        const wanted = maxHeight < 0 ? layers - 1 : layerFor(maxHeight, layers, this.topLayerHeight);
        const spatialLayer = activeLayerFor(wanted, c.consumer.score.producerScores);
        if (c.consumer.preferredLayers?.spatialLayer !== spatialLayer) await c.consumer.setPreferredLayers({ spatialLayer });
      }
      if (c.consumer.paused) await c.consumer.resume();
    }
    this.onAllocated();
    const forwarded = [...alloc].filter(([, h]) => h !== 0).map(([c]) => c.sourceName).sort();
    const key = forwarded.join('\n');
    if (key !== this.#forwarded && this.channel !== undefined) {
      this.#forwarded = key;
      this.channel.send({ colibriClass: 'ForwardedSources', forwardedSources: forwarded });
    }
  }

  /** This receiver's full consumer set, as the focus signals it (packages/xmpp colibri2-consumers.ts). */
  consumerReport(): Colibri2MediaSource[] {
    const out: Colibri2MediaSource[] = [];
    for (const c of this.consumers.values()) {
      if (c.consumer.closed) continue;
      const { sources, ssrcGroups } = consumerSources(c.consumer.rtpParameters, {
        owner: c.senderId, name: c.sourceName, msid: c.msid, midMode: MID_MODE, ...(c.videoType === undefined ? {} : { videoType: c.videoType }),
      });
      out.push({ type: c.kind, id: c.sourceName, sources, ssrcGroups });
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // 1001 "going away": ljm stops re-dialling on it when the endpoint is alone (§5.2).
    this.channel?.close(1001, 'endpoint expired');
    this.channel = undefined;
    this.transport.close();
  }
}
