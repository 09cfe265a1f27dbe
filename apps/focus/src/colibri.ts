import {
  IqTimeoutError,
  MalformedStanzaError,
  StanzaError,
  buildConferenceModify,
  colibri2ReasonOf,
  consumerReportOf,
  parseConferenceModified,
  type Colibri2Endpoint,
  type Colibri2Media,
  type Colibri2MediaSource,
  type ConferenceModify,
  type Element,
  type IceUdpTransport,
  type ReceiverConsumers,
} from '@hummingbird/xmpp';

/**
 * The focus's side of COLIBRI2 (spec/jicofo-jvb.md §3): `conference-modify` IQs to the bridge's brewery occupant
 * JID, answered with `conference-modified`. Every failure becomes a {@link ColibriError} whose `action` says what
 * the conference must do about it (§3.6), with one deliberate difference from Jicofo (§6 item 9): a *timeout*
 * penalises the bridge for every request, not only for allocations.
 */

/** What the focus does after a failed COLIBRI2 request (§3.6). */
export type ColibriFailureAction =
  /** The bridge is bad (timeout, service-unavailable, malformed answer): mark it failed, move everyone off it. */
  | 'bridge-failed'
  /** The bridge refuses new conferences (graceful_shutdown): move this conference elsewhere, no penalty. */
  | 'move-conference'
  /** State out of sync (conference_not_found, conflict): drop the bridge session and re-invite, no penalty. */
  | 'reset-session'
  /** Only this participant fails (bad-request, item-not-found from the MUC, conference_already_exists). */
  | 'fail-participant';

export class ColibriError extends Error {
  override readonly name = 'ColibriError';
  readonly code = 'HB_ERR_COLIBRI';
  constructor(
    readonly bridge: string,
    readonly action: ColibriFailureAction,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The IQ sending the client needs (an XmppConnection's `caller` fits). */
export interface IqSender {
  request(type: 'get' | 'set', to: string, payload: Element, options?: { timeoutMs?: number; from?: string }): Promise<Element>;
}

export interface AllocateRequest {
  readonly meetingId: string;
  /** The room JID, sent with `create` (§3.2). */
  readonly roomJid: string;
  /** First endpoint of this meeting on this bridge: create the conference too (§3.3 step 1). */
  readonly createConference: boolean;
  readonly endpointId: string;
  readonly statsId?: string;
  readonly media: readonly Colibri2Media[];
  /** The participant advertises ssrc-rewriting-1 and the focus uses it (§4.6). */
  readonly ssrcRewriting: boolean;
}

/**
 * A Hummingbird bridge's per-receiver consumer report (`<consumers xmlns="urn:hummingbird:colibri2:consumers:0">` in
 * `conference-modified`, packages/xmpp colibri2-consumers.ts): for each receiver listed, its FULL current set of
 * consumer sources (jitsi-client-protocol.md §8.1). `seq` numbers the answers in the order they arrived: the bridge
 * answers one conference's requests in order (jicofo-jvb.md §3.1), so a higher `seq` is the newer truth, whatever
 * order the promise continuations happen to run in.
 */
export interface ConsumerAnswer {
  readonly seq: number;
  readonly receivers: readonly ReceiverConsumers[];
}

export interface Allocation {
  /** The bridge's ICE-UDP transport: ufrag/pwd, one fingerprint, candidates, colibri-ws URL. */
  readonly transport: IceUdpTransport;
  /** SSRCs of the jvb-a0 / jvb-v0 feedback sources. */
  readonly feedbackSsrcs: { readonly audio: number; readonly video: number };
  /**
   * The router's payload types and header extensions (a Hummingbird bridge's `<media>` in the endpoint result,
   * §8.3), which the offer must use; absent with JVB.
   */
  readonly media?: readonly Colibri2Media[];
  /** The consumer report of the allocation's answer; absent with JVB (the bridge forwards the senders' SSRCs). */
  readonly consumers?: ConsumerAnswer;
}

export interface EndpointUpdate {
  /** Payload types / extensions to add to the endpoint (§3.2: only ever added). */
  readonly media?: readonly Colibri2Media[];
  readonly transport?: IceUdpTransport;
  /** Full replacement of the endpoint's sources (§3.2 `<sources>`). */
  readonly sources?: readonly Colibri2MediaSource[];
  readonly initialLastN?: number;
}

/** What the conference logic needs from a bridge (COLIBRI2 here; a fake in unit tests). */
export interface BridgeClient {
  allocate(bridge: string, request: AllocateRequest): Promise<Allocation>;
  /** Resolves with the answer's consumer report, if the bridge sent one. */
  update(bridge: string, meetingId: string, endpointId: string, update: EndpointUpdate): Promise<ConsumerAnswer | undefined>;
  /** Resolves with the answer's consumer report (the receivers that lost this endpoint's consumers), if any. */
  expireEndpoint(bridge: string, meetingId: string, endpointId: string): Promise<ConsumerAnswer | undefined>;
  expireConference(bridge: string, meetingId: string): Promise<void>;
}

export interface Colibri2ClientOptions {
  /** Reply timeout per request; a timeout counts as a bridge failure. Default 15 000 ms (Jicofo `reply-timeout`). */
  timeoutMs?: number;
  /** `from` of the IQs: the focus's JID that sits in the brewery (the MUC routes IQs only between occupants). */
  from: string;
}

export class Colibri2Client implements BridgeClient {
  readonly #sender: IqSender;
  readonly #timeoutMs: number;
  readonly #from: string;
  #seq = 0;

  constructor(sender: IqSender, options: Colibri2ClientOptions) {
    this.#sender = sender;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#from = options.from;
  }

  async allocate(bridge: string, r: AllocateRequest): Promise<Allocation> {
    const endpoint: Colibri2Endpoint = {
      id: r.endpointId,
      create: true,
      ...(r.statsId === undefined ? {} : { statsId: r.statsId }),
      media: r.media,
      // The bridge is asked to be ICE-controlling, as Jicofo does; no SCTP: the bridge channel is colibri-ws.
      transport: { iceControlling: true },
      sources: [],
      capabilities: ['source-names', ...(r.ssrcRewriting ? ['ssrc-rewriting'] : [])],
    };
    const modify: ConferenceModify = {
      meetingId: r.meetingId,
      ...(r.createConference ? { name: r.roomJid, create: true, rtcstatsEnabled: false } : {}),
      endpoints: [endpoint],
      relays: [],
    };
    const { payload: answer, consumers } = await this.#send(bridge, modify);
    let modified;
    try {
      modified = parseConferenceModified(answer);
    } catch (error) {
      throw new ColibriError(bridge, 'bridge-failed', `malformed conference-modified: ${errorText(error)}`, { cause: error });
    }
    const result = modified.endpoints.find((e) => e.id === r.endpointId);
    const transport = result?.transport?.iceUdp;
    if (transport === undefined) throw new ColibriError(bridge, 'bridge-failed', `the bridge answered without a transport for ${r.endpointId}`);
    if (transport.fingerprints.length !== 1) {
      throw new ColibriError(bridge, 'bridge-failed', `expected exactly one DTLS fingerprint, got ${String(transport.fingerprints.length)}`);
    }
    const feedback = (type: 'audio' | 'video'): number | undefined => modified.sources?.find((s) => s.type === type)?.sources[0]?.ssrc;
    const audio = feedback('audio');
    const video = feedback('video');
    if (audio === undefined || video === undefined) throw new ColibriError(bridge, 'bridge-failed', 'the bridge answered without feedback sources');
    const media = result?.media;
    return {
      transport,
      feedbackSsrcs: { audio, video },
      ...(media === undefined || media.length === 0 ? {} : { media }),
      ...(consumers === undefined ? {} : { consumers }),
    };
  }

  async update(bridge: string, meetingId: string, endpointId: string, u: EndpointUpdate): Promise<ConsumerAnswer | undefined> {
    const { consumers } = await this.#send(bridge, {
      meetingId,
      endpoints: [
        {
          id: endpointId,
          media: u.media ?? [],
          capabilities: [],
          ...(u.transport === undefined ? {} : { transport: { iceUdp: u.transport } }),
          ...(u.sources === undefined ? {} : { sources: u.sources }),
          ...(u.initialLastN === undefined ? {} : { initialLastN: u.initialLastN }),
        },
      ],
      relays: [],
    });
    return consumers;
  }

  async expireEndpoint(bridge: string, meetingId: string, endpointId: string): Promise<ConsumerAnswer | undefined> {
    const { consumers } = await this.#send(bridge, { meetingId, endpoints: [{ id: endpointId, expire: true, media: [], capabilities: [] }], relays: [] });
    return consumers;
  }

  async expireConference(bridge: string, meetingId: string): Promise<void> {
    await this.#send(bridge, { meetingId, expire: true, endpoints: [], relays: [] });
  }

  async #send(bridge: string, modify: ConferenceModify): Promise<{ payload: Element; consumers?: ConsumerAnswer }> {
    let reply: Element;
    try {
      // §3.1: JVB accepts get and set; set is the type for a request that changes state.
      reply = await this.#sender.request('set', bridge, buildConferenceModify(modify), { timeoutMs: this.#timeoutMs, from: this.#from });
    } catch (error) {
      throw classify(bridge, error);
    }
    // Numbered here, right after the answer arrived: every request takes this same path, so the numbers follow
    // the arrival order (see ConsumerAnswer).
    const seq = ++this.#seq;
    const payload = reply.getChildElements()[0];
    if (payload === undefined) throw new ColibriError(bridge, 'bridge-failed', 'empty COLIBRI2 answer');
    let receivers: ReceiverConsumers[] | undefined;
    try {
      receivers = consumerReportOf(payload);
    } catch (error) {
      // A report the focus cannot read would leave receivers with sources that do not match the media they get.
      throw new ColibriError(bridge, 'bridge-failed', `malformed consumer report: ${errorText(error)}`, { cause: error });
    }
    return receivers === undefined ? { payload } : { payload, consumers: { seq, receivers } };
  }
}

/** §3.6, with timeouts always counted against the bridge. */
export function classify(bridge: string, error: unknown): ColibriError {
  if (error instanceof ColibriError) return error;
  if (error instanceof IqTimeoutError) return new ColibriError(bridge, 'bridge-failed', `COLIBRI2 timeout: ${error.message}`, { cause: error });
  if (error instanceof MalformedStanzaError) return new ColibriError(bridge, 'bridge-failed', error.message, { cause: error });
  if (!(error instanceof StanzaError)) return new ColibriError(bridge, 'bridge-failed', errorText(error), { cause: error });
  const reason = colibri2ReasonOf(error);
  const what = `${error.condition}${reason === undefined ? '' : `/${reason}`}${error.text === undefined ? '' : `: ${error.text}`}`;
  const make = (action: ColibriFailureAction): ColibriError => new ColibriError(bridge, action, `COLIBRI2 error ${what}`, { cause: error });
  switch (error.condition) {
    case 'bad-request':
      return make('fail-participant');
    case 'item-not-found':
      // With conference_not_found the bridge lost our state; without a colibri2 reason it is the MUC saying the
      // bridge occupant is gone (§3.6).
      if (reason === 'conference_not_found' || reason === 'unknown_endpoint') return make('reset-session');
      return make('bridge-failed');
    case 'conflict':
      return reason === 'conference_already_exists' ? make('fail-participant') : make('reset-session');
    case 'service-unavailable':
      return reason === 'graceful_shutdown' ? make('move-conference') : make('bridge-failed');
    case 'recipient-unavailable':
      // IqCancelledError: our own connection dropped; not the bridge's fault, but the session is unknown now.
      return make('reset-session');
    default:
      return make('bridge-failed');
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
