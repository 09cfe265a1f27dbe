import { randomBytes, randomUUID } from 'node:crypto';
import {
  Element,
  FEATURE,
  NS,
  StanzaError,
  buildJingle,
  jsonSourcesFor,
  offerDescription,
  parseJid,
  sessionInitiate,
  type Colibri2Media,
  type Colibri2MediaSource,
  type IceUdpTransport,
  type Jingle,
  type MucAffiliation,
  type MucPresence,
  type MucRole,
  type OwnedSources,
} from '@hummingbird/xmpp';
import type { Logger } from '@hummingbird/service';
import type { BridgeSelector } from './bridges.js';
import type { CapsCache } from './caps.js';
import { ColibriError, type Allocation, type BridgeClient, type ConsumerAnswer } from './colibri.js';
import { asOwned, asSourceSet, consumerView, diffReceiver, sourcesJingle, type ReceiverSource } from './consumers.js';
import type { FocusMetrics } from './metrics.js';
import { RestartLimiter, type RestartLimits } from './restart-limiter.js';
import {
  EMPTY_SOURCES, MEDIA, addSources, colibriSources, isEmpty, receiverView, removeSources, sourceContents, sourcesOf, ssrcsOf,
  type SourceSet,
} from './sources.js';
import { ROUTER_CAPABILITIES, MID_MODE } from './offer.js';

/** The verified-claims element Prosody's Hummingbird token plugin stamps into presence (docs/jwt.md §4). */
export const CLAIMS_NS = 'urn:hummingbird:token:claims:0';

/** What a conference needs from the focus around it (the XMPP side and the shared services). */
export interface ConferenceContext {
  /** The focus's full JID inside rooms: `focus@focus.<d>/focus`. */
  readonly focusJid: string;
  readonly logger: Logger;
  readonly bridges: BridgeSelector;
  readonly bridgeClient: BridgeClient;
  readonly metrics: FocusMetrics;
  readonly policy: ConferencePolicy;
  /** Verified XEP-0115 caps → features, shared by every conference. */
  readonly caps: CapsCache;
  /**
   * The `<media>` (router payload types and extension ids, §8.3) each bridge answered with, by bridge JID: later
   * allocations on that bridge send exactly these, so the bridge's consumer capabilities and the client's offer are
   * the same numbers.
   */
  readonly bridgeMedia: Map<string, readonly Colibri2Media[]>;
  /** Sends a stanza (errors are logged by the caller, never thrown at it). */
  send(stanza: Element): Promise<void>;
  /** An IQ from the focus's room JID; resolves with the result stanza, rejects with a StanzaError. */
  request(type: 'get' | 'set', to: string, payload: Element, timeoutMs: number): Promise<Element>;
  /** The conference ended (last participant left, start timeout, failure): forget it. */
  ended(conference: Conference): void;
}

export interface ConferencePolicy {
  /** The token host: claims are trusted only from occupants whose real JID is on it; undefined = no auth. */
  readonly tokenHost: string | undefined;
  /** Jitsi's "every authenticated user is moderator" (off by default, §2.8 pain point #2). */
  readonly authenticatedModerators: boolean;
  readonly initialTimeoutMs: number;
  readonly singleParticipantTimeoutMs: number;
  readonly jingleTimeoutMs: number;
  readonly discoTimeoutMs: number;
  readonly mucTimeoutMs: number;
  readonly restartLimits: RestartLimits;
  /** How many times a conference may be moved to another bridge per minute before it gives up. */
  readonly maxMovesPerMinute: number;
  /**
   * SSRC-rewriting mode (§4.6) for clients advertising ssrc-rewriting-1: the bridge gets the `ssrc-rewriting`
   * capability and tells the client its (per-receiver) SSRCs over colibri-ws; the focus sends it no remote sources.
   */
  readonly useSsrcRewriting: boolean;
}

interface Session {
  readonly sid: string;
  readonly bridge: string;
  readonly bridgeSessionId: string;
  /** §4.6: the bridge signals remote sources to this client; the focus sends it none. */
  readonly ssrcRewriting: boolean;
  state: 'pending' | 'active';
  allocation: Allocation;
  /**
   * The bridge reports per-receiver consumer SSRCs (a Hummingbird bridge, §8.1): this client is told exactly its
   * consumers' sources, from the reports, and never the senders' own SSRCs.
   */
  readonly consumerMode: boolean;
  /** Consumer mode: what this client has been told (session-initiate, source-add/-remove), by source name. */
  readonly signalled: Map<string, ReceiverSource>;
}

export interface Participant {
  readonly nick: string;
  readonly occupantJid: string;
  realJid: string | undefined;
  role: MucRole | undefined;
  affiliation: MucAffiliation | undefined;
  statsId: string | undefined;
  region: string | undefined;
  caps: MucPresence['caps'];
  /** From trusted claims only (see {@link ConferencePolicy.tokenHost}). */
  claimsModerator: boolean;
  authenticated: boolean;
  readonly joinedAt: number;
  features: Promise<ReadonlySet<string>>;
  featuresKnown: ReadonlySet<string> | undefined;
  session: Session | undefined;
  sources: SourceSet;
  readonly restarts: RestartLimiter;
  /** Serialises the Jingle work of one participant (§2.4: one queue per session). */
  queue: Promise<void>;
  inviting: boolean;
  /** An invite was asked for while one was running (a restart racing the first invite's ack): run it after. */
  reinvite: boolean;
  /** The newest consumer report for this participant as a receiver (any session), see ConsumerAnswer. */
  consumers: { readonly seq: number; readonly bridge: string; readonly sources: readonly Colibri2MediaSource[] } | undefined;
  /** A consumer sync is scheduled for the next turn of the event loop. */
  syncScheduled: boolean;
}

/** Features assumed when disco#info fails (Jicofo assumes audio, video, SCTP). */
const DEFAULT_FEATURES: ReadonlySet<string> = new Set([NS.JINGLE_RTP_AUDIO, NS.JINGLE_RTP_VIDEO]);

export type ConferenceState = 'running' | 'stopped';

/**
 * One MUC room the focus sits in (spec/jicofo-jvb.md §2.3, §2.4). Membership comes from the room's presence;
 * media sessions start when 2 members are present; a lone participant's session is released after a grace period;
 * the conference stops when the last member leaves. All bridge work goes through {@link BridgeClient}.
 */
export class Conference {
  readonly roomJid: string;
  readonly meetingId: string;
  readonly createdAt = Date.now();
  readonly participants = new Map<string, Participant>();
  state: ConferenceState = 'running';
  /** The bridge this conference lives on (single-bridge strategy, §2.5), once one was chosen. */
  bridge: string | undefined;
  #bridgeSessionId = randomUUID();
  #bridgeConference: Promise<void> | undefined;
  #allocating: Promise<unknown> = Promise.resolve();
  #initialTimer: NodeJS.Timeout | undefined;
  #singleTimer: NodeJS.Timeout | undefined;
  #moves: number[] = [];
  #bridgeNotAvailable = false;
  readonly #ctx: ConferenceContext;
  readonly #log: Logger;

  constructor(roomJid: string, meetingId: string, ctx: ConferenceContext) {
    this.roomJid = roomJid;
    this.meetingId = meetingId;
    this.#ctx = ctx;
    this.#log = ctx.logger.child({ room: roomJid, meetingId });
    this.#armInitialTimer();
  }

  get bridgeSessionId(): string {
    return this.#bridgeSessionId;
  }

  get bridgeNotAvailable(): boolean {
    return this.#bridgeNotAvailable;
  }

  /** Invites everyone without a session again (a bridge became available), when 2 or more are present. */
  retryInvites(): void {
    if (this.state !== 'running' || this.participants.size < 2) return;
    for (const p of this.participants.values()) if (p.session === undefined) void this.invite(p);
  }

  /** A conference IQ for a running conference re-arms its start timeout (§2.2 step 6). */
  touch(): void {
    if (this.participants.size === 0) this.#armInitialTimer();
  }

  #armInitialTimer(): void {
    clearTimeout(this.#initialTimer);
    this.#initialTimer = setTimeout(() => {
      if (this.participants.size === 0 && this.state === 'running') {
        this.#log.info({}, 'nobody joined within the start timeout; stopping');
        void this.stop('initial timeout');
      }
    }, this.#ctx.policy.initialTimeoutMs);
    this.#initialTimer.unref();
  }

  // --- membership -------------------------------------------------------------------------------------------

  /** A presence from an occupant of this room (never the focus's own). */
  onPresence(nick: string, presence: MucPresence): void {
    if (this.state !== 'running') return;
    if (presence.type === 'unavailable') {
      this.#memberLeft(nick);
      return;
    }
    if (presence.type !== undefined) return;
    const item = presence.user?.items[0];
    const existing = this.participants.get(nick);
    if (existing !== undefined) {
      existing.role = item?.role ?? existing.role;
      existing.affiliation = item?.affiliation ?? existing.affiliation;
      if (item?.jid !== undefined) existing.realJid = item.jid;
      const wasModerator = existing.claimsModerator;
      this.#applyClaims(existing, presence);
      if (existing.claimsModerator && !wasModerator) void this.#grantRoles();
      return;
    }
    const p: Participant = {
      nick,
      occupantJid: `${this.roomJid}/${nick}`,
      realJid: item?.jid,
      role: item?.role,
      affiliation: item?.affiliation,
      statsId: presence.statsId,
      region: regionOf(presence),
      caps: presence.caps,
      claimsModerator: false,
      authenticated: false,
      joinedAt: Date.now(),
      features: Promise.resolve(DEFAULT_FEATURES),
      featuresKnown: undefined,
      session: undefined,
      sources: EMPTY_SOURCES,
      restarts: new RestartLimiter(this.#ctx.policy.restartLimits),
      queue: Promise.resolve(),
      inviting: false,
      reinvite: false,
      consumers: undefined,
      syncScheduled: false,
    };
    this.#applyClaims(p, presence);
    p.features = this.#discoFeatures(p);
    this.participants.set(nick, p);
    clearTimeout(this.#initialTimer);
    this.#ctx.metrics.participantsTotal.inc();
    this.#log.info({ nick, realJid: p.realJid, authenticated: p.authenticated, members: this.participants.size }, 'participant joined');
    void this.#grantRoles();
    if (this.participants.size >= 2) {
      clearTimeout(this.#singleTimer);
      this.#singleTimer = undefined;
      for (const other of this.participants.values()) if (other.session === undefined) void this.invite(other);
    }
  }

  #applyClaims(p: Participant, presence: MucPresence): void {
    const { tokenHost } = this.#ctx.policy;
    let domain: string | undefined;
    try {
      domain = p.realJid === undefined ? undefined : parseJid(p.realJid).domain;
    } catch {
      domain = undefined;
    }
    p.authenticated = tokenHost !== undefined && domain === tokenHost;
    const claims = presence.extensions.find((e) => e.name === 'claims' && e.attrs.xmlns === CLAIMS_NS);
    // docs/jwt.md §4: trusted only on occupants whose real JID is on the token host (Prosody stamps it there and
    // strips client-sent copies); anywhere else the element is a guest's forgery and is ignored.
    if (claims !== undefined && !p.authenticated) {
      this.#log.warn({ nick: p.nick, realJid: p.realJid }, 'ignored a claims element from an occupant outside the token host');
      this.#ctx.metrics.forgedClaims.inc();
    }
    p.claimsModerator = p.authenticated && claims !== undefined && claims.attrs.moderator === 'true';
  }

  /** Who should be moderator (owner), by the configured policy (§2.8 / docs/jwt.md). */
  #wantsOwner(p: Participant): boolean {
    const { tokenHost, authenticatedModerators } = this.#ctx.policy;
    if (tokenHost !== undefined) return p.claimsModerator || (authenticatedModerators && p.authenticated);
    // No auth: the first participant present is moderator, re-elected when the owner leaves (auto-owner).
    const hasOwner = [...this.participants.values()].some((o) => o.affiliation === 'owner' && o !== p);
    if (hasOwner) return false;
    const first = [...this.participants.values()].sort((a, b) => a.joinedAt - b.joinedAt)[0];
    return first === p;
  }

  async #grantRoles(): Promise<void> {
    for (const p of [...this.participants.values()].sort((a, b) => a.joinedAt - b.joinedAt)) {
      if (p.affiliation === 'owner' || p.realJid === undefined || !this.#wantsOwner(p)) continue;
      let bare: string;
      try {
        const j = parseJid(p.realJid);
        bare = j.local === undefined ? j.domain : `${j.local}@${j.domain}`;
      } catch {
        continue;
      }
      p.affiliation = 'owner'; // optimistic: avoids double grants; the presence that follows confirms it
      const query = new Element('query', { xmlns: NS.MUC_ADMIN });
      query.cnode(new Element('item', { affiliation: 'owner', jid: bare }));
      try {
        await this.#ctx.request('set', this.roomJid, query, this.#ctx.policy.mucTimeoutMs);
        this.#log.info({ nick: p.nick, jid: bare, reason: this.#ctx.policy.tokenHost === undefined ? 'first participant' : 'token claims' }, 'granted owner');
      } catch (error) {
        p.affiliation = undefined;
        this.#log.warn({ err: error, nick: p.nick }, 'could not grant owner');
      }
    }
  }

  async #discoFeatures(p: Participant): Promise<ReadonlySet<string>> {
    const cached = this.#ctx.caps.get(p.caps);
    if (cached !== undefined) {
      p.featuresKnown = cached;
      return cached;
    }
    // §4.8: disco#info to the occupant, with the caps node when the presence carried one (XEP-0115 §6.2).
    const query = new Element('query', { xmlns: NS.DISCO_INFO, ...(p.caps === undefined ? {} : { node: `${p.caps.node}#${p.caps.ver}` }) });
    try {
      const reply = await this.#ctx.request('get', p.occupantJid, query, this.#ctx.policy.discoTimeoutMs);
      const q = reply.getChild('query', NS.DISCO_INFO);
      const vars = (q?.getChildren('feature') ?? []).map((f) => f.attrs.var).filter((v): v is string => typeof v === 'string');
      p.featuresKnown = new Set(vars);
      if (q !== undefined) this.#ctx.caps.offer(p.caps, q, p.featuresKnown);
      return p.featuresKnown;
    } catch (error) {
      this.#log.info({ nick: p.nick, err: error }, 'disco#info failed; assuming default features');
      p.featuresKnown = DEFAULT_FEATURES;
      return DEFAULT_FEATURES;
    }
  }

  #memberLeft(nick: string): void {
    const p = this.participants.get(nick);
    if (p === undefined) return;
    this.participants.delete(nick);
    this.#log.info({ nick, members: this.participants.size }, 'participant left');
    // §2.4 "Leaving": no session-terminate, and no source-remove to clients that drop a departed participant's
    // sources on the MUC unavailable presence themselves; clients advertising ssrc-rewriting-1 do not (§4.6), so
    // they get one. Its bridge endpoint is expired.
    const gone = p.sources;
    this.#dropSession(p, false);
    if (!isEmpty(gone)) this.#propagate(p, 'source-remove', gone, (r) => r.featuresKnown?.has(FEATURE.SSRC_REWRITING) === true);
    // Consumer mode: the leaver's consumers go at once (its bridge endpoint's expiry answer confirms it).
    for (const r of this.participants.values()) if (r.session?.consumerMode === true) this.#scheduleSync(r);
    if (this.participants.size === 0) {
      void this.stop('last participant left');
      return;
    }
    if (this.#ctx.policy.tokenHost === undefined && p.affiliation === 'owner') void this.#grantRoles();
    if (this.participants.size === 1) this.#armSingleTimer();
  }

  #armSingleTimer(): void {
    const lone = [...this.participants.values()][0];
    if (lone?.session === undefined) return;
    clearTimeout(this.#singleTimer);
    this.#singleTimer = setTimeout(() => {
      this.#singleTimer = undefined;
      if (this.participants.size !== 1 || lone.session === undefined || this.state !== 'running') return;
      this.#log.info({ nick: lone.nick }, 'lone participant: releasing its media session');
      void this.#terminate(lone, 'expired', 'Idle session timeout');
      this.#dropSession(lone, false);
      void this.#expireBridgeConference();
    }, this.#ctx.policy.singleParticipantTimeoutMs);
    this.#singleTimer.unref();
  }

  // --- bridge sessions ----------------------------------------------------------------------------------------

  /** Invites one participant: COLIBRI2 allocation on the conference's bridge, then session-initiate (§2.4). */
  async invite(p: Participant): Promise<void> {
    if (p.inviting) {
      p.reinvite = true;
      return;
    }
    if (p.session !== undefined || this.state !== 'running') return;
    p.inviting = true;
    p.reinvite = false;
    try {
      const features = await p.features;
      if (!this.participants.has(p.nick) || this.state !== 'running') return;
      let allocation: Allocation;
      let bridge: string;
      const ssrcRewriting = this.#ctx.policy.useSsrcRewriting && features.has(FEATURE.SSRC_REWRITING);
      try {
        ({ allocation, bridge } = await this.#allocate(p, ssrcRewriting));
      } catch (error) {
        if (error instanceof ColibriError) this.#onColibriFailure(error, p);
        else this.#log.warn({ err: error, nick: p.nick }, 'could not allocate a bridge endpoint');
        return;
      }
      if (!this.participants.has(p.nick) || this.state !== 'running' || this.bridge !== bridge) {
        void this.#ctx.bridgeClient.expireEndpoint(bridge, this.meetingId, p.nick).catch(() => undefined);
        return;
      }
      const session: Session = {
        sid: randomBytes(8).toString('hex'),
        bridge,
        bridgeSessionId: this.#bridgeSessionId,
        ssrcRewriting,
        state: 'pending',
        allocation,
        consumerMode: allocation.consumers !== undefined,
        signalled: new Map(),
      };
      p.session = session;
      this.#ctx.bridges.reserve(bridge, this.roomJid);
      // The other member may have left while this invite ran: the lone-participant grace period applies.
      if (this.participants.size === 1 && this.#singleTimer === undefined) this.#armSingleTimer();
      const jingle = this.#offer(p, session, features);
      try {
        await this.#ctx.request('set', p.occupantJid, buildJingle(jingle), this.#ctx.policy.jingleTimeoutMs);
        this.#ctx.metrics.jingleSent.inc({ action: 'session-initiate' });
      } catch (error) {
        // §2.4 step 5: a timeout counts as success (the session stays pending until session-accept); an error
        // means the invite failed and is not retried.
        if (error instanceof StanzaError && error.condition === 'remote-server-timeout') return;
        this.#log.warn({ err: error, nick: p.nick }, 'session-initiate refused');
        if (p.session === session) this.#dropSession(p, true);
      }
    } catch (error) {
      // A bug of ours (e.g. a MappingError building the offer): the participant gets no session, the focus lives on.
      this.#log.error({ err: error, nick: p.nick }, 'invite failed');
      if (p.session !== undefined) this.#dropSession(p, true);
    } finally {
      p.inviting = false;
      if (p.reinvite && p.session === undefined && this.participants.has(p.nick)) void this.invite(p);
    }
  }

  #offer(p: Participant, session: Session, features: ReadonlySet<string>): Jingle {
    return withBridgeMedia(this.#offerSources(p, session, features), session.allocation.media);
  }

  #offerSources(p: Participant, session: Session, features: ReadonlySet<string>): Jingle {
    const json = features.has(FEATURE.JSON_ENCODED_SOURCES);
    const base = {
      sid: session.sid,
      initiator: this.#ctx.focusJid,
      routerCaps: ROUTER_CAPABILITIES,
      midMode: MID_MODE,
      transport: session.allocation.transport,
      feedbackSsrcs: session.allocation.feedbackSsrcs,
      bridgeSession: { id: session.bridgeSessionId, ...this.#regionOf(session.bridge) },
    };
    if (session.consumerMode && !session.ssrcRewriting) {
      // §8.1: this receiver's own consumers, as the bridge reported them (its allocation answer or a newer one).
      const desired = this.#desiredFor(p, session) ?? [];
      for (const d of desired) session.signalled.set(d.name, d);
      if (json) return sessionInitiate({ ...base, ...(desired.length === 0 ? {} : { remoteJson: jsonSourcesFor(asOwned(desired)) }) });
      const set = asSourceSet(desired);
      return sessionInitiate({ ...base, remote: { audio: set.audio, video: set.video } });
    }
    // §4.6: in SSRC-rewriting mode only the feedback sources go in the offer.
    const others = session.ssrcRewriting ? [] : [...this.participants.values()].filter((o) => o !== p && !isEmpty(o.sources));
    if (json) {
      const entries = others.flatMap((o) => ownedSources(o.nick, receiverView(o.sources)));
      return sessionInitiate({ ...base, ...(entries.length === 0 ? {} : { remoteJson: jsonSourcesFor(entries) }) });
    }
    const merged = mergeViews(others.map((o) => receiverView(o.sources)));
    return sessionInitiate({ ...base, remote: { audio: merged.audio, video: merged.video } });
  }

  #regionOf(bridge: string): { region?: string } {
    const region = this.#ctx.bridges.snapshot().find((b) => b.jid === bridge)?.region;
    return region === undefined ? {} : { region };
  }

  /** Chooses the conference's bridge if needed and allocates `p` there; allocations are serialised per conference. */
  async #allocate(p: Participant, ssrcRewriting: boolean): Promise<{ allocation: Allocation; bridge: string }> {
    const run = async (): Promise<{ allocation: Allocation; bridge: string }> => {
      if (this.bridge === undefined || !this.#ctx.bridges.isUsable(this.bridge)) {
        const chosen = this.#ctx.bridges.select(p.region === undefined ? {} : { region: p.region });
        if (chosen === undefined) {
          this.#setBridgeNotAvailable(true);
          throw new Error('no bridge available');
        }
        if (this.bridge !== undefined && this.bridge !== chosen) this.#resetBridge();
        this.bridge = chosen;
        this.#bridgeConference = undefined;
        void this.sendFocusPresence(); // bridge-count changed
      }
      this.#setBridgeNotAvailable(false);
      const bridge = this.bridge;
      const createConference = this.#bridgeConference === undefined;
      const sent = this.#ctx.bridgeMedia.get(bridge) ?? colibriMedia();
      const allocation = await this.#ctx.bridgeClient.allocate(bridge, {
        meetingId: this.meetingId,
        roomJid: this.roomJid,
        createConference,
        endpointId: p.nick,
        ...(p.statsId === undefined ? {} : { statsId: p.statsId }),
        media: sent,
        ssrcRewriting,
      });
      if (createConference && this.bridge === bridge) this.#bridgeConference = Promise.resolve();
      if (allocation.media !== undefined && allocation.media.every((m) => m.payloadTypes.length > 0)) {
        if (!sameMedia(sent, allocation.media)) {
          // The offer follows the bridge's numbers (§8.3); the bridge built this endpoint's consumer capabilities
          // from ours, so extensions it numbers differently are lost for this one endpoint. Later allocations on this
          // bridge send the bridge's own numbers.
          this.#log.warn({ bridge, nick: p.nick }, 'the bridge router uses other payload types / extension ids than the focus sent; using the bridge\'s from now on');
        }
        this.#ctx.bridgeMedia.set(bridge, allocation.media);
      }
      this.#applyConsumers(bridge, allocation.consumers);
      return { allocation, bridge };
    };
    const next = this.#allocating.then(run, run);
    this.#allocating = next.catch(() => undefined);
    return next;
  }

  #setBridgeNotAvailable(value: boolean): void {
    if (this.#bridgeNotAvailable === value) return;
    this.#bridgeNotAvailable = value;
    void this.sendFocusPresence();
  }

  /** Forgets the conference's bridge session (not the participants' Jingle sessions). */
  #resetBridge(): void {
    if (this.bridge !== undefined) {
      const endpoints = [...this.participants.values()].filter((p) => p.session?.bridge === this.bridge).length;
      this.#ctx.bridges.releaseConference(this.bridge, this.roomJid, endpoints);
    }
    this.bridge = undefined;
    this.#bridgeConference = undefined;
    this.#bridgeSessionId = randomUUID();
    // Allocations still pending on the old bridge (a hung one answers only with a timeout) must not hold up the
    // ones on the next bridge: start a fresh queue. A late answer is discarded by invite() (bridge changed).
    this.#allocating = Promise.resolve();
  }

  /** §3.6 reactions, with failover: the conference moves to another bridge and everyone is re-invited. */
  #onColibriFailure(error: ColibriError, p: Participant | undefined): void {
    this.#ctx.metrics.colibriFailures.inc({ action: error.action });
    this.#log.warn({ bridge: error.bridge, action: error.action, err: error.message, nick: p?.nick }, 'COLIBRI2 request failed');
    switch (error.action) {
      case 'fail-participant':
        if (p !== undefined && p.session?.bridge === error.bridge) this.#dropSession(p, true);
        return;
      case 'bridge-failed':
        this.#ctx.bridges.markFailed(error.bridge, error.message);
        this.moveOff(error.bridge);
        return;
      case 'move-conference':
        this.#ctx.bridges.markGracefulShutdown(error.bridge);
        this.moveOff(error.bridge);
        return;
      case 'reset-session':
        this.moveOff(error.bridge);
        return;
    }
  }

  /**
   * Moves the conference off `bridge` (it left the brewery, failed, or shuts down): every participant's session on
   * it is terminated (reason success "moving", Jicofo's RestartJingle) and a fresh session-initiate follows on
   * another bridge. Bounded by `maxMovesPerMinute`, so a broken set-up cannot loop.
   */
  moveOff(bridge: string): void {
    if (this.state !== 'running' || this.bridge !== bridge) return;
    const now = Date.now();
    this.#moves = this.#moves.filter((t) => now - t < 60_000);
    if (this.#moves.length >= this.#ctx.policy.maxMovesPerMinute) {
      this.#log.error({ bridge }, 'conference moved too often; not moving again for now');
      return;
    }
    this.#moves.push(now);
    const affected = [...this.participants.values()].filter((p) => p.session?.bridge === bridge);
    this.#log.warn({ bridge, participants: affected.length }, 'moving the conference off its bridge');
    this.#resetBridge();
    // A bridge that is still reachable (graceful shutdown, state out of sync) gets its copy of the conference expired;
    // a failed or vanished one is not asked again.
    if (this.#ctx.bridges.isOperational(bridge)) {
      this.#ctx.bridgeClient.expireConference(bridge, this.meetingId).catch((error: unknown) => {
        this.#log.info({ err: error, bridge }, 'could not expire the conference on the bridge it moved off');
      });
    }
    for (const p of affected) {
      const terminated = this.#terminate(p, 'success', 'moving');
      p.session = undefined;
      p.sources = EMPTY_SOURCES;
      this.#ctx.metrics.participantsMoved.inc();
      void terminated;
    }
    if (this.participants.size >= 2) for (const p of this.participants.values()) void this.invite(p);
  }

  /** Ends `p`'s session locally: expires its bridge endpoint; optionally tells the others its sources are gone. */
  #dropSession(p: Participant, sourceRemove: boolean): void {
    const session = p.session;
    p.session = undefined;
    const gone = p.sources;
    p.sources = EMPTY_SOURCES;
    if (session !== undefined) {
      this.#ctx.bridges.release(session.bridge, this.roomJid);
      if (session.bridge === this.bridge) {
        this.#ctx.bridgeClient.expireEndpoint(session.bridge, this.meetingId, p.nick).then(
          (answer) => this.#applyConsumers(session.bridge, answer),
          (error: unknown) => this.#log.info({ err: error, nick: p.nick }, 'could not expire a bridge endpoint'),
        );
      }
    }
    if (sourceRemove && !isEmpty(gone)) this.#propagate(p, 'source-remove', gone);
  }

  async #expireBridgeConference(): Promise<void> {
    const bridge = this.bridge;
    if (bridge === undefined) return;
    this.#resetBridge();
    await this.#ctx.bridgeClient.expireConference(bridge, this.meetingId).catch((error: unknown) => {
      this.#log.info({ err: error, bridge }, 'could not expire the bridge conference');
    });
  }

  async #terminate(p: Participant, condition: 'success' | 'expired' | 'general-error', text: string): Promise<void> {
    const session = p.session;
    if (session === undefined) return;
    const jingle: Jingle = { action: 'session-terminate', sid: session.sid, contents: [], groups: [], reason: { condition, text } };
    try {
      await this.#ctx.request('set', p.occupantJid, buildJingle(jingle), this.#ctx.policy.jingleTimeoutMs);
      this.#ctx.metrics.jingleSent.inc({ action: 'session-terminate' });
    } catch (error) {
      this.#log.info({ err: error, nick: p.nick }, 'session-terminate not acknowledged');
    }
  }

  /**
   * Sends `p`'s sources (receiver view) as source-add/-remove to every other participant with a session. Deferred to
   * the next turn of the event loop, so the answer to the IQ that caused it goes out first (ljm's queue waits for
   * that answer, §4.1).
   */
  #propagate(p: Participant, action: 'source-add' | 'source-remove', set: SourceSet, to: (r: Participant) => boolean = () => true): void {
    setImmediate(() => {
      try {
        this.#propagateNow(p, action, set, to);
      } catch (error) {
        this.#log.error({ err: error, nick: p.nick, action }, 'could not propagate sources');
      }
    });
  }

  #propagateNow(p: Participant, action: 'source-add' | 'source-remove', set: SourceSet, to: (r: Participant) => boolean): void {
    if (this.state !== 'running') return;
    const view = receiverView(set);
    if (isEmpty(view)) return;
    for (const r of this.participants.values()) {
      // §2.4: receivers in SSRC-rewriting mode learn sources from the bridge, never from the focus; receivers in
      // consumer mode get their own consumers' SSRCs from the bridge's reports, never the sender's (§8.1).
      if (r === p || r.session === undefined || r.session.ssrcRewriting || r.session.consumerMode || !to(r)) continue;
      const json = r.featuresKnown?.has(FEATURE.JSON_ENCODED_SOURCES) === true;
      const jingle: Jingle = json
        ? { action, sid: r.session.sid, contents: [], groups: [], jsonSources: jsonSourcesFor(ownedSources(p.nick, view)) }
        : { action, sid: r.session.sid, contents: sourceContents(view), groups: [] };
      // §2.4: fire-and-forget, no waiting for the receivers' results.
      this.#ctx.metrics.jingleSent.inc({ action });
      this.#ctx.request('set', r.occupantJid, buildJingle(jingle), this.#ctx.policy.jingleTimeoutMs).catch((error: unknown) => {
        this.#log.info({ err: error, to: r.nick, action }, 'a receiver did not acknowledge');
      });
    }
  }

  // --- Jingle from participants -----------------------------------------------------------------------------

  /**
   * A Jingle IQ from occupant `nick` (already parsed; a malformed one never gets here). Returns when it may be
   * answered `result`; throws a StanzaError for an error answer. Bridge updates and propagation continue after.
   */
  onJingle(nick: string, jingle: Jingle, extra: { iceFailed?: boolean } = {}): void {
    const p = this.participants.get(nick);
    if (p === undefined) throw new StanzaError('item-not-found', 'cancel', 'not a participant of this conference');
    this.#ctx.metrics.jingleReceived.inc({ action: jingle.action });
    const session = p.session;
    if (session === undefined || session.sid !== jingle.sid) {
      throw new StanzaError('item-not-found', 'cancel', 'unknown session', new Element('unknown-session', { xmlns: NS.JINGLE_ERRORS }));
    }
    switch (jingle.action) {
      case 'session-accept':
        return this.#onSessionAccept(p, session, jingle);
      case 'source-add':
        return this.#onSourceAdd(p, session, jingle);
      case 'source-remove':
        return this.#onSourceRemove(p, session, jingle);
      case 'session-terminate':
        return this.#onSessionTerminate(p, session, jingle);
      case 'transport-info': {
        const transport = transportOf(jingle);
        if (transport !== undefined) this.#bridgeUpdate(p, session, { transport });
        return;
      }
      case 'session-info':
        // In-place ICE restart is not offered yet: the error makes ljm fall back to terminate + restart (§4.7).
        if (jingle.bridgeSession?.iceRestart === true) throw new StanzaError('feature-not-implemented', 'cancel', 'in-place ICE restart is not supported');
        if (extra.iceFailed === true && jingle.bridgeSession?.id === session.bridgeSessionId) this.#onIceFailed(p);
        return;
      case 'transport-reject':
        return;
      default:
        throw new StanzaError('feature-not-implemented', 'cancel', `${jingle.action} is not handled by the focus`);
    }
  }

  #onSessionAccept(p: Participant, session: Session, jingle: Jingle): void {
    if (session.state === 'active') throw new StanzaError('bad-request', 'modify', 'the session is already accepted');
    const added = sourcesOf(jingle);
    p.sources = addSources(EMPTY_SOURCES, added, p.nick, this.#foreignSsrcs(p));
    session.state = 'active';
    const transport = transportOf(jingle);
    const lastN = jingle.contents.find((c) => c.name === 'video')?.initialLastN;
    this.#bridgeUpdate(p, session, {
      ...(transport === undefined ? {} : { transport }),
      sources: p.sources,
      ...(lastN === undefined ? {} : { initialLastN: lastN }),
    });
    this.#propagate(p, 'source-add', p.sources);
    // Consumer mode: what reached the bridge's reports while the session was pending goes out now, after the answer.
    this.#scheduleSync(p);
  }

  #onSourceAdd(p: Participant, session: Session, jingle: Jingle): void {
    const added = sourcesOf(jingle);
    p.sources = addSources(p.sources, added, p.nick, this.#foreignSsrcs(p));
    this.#bridgeUpdate(p, session, { sources: p.sources });
    this.#propagate(p, 'source-add', ownedView(added, p.nick));
  }

  #onSourceRemove(p: Participant, session: Session, jingle: Jingle): void {
    const { next, gone } = removeSources(p.sources, sourcesOf(jingle));
    p.sources = next;
    this.#bridgeUpdate(p, session, { sources: p.sources });
    this.#propagate(p, 'source-remove', gone);
  }

  #onSessionTerminate(p: Participant, session: Session, jingle: Jingle): void {
    const restart = jingle.bridgeSession?.restart === true;
    if (restart && jingle.bridgeSession?.id !== session.bridgeSessionId) {
      throw new StanzaError('item-not-found', 'cancel', 'bridge-session id does not match');
    }
    this.#log.info({ nick: p.nick, restart, reason: jingle.reason?.condition, text: jingle.reason?.text }, 'participant terminated its session');
    this.#dropSession(p, true);
    if (!restart) return;
    // §2.4: rate-limited; when refused the terminate still happened, and the answer is resource-constraint.
    this.#ctx.metrics.restartRequests.inc();
    if (!p.restarts.tryAcquire()) {
      this.#ctx.metrics.restarts.inc({ outcome: 'refused' });
      throw new StanzaError('resource-constraint', 'wait', 'restart requests are rate-limited');
    }
    this.#ctx.metrics.restarts.inc({ outcome: 'accepted' });
    setImmediate(() => void this.invite(p));
  }

  /**
   * Older clients' ICE-failure report (session-info ice-state failed, current bridge session): re-invite as Jicofo
   * does — terminate ("ICE failed") and a fresh session-initiate — within the same restart budget as restart requests.
   */
  #onIceFailed(p: Participant): void {
    this.#ctx.metrics.iceFailures.inc();
    if (!p.restarts.tryAcquire()) {
      this.#ctx.metrics.restarts.inc({ outcome: 'refused' });
      this.#log.info({ nick: p.nick }, 'ICE failure reported; restart budget spent, no re-invite');
      return;
    }
    this.#ctx.metrics.restarts.inc({ outcome: 'accepted' });
    this.#log.info({ nick: p.nick }, 'ICE failure reported; re-inviting');
    void this.#terminate(p, 'success', 'ICE failed');
    this.#dropSession(p, true);
    setImmediate(() => void this.invite(p));
  }

  #foreignSsrcs(p: Participant): Set<number> {
    const out = new Set<number>();
    for (const o of this.participants.values()) if (o !== p) for (const s of ssrcsOf(o.sources)) out.add(s);
    return out;
  }

  #bridgeUpdate(p: Participant, session: Session, u: { transport?: IceUdpTransport; sources?: SourceSet; initialLastN?: number }): void {
    const work = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve)); // after the IQ answer, as #propagate
      if (p.session !== session) return;
      try {
        const answer = await this.#ctx.bridgeClient.update(session.bridge, this.meetingId, p.nick, {
          ...(u.transport === undefined ? {} : { transport: u.transport }),
          ...(u.sources === undefined ? {} : { sources: colibriSources(u.sources) }),
          ...(u.initialLastN === undefined ? {} : { initialLastN: u.initialLastN }),
        });
        this.#applyConsumers(session.bridge, answer);
      } catch (error) {
        if (error instanceof ColibriError) this.#onColibriFailure(error, p);
        else this.#log.warn({ err: error }, 'bridge update failed');
      }
    };
    p.queue = p.queue.then(work, work).catch((error: unknown) => this.#log.error({ err: error, nick: p.nick }, 'bridge update failed'));
  }

  // --- per-receiver consumer sources (§8.1) ----------------------------------------------------------------------

  /** Records the receivers' reported consumer sets (newest answer wins) and schedules their clients' updates. */
  #applyConsumers(bridge: string, answer: ConsumerAnswer | undefined): void {
    if (answer === undefined || this.state !== 'running' || bridge !== this.bridge) return;
    for (const r of answer.receivers) {
      const p = this.participants.get(r.endpointId);
      if (p === undefined) continue;
      if (p.consumers !== undefined && p.consumers.seq > answer.seq) continue;
      p.consumers = { seq: answer.seq, bridge, sources: r.sources };
      this.#scheduleSync(p);
    }
  }

  /** The sources `p`'s client should hold now, or undefined when there is no report from its session's bridge. */
  #desiredFor(p: Participant, session: Session): readonly ReceiverSource[] | undefined {
    const c = p.consumers;
    if (c === undefined || c.bridge !== session.bridge) return undefined;
    const view = consumerView(p.nick, c.sources, (id) => id !== p.nick && this.participants.has(id));
    if (view.rejected.length > 0) this.#log.debug({ nick: p.nick, rejected: view.rejected }, 'consumer report entries left out');
    return view.accepted;
  }

  /** Coalesces a burst of reports into one source-remove + one source-add, after the current IQ answers. */
  #scheduleSync(p: Participant): void {
    if (p.syncScheduled) return;
    p.syncScheduled = true;
    setImmediate(() => {
      p.syncScheduled = false;
      try {
        this.#syncNow(p);
      } catch (error) {
        this.#log.error({ err: error, nick: p.nick }, 'could not update a receiver\'s consumer sources');
      }
    });
  }

  /**
   * Consumer mode: tells `p`'s client the difference between what it was told and its consumers now — source-remove
   * first, then source-add, as ljm itself orders them (§4.4). Only once the session is accepted: what arrives while
   * it is pending waits for session-accept.
   */
  #syncNow(p: Participant): void {
    const session = p.session;
    if (this.state !== 'running' || session === undefined || !session.consumerMode || session.ssrcRewriting || session.state !== 'active') return;
    const desired = this.#desiredFor(p, session);
    if (desired === undefined) return;
    const { removed, added } = diffReceiver(session.signalled, desired);
    for (const x of removed) session.signalled.delete(x.name);
    for (const x of added) session.signalled.set(x.name, x);
    const json = p.featuresKnown?.has(FEATURE.JSON_ENCODED_SOURCES) === true;
    for (const [action, list] of [['source-remove', removed], ['source-add', added]] as const) {
      if (list.length === 0) continue;
      this.#ctx.metrics.jingleSent.inc({ action });
      this.#ctx.request('set', p.occupantJid, buildJingle(sourcesJingle(action, session.sid, list, json)), this.#ctx.policy.jingleTimeoutMs).catch((error: unknown) => {
        this.#log.info({ err: error, to: p.nick, action }, 'a receiver did not acknowledge');
      });
    }
  }

  // --- remote mute (spec §3.6) ---------------------------------------------------------------------------------

  /**
   * A mute request from occupant `nick` (`<mute xmlns="http://jitsi.org/jitmeet/<audio|video|desktop>" jid>`).
   * Moderators may mute others; nobody may unmute someone else; anyone may (un)mute themselves. The focus passes
   * the request on to the target client with `actor`, and the client mutes itself. The bridge is not asked to drop
   * the media (COLIBRI2 force-mute) yet.
   */
  onMute(nick: string, namespace: string, targetJid: string | undefined, mute: boolean): void {
    const actor = this.participants.get(nick);
    if (actor === undefined) throw new StanzaError('item-not-found', 'cancel', 'not a participant of this conference');
    let target: Participant | undefined;
    try {
      const j = targetJid === undefined ? undefined : parseJid(targetJid);
      target = j?.resource === undefined || `${j.local ?? ''}@${j.domain}` !== this.roomJid ? undefined : this.participants.get(j.resource);
    } catch {
      target = undefined;
    }
    if (target === undefined) throw new StanzaError('item-not-found', 'cancel', 'no such participant in this room');
    if (target !== actor) {
      if (!mute) throw new StanzaError('not-allowed', 'cancel', 'nobody may unmute someone else');
      if (actor.role !== 'moderator') throw new StanzaError('forbidden', 'auth', 'only moderators may mute others');
    }
    if (target === actor) return;
    const request = new Element('mute', { xmlns: namespace, jid: target.occupantJid, actor: actor.occupantJid });
    request.t('true');
    this.#ctx.request('set', target.occupantJid, request, this.#ctx.policy.jingleTimeoutMs).catch((error: unknown) => {
      this.#log.info({ err: error, target: target.nick }, 'mute request not acknowledged');
    });
  }

  // --- focus presence and stop --------------------------------------------------------------------------------

  /** The focus's own occupant presence: conference-properties, and bridgeNotAvailable when selection fails (§2.3). */
  focusPresence(): Element {
    const presence = new Element('presence', { from: this.#ctx.focusJid, to: `${this.roomJid}/focus` });
    const props = new Element('conference-properties', { xmlns: NS.FOCUS });
    props.cnode(new Element('property', { key: 'support-terminate-restart', value: 'true' }));
    props.cnode(new Element('property', { key: 'bridge-count', value: this.bridge === undefined ? '0' : '1' }));
    presence.cnode(props);
    if (this.#bridgeNotAvailable) presence.cnode(new Element('bridgeNotAvailable', { xmlns: NS.FOCUS }));
    return presence;
  }

  async sendFocusPresence(): Promise<void> {
    if (this.state !== 'running') return;
    await this.#ctx.send(this.focusPresence()).catch((error: unknown) => this.#log.info({ err: error }, 'could not update the focus presence'));
  }

  /** Expires the bridge conference, leaves the room unless already out of it (§2.3 `stop()`). Idempotent. */
  async stop(reason: string, options: { leave?: boolean } = {}): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.#initialTimer);
    clearTimeout(this.#singleTimer);
    this.#log.info({ reason }, 'conference stopped');
    for (const p of this.participants.values()) {
      p.session = undefined;
      p.sources = EMPTY_SOURCES;
    }
    await this.#expireBridgeConference();
    this.#ctx.ended(this);
    if (options.leave === false) return;
    await this.#ctx
      .send(new Element('presence', { from: this.#ctx.focusJid, to: `${this.roomJid}/focus`, type: 'unavailable' }))
      .catch(() => undefined);
  }

  /** For /debug. */
  describe(): Record<string, unknown> {
    return {
      room: this.roomJid,
      meetingId: this.meetingId,
      state: this.state,
      bridge: this.bridge ?? null,
      bridgeSessionId: this.#bridgeSessionId,
      bridgeNotAvailable: this.#bridgeNotAvailable,
      createdAt: new Date(this.createdAt).toISOString(),
      participants: [...this.participants.values()].map((p) => ({
        nick: p.nick,
        realJid: p.realJid ?? null,
        role: p.role ?? null,
        affiliation: p.affiliation ?? null,
        authenticated: p.authenticated,
        claimsModerator: p.claimsModerator,
        session:
          p.session === undefined
            ? null
            : {
                sid: p.session.sid,
                state: p.session.state,
                bridge: p.session.bridge,
                consumerMode: p.session.consumerMode,
                // Consumer mode: the remote sources this client was told (its consumers' SSRCs), by source name.
                remoteSources: Object.fromEntries([...p.session.signalled].map(([name, s]) => [name, { owner: s.owner, ssrcs: s.sources.map((x) => x.ssrc) }])),
              },
        ssrcs: [...ssrcsOf(p.sources)],
      })),
    };
  }
}

function regionOf(presence: MucPresence): string | undefined {
  const el = presence.extensions.find((e) => e.name === 'jitsi_participant_region');
  const text = el?.getText().trim();
  return text === undefined || text === '' ? undefined : text;
}

function transportOf(jingle: Jingle): IceUdpTransport | undefined {
  return jingle.contents.find((c) => c.transport !== undefined)?.transport;
}

function ownedSources(owner: string, set: SourceSet): OwnedSources[] {
  return MEDIA.filter((m) => set[m].sources.length > 0).map((m) => ({
    owner,
    media: m,
    sources: set[m].sources,
    ssrcGroups: set[m].ssrcGroups.filter((g) => g.semantics === 'FID'),
  }));
}

function ownedView(set: SourceSet, owner: string): SourceSet {
  const tag = (m: 'audio' | 'video'): SourceSet['audio'] => ({ sources: set[m].sources.map((s) => ({ ...s, owner })), ssrcGroups: set[m].ssrcGroups });
  return { audio: tag('audio'), video: tag('video') };
}

function mergeViews(views: readonly SourceSet[]): SourceSet {
  return {
    audio: { sources: views.flatMap((v) => v.audio.sources), ssrcGroups: views.flatMap((v) => v.audio.ssrcGroups) },
    video: { sources: views.flatMap((v) => v.video.sources), ssrcGroups: views.flatMap((v) => v.video.ssrcGroups) },
  };
}

/**
 * The offer with the bridge's own payload types and extension ids (its `<media>`, §8.3) in each content it covers;
 * contents it does not cover (or a bridge without `<media>`, JVB) keep the offer.ts numbers.
 */
function withBridgeMedia(jingle: Jingle, media: readonly Colibri2Media[] | undefined): Jingle {
  if (media === undefined) return jingle;
  return {
    ...jingle,
    contents: jingle.contents.map((c) => {
      const m = media.find((x) => x.type === c.description?.media);
      // A `<media>` without payload types would leave the content without codecs: keep the fallback then.
      if (m === undefined || m.payloadTypes.length === 0 || c.description === undefined) return c;
      return { ...c, description: { ...c.description, payloadTypes: m.payloadTypes, headerExtensions: m.headerExtensions, extmapAllowMixed: m.extmapAllowMixed } };
    }),
  };
}

function sameMedia(a: readonly Colibri2Media[], b: readonly Colibri2Media[]): boolean {
  const key = (list: readonly Colibri2Media[]): string =>
    JSON.stringify(
      [...list].sort((x, y) => x.type.localeCompare(y.type)).map((m) => [m.type, m.payloadTypes, [...m.headerExtensions].sort((x, y) => x.id - y.id)]),
    );
  return key(a) === key(b);
}

/** The COLIBRI2 `<media>` the bridge gets: exactly the payload types and extensions of the offer (§3.3). */
function colibriMedia(): Colibri2Media[] {
  return MEDIA.map((m) => {
    const d = offerDescription(ROUTER_CAPABILITIES, m, { midMode: MID_MODE });
    return { type: m, payloadTypes: d.payloadTypes, headerExtensions: d.headerExtensions, extmapAllowMixed: true };
  });
}

