import { randomUUID } from 'node:crypto';
import type { HealthReport, Logger } from '@hummingbird/service';
import {
  Element,
  NS,
  StanzaError,
  bareJid,
  buildConferenceResponse,
  formatJid,
  parseBridgeStats,
  parseConferenceRequest,
  parseErrorStanza,
  parseJid,
  parseJingle,
  parseMucPresence,
  type Colibri2Media,
  type ConferenceResponse,
  type FocusProperty,
  type Jid,
  type XmppConnection,
} from '@hummingbird/xmpp';
import { BridgeSelector, type BridgeSelectorOptions } from './bridges.js';
import { CapsCache } from './caps.js';
import { Colibri2Client, type BridgeClient } from './colibri.js';
import { Conference, type ConferenceContext, type ConferencePolicy } from './conference.js';
import { createFocusMetrics, type FocusMetrics } from './metrics.js';

export interface FocusOptions {
  /** The XEP-0114 component connection (not started; `start()` starts it). */
  readonly connection: XmppConnection;
  /** The component domain, `focus.<d>`. */
  readonly componentDomain: string;
  /** The conference MUC, `conference.<d>`: rooms elsewhere are refused. */
  readonly mucDomain: string;
  /** The bridges' brewery room, `jvbbrewery@internal.auth.<d>`. */
  readonly breweryJid: string;
  readonly policy: ConferencePolicy;
  /** May a requester outside the token host create a room (when a token host is set)? */
  readonly guestsMayCreateRooms: boolean;
  readonly colibriTimeoutMs: number;
  readonly logger: Logger;
  readonly selector?: BridgeSelectorOptions;
  /** Replaces COLIBRI2 (unit tests). */
  readonly bridgeClient?: BridgeClient;
}

/** A conference request, from the XMPP IQ or the HTTP form (§2.1, §2.2). */
export interface ConferenceRequestInput {
  readonly room: string;
  /** The requester's JID (XMPP form only): decides whether it is authenticated. */
  readonly requester: Jid | undefined;
}

/** The focus: component connection, conference IQ, rooms, brewery, bridges (spec/jicofo-jvb.md §2). */
export class Focus {
  readonly conferences = new Map<string, Conference>();
  readonly bridges: BridgeSelector;
  readonly metrics: FocusMetrics;
  /** `focus@focus.<d>`: the `focusjid` clients trust (§3.4). */
  readonly focusBareJid: string;
  /** `focus@focus.<d>/focus`: the real JID the focus uses in rooms and in the brewery. */
  readonly focusJid: string;
  readonly #options: FocusOptions;
  readonly #connection: XmppConnection;
  readonly #log: Logger;
  readonly #bridgeClient: BridgeClient;
  readonly #starting = new Map<string, Promise<Conference>>();
  readonly #presenceWaiters = new Set<(stanza: Element) => boolean>();
  readonly #caps = new CapsCache();
  /** Router `<media>` per bridge JID (ConferenceContext.bridgeMedia). */
  readonly #bridgeMedia = new Map<string, readonly Colibri2Media[]>();
  #breweryJoined = false;
  #stopping = false;
  #online: Promise<void> = Promise.resolve();
  #lastConnectError: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #livenessTimer: NodeJS.Timeout | undefined;
  readonly #staleHandled = new Set<string>();

  constructor(options: FocusOptions) {
    this.#options = options;
    this.#connection = options.connection;
    this.#log = options.logger;
    this.focusBareJid = `focus@${options.componentDomain}`;
    this.focusJid = `${this.focusBareJid}/focus`;
    this.bridges = new BridgeSelector(options.selector);
    this.metrics = createFocusMetrics({
      conferences: () => this.conferences.size,
      participants: () => [...this.conferences.values()].reduce((n, c) => n + c.participants.size, 0),
      bridges: () => this.bridges.size,
      operationalBridges: () => this.bridges.operationalCount(),
    });
    this.#bridgeClient =
      options.bridgeClient ?? new Colibri2Client(this.#connection.caller, { from: this.focusJid, timeoutMs: options.colibriTimeoutMs });
  }

  /** The component connection (its state is in /stats; tests drop it to exercise reconnection). */
  get connection(): XmppConnection {
    return this.#connection;
  }

  get breweryJoined(): boolean {
    return this.#breweryJoined;
  }

  /** Registers the handlers and starts connecting (see {@link online}); returns at once. */
  start(): void {
    const router = this.#connection.router;
    router.register(NS.FOCUS, 'conference', 'set', async (req) => {
      const request = parseConferenceRequest(req.payload);
      return buildConferenceResponse(await this.conferenceRequest({ room: request.room, requester: req.from }));
    });
    router.register(NS.JINGLE, 'jingle', 'set', (req) => {
      const from = req.from;
      const conference = from === undefined ? undefined : this.conferences.get(formatJid(bareJid(from)));
      if (from?.resource === undefined || conference === undefined) throw new StanzaError('item-not-found', 'cancel', 'no conference for this sender');
      // Older clients report ICE failure as session-info <ice-state xmlns="http://jitsi.org/protocol/focus">failed
      // (spec/jicofo-jvb.md §2.4); the Jingle model does not carry that element, so it is read here.
      const iceFailed = req.payload.getChild('ice-state', NS.FOCUS)?.getText().trim() === 'failed';
      conference.onJingle(from.resource, parseJingle(req.payload), { iceFailed });
    });
    for (const ns of [NS.JITMEET_AUDIO, NS.JITMEET_VIDEO, NS.JITMEET_DESKTOP]) {
      router.register(ns, 'mute', 'set', (req) => {
        const from = req.from;
        const conference = from === undefined ? undefined : this.conferences.get(formatJid(bareJid(from)));
        if (from?.resource === undefined || conference === undefined) throw new StanzaError('item-not-found', 'cancel', 'no conference for this sender');
        const value = req.payload.getText().trim();
        if (value !== 'true' && value !== 'false') throw new StanzaError('bad-request', 'modify', 'mute must be true or false');
        conference.onMute(from.resource, ns, req.payload.attrs.jid, value === 'true');
      });
    }
    router.register(NS.DISCO_INFO, 'query', 'get', () => {
      const q = new Element('query', { xmlns: NS.DISCO_INFO });
      q.cnode(new Element('identity', { category: 'component', type: 'focus', name: 'Hummingbird focus' }));
      for (const v of [NS.DISCO_INFO, NS.FOCUS, NS.JINGLE, NS.PING, 'https://jitsi.org/meet/jicofo/terminate-restart']) q.cnode(new Element('feature', { var: v }));
      return q;
    });
    this.#connection.on('stanza', (stanza) => {
      if (stanza.name === 'presence') this.#onPresence(stanza);
    });
    this.#connection.on('reconnected', () => void this.#onReconnected());
    this.#connection.on('offline', () => {
      this.#breweryJoined = false;
    });
    this.#online = this.#connectLoop();
    // Liveness from brewery presence (bridge.presenceTimeoutMs): a silent bridge's conferences move once.
    this.#livenessTimer = setInterval(() => {
      for (const bridge of this.bridges.stale()) {
        if (this.#staleHandled.has(bridge)) continue;
        this.#staleHandled.add(bridge);
        this.#log.warn({ bridge }, 'bridge silent in the brewery beyond the presence timeout; moving its conferences');
        this.bridges.markFailed(bridge, 'no stats within the presence timeout');
        for (const c of this.conferences.values()) if (c.bridge === bridge) c.moveOff(bridge);
      }
    }, 500);
    this.#livenessTimer.unref();
  }

  /**
   * Resolves once the component is connected and the brewery join was tried. `start()` does not wait for it: with
   * Prosody unreachable the focus keeps trying (as Jicofo does every second) and `/about/health` says why it is not
   * ready.
   */
  get online(): Promise<void> {
    return this.#online;
  }

  async #connectLoop(): Promise<void> {
    let delayMs = 500;
    for (;;) {
      if (this.#stopping) return;
      try {
        await this.#connection.start();
        break;
      } catch (error) {
        if (this.#stopping) return;
        this.#lastConnectError = error instanceof Error ? error.message : String(error);
        this.#log.warn({ err: error, retryInMs: delayMs }, 'could not connect to Prosody; retrying');
        await this.#pause(delayMs);
        delayMs = Math.min(delayMs * 2, 10_000);
      }
    }
    this.#lastConnectError = undefined;
    await this.#joinBreweryWithRetry();
  }

  /** Joins the brewery, retrying (Jicofo: after reply-timeout) until joined, offline or stopping. */
  async #joinBreweryWithRetry(): Promise<void> {
    let delayMs = 1_000;
    while (!this.#stopping && this.#connection.state === 'online') {
      try {
        await this.#joinBrewery();
        return;
      } catch (error) {
        this.#log.error({ err: error, brewery: this.#options.breweryJid, retryInMs: delayMs }, 'could not join the brewery; retrying');
        await this.#pause(delayMs);
        delayMs = Math.min(delayMs * 2, 15_000);
      }
    }
  }

  /** A delay that `stop()` cuts short and that never keeps the process alive. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#retryTimer = setTimeout(resolve, ms);
      this.#retryTimer.unref();
      this.#wake = resolve;
    });
  }

  /** Stops every conference (bridge sessions expired, rooms left), leaves the brewery, closes the connection. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    this.#wake?.();
    clearInterval(this.#livenessTimer);
    await Promise.allSettled([...this.#starting.values()]);
    await Promise.all([...this.conferences.values()].map((c) => c.stop('focus shutting down')));
    if (this.#connection.state === 'online') {
      await this.#connection
        .send(new Element('presence', { from: this.focusJid, to: `${this.#options.breweryJid}/focus`, type: 'unavailable' }))
        .catch(() => undefined);
    }
    await this.#connection.stop();
  }

  // --- conference request -------------------------------------------------------------------------------------

  /**
   * §2.1/§2.2: answers `ready=true` only once the room exists, is configured and the focus sits in it. Errors:
   * `bad-request` (no or foreign room), `not-authorized` (a guest would create a room on a deployment that does not
   * allow it), `service-unavailable` while shutting down. A room the focus cannot join answers `ready=false`, which
   * makes the client retry with back-off instead of failing.
   */
  async conferenceRequest(input: ConferenceRequestInput): Promise<ConferenceResponse> {
    if (this.#stopping) {
      this.metrics.conferenceRequests.inc({ outcome: 'refused' });
      throw new StanzaError('service-unavailable', 'cancel', 'the focus is shutting down');
    }
    let room: Jid;
    try {
      room = bareJid(parseJid(input.room));
    } catch {
      this.metrics.conferenceRequests.inc({ outcome: 'bad-request' });
      throw new StanzaError('bad-request', 'modify', 'room is not a valid JID');
    }
    if (room.local === undefined || room.domain !== this.#options.mucDomain) {
      this.metrics.conferenceRequests.inc({ outcome: 'bad-request' });
      throw new StanzaError('bad-request', 'modify', `rooms live on ${this.#options.mucDomain}`);
    }
    const roomJid = formatJid(room);
    const { tokenHost } = this.#options.policy;
    const authenticated = tokenHost !== undefined && input.requester?.domain === tokenHost;
    const exists = this.conferences.has(roomJid) || this.#starting.has(roomJid);
    if (tokenHost !== undefined && !authenticated && !exists && !this.#options.guestsMayCreateRooms) {
      this.metrics.conferenceRequests.inc({ outcome: 'not-authorized' });
      throw new StanzaError('not-authorized', 'auth', 'only authenticated users may start a conference');
    }
    const properties: FocusProperty[] = [
      { name: 'authentication', value: String(tokenHost !== undefined && !this.#options.guestsMayCreateRooms) },
      { name: 'externalAuth', value: String(tokenHost !== undefined) },
      { name: 'sipGatewayEnabled', value: 'false' },
    ];
    let ready = true;
    try {
      const conference = await this.#conference(roomJid);
      conference.touch();
    } catch (error) {
      this.#log.warn({ err: error, room: roomJid }, 'could not start the conference; answering ready=false');
      ready = false;
    }
    this.metrics.conferenceRequests.inc({ outcome: ready ? 'ready' : 'not-ready' });
    return { room: roomJid, ready, focusJid: this.focusBareJid, properties };
  }

  /** The running conference of `roomJid`, creating it (join + configure) once even under concurrent requests. */
  #conference(roomJid: string): Promise<Conference> {
    const running = this.conferences.get(roomJid);
    if (running !== undefined) return Promise.resolve(running);
    let starting = this.#starting.get(roomJid);
    if (starting === undefined) {
      starting = this.#startConference(roomJid).finally(() => this.#starting.delete(roomJid));
      this.#starting.set(roomJid, starting);
    }
    return starting;
  }

  async #startConference(roomJid: string): Promise<Conference> {
    await this.#joinRoom(roomJid, 'focus');
    const meetingId = await this.#configureRoom(roomJid);
    if (this.#stopping) {
      // stop() ran while this room was being set up: leave it instead of starting a conference nobody stops.
      await this.#connection.send(new Element('presence', { from: this.focusJid, to: `${roomJid}/focus`, type: 'unavailable' })).catch(() => undefined);
      throw new StanzaError('service-unavailable', 'cancel', 'the focus is shutting down');
    }
    const conference = new Conference(roomJid, meetingId, this.#context());
    this.conferences.set(roomJid, conference);
    this.metrics.conferencesCreated.inc();
    await conference.sendFocusPresence();
    this.#log.info({ room: roomJid, meetingId }, 'conference started');
    return conference;
  }

  /** §3.5: the focus joins first, then submits the owner form with whois=anyone; the meeting id is kept for life. */
  async #configureRoom(roomJid: string): Promise<string> {
    const timeoutMs = this.#options.policy.mucTimeoutMs;
    const form = await this.#request('get', roomJid, new Element('query', { xmlns: NS.MUC_OWNER }), timeoutMs);
    const x = form.getChild('query', NS.MUC_OWNER)?.getChild('x', NS.DATA_FORMS);
    const meetingField = x?.getChildren('field').find((f) => f.attrs.var === 'muc#roominfo_meetingId');
    const fromRoom = meetingField?.getChildText('value')?.trim();
    const submit = new Element('query', { xmlns: NS.MUC_OWNER });
    const data = new Element('x', { xmlns: NS.DATA_FORMS, type: 'submit' });
    const field = (name: string, value: string): void => {
      const f = new Element('field', { var: name });
      f.cnode(new Element('value').t(value));
      data.cnode(f);
    };
    field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig');
    field('muc#roomconfig_whois', 'anyone');
    submit.cnode(data);
    await this.#request('set', roomJid, submit, timeoutMs);
    // Jicofo reads the id Prosody's mod_muc_meeting_id put in the form, or makes one (§2.3 step 3).
    return fromRoom !== undefined && fromRoom !== '' ? fromRoom : randomUUID();
  }

  async #joinRoom(roomJid: string, nick: string, ...extra: Element[]): Promise<void> {
    const occupant = `${roomJid}/${nick}`;
    const reply = this.#waitPresence(
      (s) => s.attrs.from === occupant && (s.attrs.type === 'error' || (s.attrs.type === undefined && isSelfPresence(s))),
      this.#options.policy.mucTimeoutMs,
    );
    const presence = new Element('presence', { from: this.focusJid, to: occupant });
    presence.cnode(new Element('x', { xmlns: NS.MUC }));
    for (const e of extra) presence.cnode(e);
    await this.#connection.send(presence);
    const answer = await reply;
    if (answer.attrs.type === 'error') throw parseErrorStanza(answer);
  }

  async #joinBrewery(): Promise<void> {
    await this.#joinRoom(this.#options.breweryJid, 'focus');
    this.#breweryJoined = true;
    this.#log.info({ brewery: this.#options.breweryJid }, 'joined the brewery');
  }

  async #onReconnected(): Promise<void> {
    // A new session: every MUC membership is gone. Re-join the brewery and every room (§6 item 7: keep conferences
    // across XMPP reconnects rather than dropping them).
    const rooms = [...this.conferences.values()].map((c) =>
      this.#joinRoom(c.roomJid, 'focus').then(
        () => c.sendFocusPresence(),
        (error: unknown) => this.#log.error({ err: error, room: c.roomJid }, 'could not re-join a room'),
      ),
    );
    await Promise.all([this.#joinBreweryWithRetry(), ...rooms]);
  }

  // --- presence -----------------------------------------------------------------------------------------------

  #waitPresence(match: (stanza: Element) => boolean, timeoutMs: number): Promise<Element> {
    return new Promise((resolve, reject) => {
      const waiter = (stanza: Element): boolean => {
        if (!match(stanza)) return false;
        clearTimeout(timer);
        resolve(stanza);
        return true;
      };
      const timer = setTimeout(() => {
        this.#presenceWaiters.delete(waiter);
        reject(new StanzaError('remote-server-timeout', 'wait', `no MUC answer within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      this.#presenceWaiters.add(waiter);
    });
  }

  #onPresence(stanza: Element): void {
    for (const waiter of [...this.#presenceWaiters]) if (waiter(stanza)) this.#presenceWaiters.delete(waiter);
    let from: Jid;
    try {
      from = parseJid(stanza.attrs.from ?? '');
    } catch {
      return;
    }
    if (from.resource === undefined) return;
    const room = formatJid(bareJid(from));
    if (room === this.#options.breweryJid) {
      this.#onBreweryPresence(from.resource, stanza);
      return;
    }
    const conference = this.conferences.get(room);
    if (conference === undefined) return;
    if (from.resource === 'focus') {
      // Our own occupant went away: room destroyed (a moderator ended the meeting) or the focus was kicked (§2.3:
      // stop). A presence *error* for our nick is the answer to a join and is handled by its waiter.
      if (stanza.attrs.type === 'unavailable') {
        const destroyed = stanza.getChild('x', NS.MUC_USER)?.getChild('destroy') !== undefined;
        void conference.stop(destroyed ? 'room destroyed' : 'the focus left the room', { leave: false });
      }
      return;
    }
    try {
      conference.onPresence(from.resource, parseMucPresence(stanza));
    } catch (error) {
      this.#log.info({ err: error, from: stanza.attrs.from }, 'ignored a malformed occupant presence');
    }
  }

  #onBreweryPresence(nick: string, stanza: Element): void {
    if (nick === 'focus') return;
    const bridge = `${this.#options.breweryJid}/${nick}`;
    if (stanza.attrs.type === 'unavailable') {
      this.#bridgeMedia.delete(bridge);
      if (this.bridges.remove(bridge)) {
        this.#log.warn({ bridge }, 'bridge left the brewery');
        for (const c of this.conferences.values()) if (c.bridge === bridge) c.moveOff(bridge);
      }
      return;
    }
    if (stanza.attrs.type !== undefined) return;
    const stats = stanza.getChild('stats', NS.COLIBRI);
    if (stats === undefined) return;
    try {
      const known = this.bridges.has(bridge);
      const parsed = parseBridgeStats(stats);
      this.#staleHandled.delete(bridge);
      this.bridges.update(bridge, parsed);
      if (!known) this.#log.info({ bridge, region: parsed.region }, 'bridge joined the brewery');
      // Conferences that found no bridge try again as soon as one can take them.
      if (this.bridges.select() !== undefined) for (const c of this.conferences.values()) if (c.bridgeNotAvailable) c.retryInvites();
      if (parsed.shuttingDown === true) for (const c of this.conferences.values()) if (c.bridge === bridge) c.moveOff(bridge);
    } catch (error) {
      this.#log.warn({ err: error, bridge }, 'ignored malformed bridge stats');
    }
  }

  // --- plumbing -----------------------------------------------------------------------------------------------

  #request(type: 'get' | 'set', to: string, payload: Element, timeoutMs: number): Promise<Element> {
    return this.#connection.caller.request(type, to, payload, { timeoutMs, from: this.focusJid });
  }

  #context(): ConferenceContext {
    return {
      focusJid: this.focusJid,
      logger: this.#log,
      bridges: this.bridges,
      bridgeClient: this.#bridgeClient,
      metrics: this.metrics,
      policy: this.#options.policy,
      caps: this.#caps,
      bridgeMedia: this.#bridgeMedia,
      send: (stanza) => this.#connection.send(stanza),
      request: (type, to, payload, timeoutMs) => this.#request(type, to, payload, timeoutMs),
      ended: (conference) => {
        if (this.conferences.get(conference.roomJid) === conference) this.conferences.delete(conference.roomJid);
      },
    };
  }

  /** §7 operations contract: the reasons an operator needs. */
  health(): HealthReport {
    const reasons: string[] = [];
    if (this.#connection.state !== 'online') {
      const why = this.#lastConnectError === undefined ? '' : `: ${this.#lastConnectError}`;
      reasons.push(`XMPP component not connected to Prosody (state: ${this.#connection.state}${why})`);
    }
    else if (!this.#breweryJoined) reasons.push(`brewery ${this.#options.breweryJid} not joined`);
    const operational = this.bridges.operationalCount();
    if (operational === 0) reasons.push(`no operational bridge (${String(this.bridges.size)} in the brewery)`);
    return reasons.length === 0 ? { status: 'ok' } : { status: 'unhealthy', reasons };
  }

  /** Jicofo-style `/stats` (§2.12), for the keys that exist here. */
  stats(): Record<string, unknown> {
    const sizes = [...this.conferences.values()].map((c) => c.participants.size);
    return {
      conferences: this.conferences.size,
      participants: sizes.reduce((a, b) => a + b, 0),
      largest_conference: Math.max(0, ...sizes),
      endpoint_pairs: sizes.reduce((a, b) => a + b * b, 0),
      bridge_selector: {
        bridge_count: this.bridges.size,
        operational_bridge_count: this.bridges.operationalCount(),
        in_shutdown_bridge_count: this.bridges.snapshot().filter((b) => b.gracefulShutdown || b.shuttingDown).length,
      },
      xmpp: { state: this.#connection.state, brewery_joined: this.#breweryJoined },
    };
  }

  debug(): Record<string, unknown> {
    return {
      focus: { jid: this.focusJid, stopping: this.#stopping, brewery: this.#options.breweryJid, breweryJoined: this.#breweryJoined },
      bridges: this.bridges.snapshot(),
      conferences: [...this.conferences.values()].map((c) => c.describe()),
    };
  }
}

function isSelfPresence(stanza: Element): boolean {
  const x = stanza.getChild('x', NS.MUC_USER);
  return x?.getChildren('status').some((s) => s.attrs.code === '110') ?? false;
}
