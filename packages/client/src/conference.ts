// The Hummingbird test client: one participant of a Jitsi conference, doing what current lib-jitsi-meet does
// (spec/jitsi-client-protocol.md §1–§8) with the browser's own RTCPeerConnection. In order:
//   XMPP over WebSocket (§1) → extdisco, disco#info, the focus `conference` IQ (§2) → MUC join presence with the
//   Jitsi extensions (§3.2) → Jingle with the focus (§4): session-initiate → remote SDP (ljm's unified-plan split) →
//   answer with SSRC simulcast → session-accept → source-add / source-remove → re-offer; the colibri-ws bridge
//   channel (§5); screen share as a second video source; leave.
// Everything the test asserts on is exposed through `state()`.

import {
  addLocalMline, addRemoteSources, applySourcesMap, jingleSources, localJingleContents, mungeSimulcast, offerSdp, parseJsonSources, parseLocalSdp, parseOffer,
  removeRemoteSources, type LocalSourceSpec, type MLine, type RemoteSession, type RemoteSource, type SimulcastState,
} from './jingle.js';
import { CAPS_NODE, NS, clientFeatures } from './ns.js';
import { XmppConnection, errorCondition, type WebSocketFactory } from './xmpp.js';
import type { El} from './xml.js';
import { el } from './xml.js';

export interface JoinOptions {
  /** ws://…/xmpp-websocket */
  websocketUrl: string;
  /** hosts.domain (the anonymous or token-authenticated client host). */
  domain: string;
  /** hosts.muc */
  muc: string;
  /** hosts.focus; default `focus.<domain>`. */
  focus?: string;
  room: string;
  token?: string;
  displayName?: string;
  password?: string;
  /** Advertise ssrc-rewriting-1 and handle AudioSourcesMap / VideoSourcesMap (§4.6). */
  ssrcRewriting?: boolean;
  /** Do not advertise json-encoded-sources: the focus must send XML sources. */
  xmlSources?: boolean;
  /** Send the conference IQ (default true). False only for runs against Prosody without a focus. */
  conferenceRequest?: boolean;
  video?: { width: number; height: number; frameRate: number };
  /** Add the TURN servers from extdisco, keeping TCP/TLS ones as ljm does for the JVB session (§1.3). Default true. */
  useTurn?: boolean;
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** ReceiverVideoConstraints.defaultConstraints.maxHeight; left out when not given (ljm's bare default). */
  receiverMaxHeight?: number;
  /** Record every XMPP frame (default false: memory). */
  recordXmpp?: boolean;
  webSocket?: WebSocketFactory;
}

export interface RemoteSourceState {
  owner: string;
  name: string | undefined;
  kind: 'audio' | 'video';
  ssrc: number;
  mid: string;
  videoType: string | undefined;
  removed: boolean;
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number;
  frameHeight: number | undefined;
}

/** A remote source and the track it arrives on (what a page puts in a tile). */
export interface RemoteTrack {
  owner: string;
  name: string | undefined;
  kind: 'audio' | 'video';
  videoType: string | undefined;
  track: MediaStreamTrack;
}

export interface ParticipantState {
  id: string;
  jid: string | undefined;
  nick: string | undefined;
  role: string | undefined;
  sourceInfo: string | undefined;
  left: boolean;
}

export interface BridgeMessage {
  at: number;
  direction: 'in' | 'out';
  message: Record<string, unknown>;
}

export interface JingleEvent {
  at: number;
  direction: 'in' | 'out';
  action: string;
  sid: string | undefined;
  detail?: string;
}

export interface ClientState {
  endpointId: string | undefined;
  jid: string | undefined;
  joined: boolean;
  left: boolean;
  role: string | undefined;
  focusJid: string | undefined;
  meetingId: string | undefined;
  participants: ParticipantState[];
  session: {
    sid: string;
    bridgeSessionId: string | undefined;
    webSocketUrl: string | undefined;
    iceConnectionState: string;
    connectionState: string;
    accepted: boolean;
    /** The selected ICE pair's local candidate type (`host`, `srflx`, `prflx`, `relay`) and protocol. */
    localCandidate: string | undefined;
  } | undefined;
  /** Number of session-initiates accepted (re-invites after a failover count). */
  sessions: number;
  bridgeChannelOpen: boolean;
  remoteSources: RemoteSourceState[];
  local: {
    sources: { name: string; videoType: string | undefined; ssrcs: number[] }[];
    outbound: { ssrc: number; kind: string; packetsSent: number; frameHeight: number | undefined }[];
    screenShare: 'display' | 'canvas' | undefined;
    /** Why the canvas track stood in for getDisplayMedia, if it did. */
    screenShareFallback?: string;
  };
  timings: {
    joinStartedAt: number | undefined;
    joinedAt: number | undefined;
    sessionInitiateAt: number | undefined;
    sessionAcceptedAt: number | undefined;
    firstRemoteFrameAt: number | undefined;
    /** The first decoded remote video frame of the current session (reset by every session-initiate). */
    sessionFirstFrameAt: number | undefined;
  };
  bridgeMessages: BridgeMessage[];
  /** How the focus encoded the remote sources it sent (§4.4): the JSON json-message or plain XML sources. */
  sourceEncodings: { json: number; xml: number };
  jingle: JingleEvent[];
  xmpp: { at: number; direction: 'in' | 'out'; xml: string }[];
  errors: string[];
}

interface Session {
  remote: RemoteSession;
  pc: RTCPeerConnection;
  accepted: boolean;
  /** mid → local source spec for mids this client sends on. */
  localSpecs: LocalSourceSpec[];
  queue: Promise<void>;
  ws: WebSocket | undefined;
  wsRetry: number;
  closed: boolean;
  restarts: number;
}

const hex8 = (): string => Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * XEP-0115 verification string hash (sha-1, base64) over what the disco#info answer holds: like the real client's
 * answer (§1.5 capture), features only, no identity.
 */
export async function capsVer(features: readonly string[]): Promise<string> {
  const s = `${[...features].sort().join('<')}<`;
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(s));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

export class ConferenceClient {
  readonly options: JoinOptions;
  #xmpp: XmppConnection | undefined;
  #features: string[];
  #capsVer = '';
  #roomJid: string;
  #stream: MediaStream | undefined;
  #desktop: MediaStreamTrack | undefined;
  #desktopTimer: ReturnType<typeof setInterval> | undefined;
  #session: Session | undefined;
  #simulcast: SimulcastState = new Map();
  #participants = new Map<string, ParticipantState>();
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #frameTimer: ReturnType<typeof setInterval> | undefined;
  #rewriteCounter = 0;
  #state: ClientState;
  #muted = { audio: false, video: false };

  constructor(options: JoinOptions) {
    this.options = options;
    this.#receiverMaxHeight = options.receiverMaxHeight;
    this.#features = clientFeatures({ ...(options.ssrcRewriting ? { ssrcRewriting: true } : {}), ...(options.xmlSources ? { xmlSources: true } : {}) });
    this.#roomJid = `${options.room.toLowerCase()}@${options.muc.toLowerCase()}`;
    this.#state = {
      endpointId: undefined, jid: undefined, joined: false, left: false, role: undefined, focusJid: undefined, meetingId: undefined,
      participants: [], session: undefined, sessions: 0, bridgeChannelOpen: false, remoteSources: [],
      local: { sources: [], outbound: [], screenShare: undefined },
      timings: { joinStartedAt: undefined, joinedAt: undefined, sessionInitiateAt: undefined, sessionAcceptedAt: undefined, firstRemoteFrameAt: undefined, sessionFirstFrameAt: undefined },
      bridgeMessages: [], sourceEncodings: { json: 0, xml: 0 }, jingle: [], xmpp: [], errors: [],
    };
  }

  #error(message: string): void {
    this.#state.errors.push(`${new Date().toISOString()} ${message}`);
  }

  get features(): readonly string[] {
    return this.#features;
  }

  /** Connect, ask the focus for the conference, join the MUC. Resolves once the self-presence arrived. */
  async join(): Promise<void> {
    try {
      await this.#join();
    } catch (e) {
      // A refused join leaves nothing running: no pings, no socket, no camera.
      this.#state.errors.push(`${new Date().toISOString()} join failed: ${(e as Error).message}`);
      clearInterval(this.#pingTimer);
      this.#xmpp?.close();
      for (const t of this.#stream?.getTracks() ?? []) t.stop();
      throw e;
    }
  }

  async #join(): Promise<void> {
    const o = this.options;
    this.#state.timings.joinStartedAt = Date.now();
    const v = o.video ?? { width: 320, height: 240, frameRate: 15 };
    this.#stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: v.width, height: v.height, frameRate: v.frameRate } });
    this.#capsVer = await capsVer(this.#features);
    const xmpp = new XmppConnection({
      url: o.websocketUrl,
      domain: o.domain,
      ...(o.token ? { token: o.token } : {}),
      ...(o.webSocket ? { webSocket: o.webSocket } : {}),
      ...(o.recordXmpp ? { onTraffic: (direction: 'in' | 'out', xml: string) => this.#state.xmpp.push({ at: Date.now(), direction, xml }) } : {}),
    });
    this.#xmpp = xmpp;
    xmpp.onClose = (reason) => {
      if (!this.#state.left) this.#error(`XMPP connection closed: ${reason}`);
    };
    xmpp.on((stanza) => this.#onStanza(stanza));
    const jid = await xmpp.connect();
    this.#state.jid = jid;
    const node = jid.split('@')[0] ?? '';
    this.#state.endpointId = /^[0-9a-f]{8}/.test(node) ? node.slice(0, 8) : hex8();

    // §1.3: extdisco, disco#info of the domain, then the conference request; pings every 10 s.
    const iceServers = await this.#extdisco();
    void xmpp.iq(el('iq', { type: 'get', to: o.domain }, el('query', { xmlns: NS.discoInfo }))).catch((e: Error) => this.#error(`disco#info of the domain: ${e.message}`));
    this.#iceServers = iceServers;
    if (o.conferenceRequest !== false) await this.#conferenceRequest();
    this.#pingTimer = setInterval(() => {
      if (xmpp.closed) return;
      xmpp.iq(el('iq', { type: 'get', to: o.domain }, el('ping', { xmlns: NS.ping })), 5_000).catch((e: Error) => this.#error(`ping: ${e.message}`));
    }, 10_000);

    const self = new Promise<El>((resolve, reject) => {
      this.#selfPresence = { resolve, reject };
    });
    xmpp.send(this.#presence(true));
    const timer = setTimeout(() => this.#selfPresence?.reject(new Error('no self-presence from the MUC within 15 s')), 15_000);
    try {
      await self;
    } finally {
      clearTimeout(timer);
    }
    this.#state.joined = true;
    this.#state.timings.joinedAt = Date.now();
    // §3.5: the room's disco#info (meeting id); optional.
    xmpp.iq(el('iq', { type: 'get', to: this.#roomJid }, el('query', { xmlns: NS.discoInfo })))
      .then((r) => {
        const field = r.first('query', NS.discoInfo)?.first('x')?.all('field').find((f) => f.attrs['var'] === 'muc#roominfo_meetingId');
        this.#state.meetingId = field?.first('value')?.text();
      })
      .catch((e: Error) => this.#error(`room disco#info: ${e.message}`));
  }

  #iceServers: RTCIceServer[] = [];
  #selfPresence: { resolve: (e: El) => void; reject: (e: Error) => void } | undefined;

  async #extdisco(): Promise<RTCIceServer[]> {
    if (this.options.useTurn === false || !this.#xmpp) return [];
    try {
      const r = await this.#xmpp.iq(el('iq', { type: 'get', to: this.options.domain }, el('services', { xmlns: NS.extdisco })));
      const servers: RTCIceServer[] = [];
      for (const s of r.first('services', NS.extdisco)?.all('service') ?? []) {
        const { type, host, port, transport, username, password } = s.attrs;
        // §1.3: for the JVB connection ljm keeps only turn/turns with transport=tcp.
        if ((type !== 'turn' && type !== 'turns') || transport !== 'tcp' || !host) continue;
        const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
        servers.push({ urls: `${type}:${h}${port ? `:${port}` : ''}?transport=tcp`, ...(username ? { username } : {}), ...(password ? { credential: password } : {}) });
      }
      return servers;
    } catch (e) {
      this.#error(`extdisco: ${(e as Error).message}`);
      return [];
    }
  }

  async #conferenceRequest(): Promise<void> {
    const xmpp = this.#xmpp;
    if (!xmpp) return;
    const focus = this.options.focus ?? `focus.${this.options.domain}`;
    const machineUid = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    // §2.1: retried after 1 s, 2 s, 4 s … while ready is false.
    for (let delay = 1000; ; delay = Math.min(delay * 2, 120_000)) {
      const request = el('iq', { type: 'set', to: focus },
        el('conference', { xmlns: NS.focus, room: this.#roomJid, 'machine-uid': machineUid, token: this.options.token },
          el('property', { name: 'rtcstatsEnabled', value: 'false' }),
          el('property', { name: 'visitors-version', value: '1' }),
        ),
      );
      const reply = await xmpp.iq(request, 60_000);
      const conf = reply.first('conference', NS.focus);
      if (!conf) throw new Error('conference IQ result without a conference element');
      const live = conf.all('property').find((p) => p.attrs['name'] === 'live');
      if (live?.attrs['value'] === 'false') throw new Error('the focus says the conference is not live');
      if (conf.attrs['vnode']) throw new Error(`visitor redirect to ${conf.attrs['vnode']}: not supported`);
      if (conf.attrs['focusjid']) this.#state.focusJid = conf.attrs['focusjid'];
      if (conf.attrs['ready'] === 'true') return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  #presence(initial: boolean): El {
    const o = this.options;
    const sourceInfo: Record<string, { muted: boolean; videoType?: string }> = {};
    for (const s of this.#session?.accepted ? this.#session.localSpecs : []) {
      const muted = s.name.endsWith('-a0') ? this.#muted.audio : s.name.endsWith('-v0') ? this.#muted.video : false;
      sourceInfo[s.name] = { muted, ...(s.videoType === 'desktop' ? { videoType: 'desktop' } : {}) };
    }
    return el('presence', { to: `${this.#roomJid}/${this.#state.endpointId ?? ''}` },
      initial && el('x', { xmlns: NS.muc }, o.password !== undefined ? el('password', {}, o.password) : undefined),
      el('stats-id', {}, `hb-${this.#state.endpointId ?? ''}`),
      el('c', { xmlns: NS.caps, hash: 'sha-1', node: CAPS_NODE, ver: this.#capsVer }),
      el('SourceInfo', {}, JSON.stringify(sourceInfo)),
      el('jitsi_participant_codecList', {}, 'vp8'),
      o.displayName !== undefined && el('nick', { xmlns: NS.nick }, o.displayName),
    );
  }

  #onStanza(stanza: El): void {
    try {
      if (stanza.local === 'iq') this.#onIq(stanza);
      else if (stanza.local === 'presence') this.#onPresence(stanza);
    } catch (e) {
      this.#error(`handling ${stanza.local}: ${(e as Error).message}`);
    }
  }

  #onIq(iq: El): void {
    const xmpp = this.#xmpp;
    if (!xmpp) return;
    const type = iq.attrs['type'];
    const payload = iq.elements()[0];
    if (type === 'get' && payload?.local === 'query' && payload.ns === NS.discoInfo) {
      // §1.5: the whole feature list, for any node.
      xmpp.result(iq, el('query', { xmlns: NS.discoInfo, node: payload.attrs['node'] }, ...this.#features.map((f) => el('feature', { var: f }))));
      return;
    }
    if (type === 'get' && payload?.local === 'ping' && payload.ns === NS.ping) {
      xmpp.result(iq);
      return;
    }
    if (type === 'set' && payload?.local === 'jingle' && payload.ns === NS.jingle) {
      this.#onJingle(iq, payload);
      return;
    }
    if (type === 'get' || type === 'set') xmpp.error(iq, 'cancel', 'service-unavailable');
  }

  #onPresence(p: El): void {
    const from = p.attrs['from'] ?? '';
    const slash = from.indexOf('/');
    if (slash < 0 || from.slice(0, slash).toLowerCase() !== this.#roomJid) return;
    const nick = from.slice(slash + 1);
    const x = p.first('x', NS.mucUser);
    const item = x?.first('item');
    const codes = x?.all('status').map((s) => s.attrs['code']) ?? [];
    if (p.attrs['type'] === 'error') {
      const cond = errorCondition(p) ?? 'error';
      this.#error(`MUC join refused: ${cond}`);
      this.#selfPresence?.reject(new Error(`MUC join refused: ${cond}`));
      return;
    }
    const unavailable = p.attrs['type'] === 'unavailable';
    if (codes.includes('110') || nick === this.#state.endpointId) {
      if (unavailable) return;
      this.#state.role = item?.attrs['role'];
      if (codes.includes('201')) this.#submitDefaultConfig();
      this.#selfPresence?.resolve(p);
      this.#selfPresence = undefined;
      return;
    }
    if (nick === 'focus') {
      if (unavailable && !this.#state.left) this.#error('the focus left the room (conference.focusLeft)');
    }
    let participant = this.#participants.get(nick);
    if (!participant) {
      participant = { id: nick, jid: undefined, nick: undefined, role: undefined, sourceInfo: undefined, left: false };
      this.#participants.set(nick, participant);
    }
    if (unavailable) {
      participant.left = true;
      // §4.4: in Jingle-sources mode ljm removes a departed participant's SSRCs itself.
      const s = this.#session;
      if (s && !this.options.ssrcRewriting && nick !== 'focus') {
        const ssrcs = s.remote.mlines.filter((m) => m.source?.owner === nick && !m.rejected).map((m) => m.source?.ssrc ?? -1);
        if (ssrcs.length > 0) {
          removeRemoteSources(s.remote, ssrcs);
          this.#renegotiate(s, 'participant left');
        }
      }
      return;
    }
    participant.left = false;
    participant.jid = item?.attrs['jid'];
    participant.role = item?.attrs['role'];
    participant.nick = p.first('nick', NS.nick)?.text();
    participant.sourceInfo = p.first('SourceInfo')?.text();
  }

  /** A client that created the room submits whois=anyone itself (§3.3, status 201). */
  #submitDefaultConfig(): void {
    const form = el('x', { xmlns: 'jabber:x:data', type: 'submit' },
      el('field', { var: 'FORM_TYPE' }, el('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      el('field', { var: 'muc#roomconfig_whois' }, el('value', {}, 'anyone')));
    this.#xmpp?.iq(el('iq', { type: 'set', to: this.#roomJid }, el('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, form)))
      .catch((e: Error) => this.#error(`room configuration: ${e.message}`));
  }

  #isFocus(from: string): boolean {
    if (from.toLowerCase() !== `${this.#roomJid}/focus`) return false;
    const focusJid = this.#state.focusJid;
    if (focusJid === undefined) return true;
    const occupant = this.#participants.get('focus');
    return occupant?.jid?.startsWith(`${focusJid}/`) ?? false;
  }

  #logJingle(direction: 'in' | 'out', action: string, sid: string | undefined, detail?: string): void {
    this.#state.jingle.push({ at: Date.now(), direction, action, sid, ...(detail !== undefined ? { detail } : {}) });
  }

  #onJingle(iq: El, jingle: El): void {
    const xmpp = this.#xmpp;
    if (!xmpp) return;
    const action = jingle.attrs['action'] ?? '';
    const sid = jingle.attrs['sid'];
    const from = iq.attrs['from'] ?? '';
    this.#logJingle('in', action, sid);
    const unknownSession = (): void =>
      xmpp.error(iq, 'cancel', 'item-not-found', el('unknown-session', { xmlns: NS.jingleErrors }));
    if (action === 'session-initiate') {
      if (!this.#isFocus(from)) {
        // §3.4: ljm rejects a session-initiate from anyone but the focus.
        xmpp.result(iq);
        xmpp.iq(el('iq', { type: 'set', to: from }, el('jingle', { xmlns: NS.jingle, action: 'session-terminate', sid },
          el('reason', {}, el('security-error'), el('text', {}, 'Rejecting session-initiate from non-focus'))))).catch(() => undefined);
        return;
      }
      if (this.#session && this.#session.remote.sid === sid) {
        xmpp.error(iq, 'cancel', 'service-unavailable');
        return;
      }
      let remote: RemoteSession;
      try {
        remote = parseOffer(jingle);
      } catch (e) {
        this.#error(`bad session-initiate: ${(e as Error).message}`);
        xmpp.error(iq, 'modify', 'bad-request');
        return;
      }
      xmpp.result(iq);
      this.#countEncoding(jingle);
      this.#state.timings.sessionInitiateAt = Date.now();
      if (this.#session) this.#closeSession(this.#session, false);
      this.#startSession(remote, from);
      return;
    }
    const s = this.#session;
    if (!s || s.remote.sid !== sid) {
      unknownSession();
      return;
    }
    switch (action) {
      case 'source-add': {
        let sources: RemoteSource[];
        try {
          sources = jingleSources(jingle);
          this.#countEncoding(jingle);
        } catch (e) {
          this.#error(`bad source-add: ${(e as Error).message}`);
          xmpp.error(iq, 'modify', 'bad-request');
          return;
        }
        xmpp.result(iq);
        const added = addRemoteSources(s.remote, sources);
        this.#logJingle('in', 'source-add:applied', sid, added.map((a) => `${a.owner}/${a.name ?? '?'}/${a.ssrc}`).join(' '));
        if (added.length > 0) this.#renegotiate(s, 'source-add');
        return;
      }
      case 'source-remove': {
        let sources: RemoteSource[];
        try {
          sources = jingleSources(jingle);
        } catch (e) {
          this.#error(`bad source-remove: ${(e as Error).message}`);
          xmpp.error(iq, 'modify', 'bad-request');
          return;
        }
        xmpp.result(iq);
        const ssrcs = sources.flatMap((x) => [x.ssrc]);
        const removed = removeRemoteSources(s.remote, ssrcs);
        this.#logJingle('in', 'source-remove:applied', sid, removed.map((a) => `${a.owner}/${a.name ?? '?'}/${a.ssrc}`).join(' '));
        if (removed.length > 0) this.#renegotiate(s, 'source-remove');
        return;
      }
      case 'session-terminate':
        xmpp.result(iq);
        this.#closeSession(s, false);
        return;
      case 'transport-info':
      case 'transport-replace':
        // §4.1: candidates are ignored for JVB sessions; transport-replace is acked and ignored.
        xmpp.result(iq);
        return;
      default:
        xmpp.error(iq, 'cancel', 'bad-request');
    }
  }

  /** Counts how remote participants' sources arrived; the bridge's own feedback sources (always XML) do not count. */
  #countEncoding(jingle: El): void {
    const json = jingle.first('json-message', NS.jitmeet);
    if (json && parseJsonSources(json.text()).length > 0) this.#state.sourceEncodings.json++;
    else if (jingleSources(jingle).some((s) => s.owner !== 'jvb' && !(s.msid?.startsWith('mixedmslabel') ?? false))) this.#state.sourceEncodings.xml++;
  }

  #startSession(remote: RemoteSession, focusOccupant: string): void {
    const pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      iceServers: this.#iceServers,
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
    });
    const ep = this.#state.endpointId ?? 'unknown';
    const s: Session = { remote, pc, accepted: false, localSpecs: [], queue: Promise.resolve(), ws: undefined, wsRetry: 0, closed: false, restarts: 0 };
    this.#session = s;
    this.#state.sessions++;
    this.#state.session = {
      sid: remote.sid, bridgeSessionId: remote.bridgeSessionId, webSocketUrl: remote.transport.webSocket,
      iceConnectionState: 'new', connectionState: 'new', accepted: false, localCandidate: undefined,
    };
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.#session !== s || !this.#state.session) return;
      this.#state.session.iceConnectionState = pc.iceConnectionState;
      if (pc.iceConnectionState === 'failed') this.#onIceFailed(s, focusOccupant);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.#session === s && this.#state.session) this.#state.session.connectionState = pc.connectionState;
    });
    // §5.2: the bridge channel opens as soon as the session-initiate is processed, before session-accept.
    if (remote.transport.webSocket) this.#openBridgeChannel(s, remote.transport.webSocket);
    const audioMid = remote.mlines.find((m) => m.kind === 'audio' && m.role === 'feedback')?.mid;
    const videoMid = remote.mlines.find((m) => m.kind === 'video' && m.role === 'feedback')?.mid;
    if (audioMid !== undefined) s.localSpecs.push({ mid: audioMid, name: `${ep}-a0`, msid: `${ep}-audio-0-1 ${this.#stream?.getAudioTracks()[0]?.id ?? 'a'}-1` });
    if (videoMid !== undefined) s.localSpecs.push({ mid: videoMid, name: `${ep}-v0`, videoType: 'camera', msid: `${ep}-video-0-1 ${this.#stream?.getVideoTracks()[0]?.id ?? 'v'}-1` });
    // A screen share that was running before a re-invite goes on again.
    let desktopMline: MLine | undefined;
    if (this.#desktop) {
      desktopMline = addLocalMline(remote, 'video');
      s.localSpecs.push({ mid: desktopMline.mid, name: `${ep}-v1`, videoType: 'desktop', msid: `${ep}-video-1-1 ${this.#desktop.id}-1` });
    }
    this.#enqueue(s, async () => {
      await this.#negotiate(s, true);
      const local = parseLocalSdp(pc.localDescription?.sdp ?? '');
      const accept = el('jingle', { xmlns: NS.jingle, action: 'session-accept', initiator: focusOccupant, responder: this.#state.jid, sid: remote.sid },
        el('group', { xmlns: NS.grouping, semantics: 'BUNDLE' }, el('content', { name: 'audio' }), el('content', { name: 'video' }), el('content', { name: 'data' })),
        ...localJingleContents(local, s.localSpecs, { withTransport: true }));
      this.#logJingle('out', 'session-accept', remote.sid);
      try {
        await this.#xmpp?.iq(el('iq', { type: 'set', to: focusOccupant }, accept));
      } catch (e) {
        this.#error(`session-accept failed (conference.offerAnswerFailed): ${(e as Error).message}`);
        return;
      }
      s.accepted = true;
      if (this.#state.session) this.#state.session.accepted = true;
      this.#state.timings.sessionAcceptedAt = Date.now();
      this.#updateLocalSourcesState(s);
      this.#xmpp?.send(this.#presence(false));
      this.#sendVideoTypes(s);
      this.#watchFirstFrame();
    });
  }

  #enqueue(s: Session, task: () => Promise<void>): void {
    s.queue = s.queue.then(async () => {
      if (s.closed) return;
      try {
        await task();
      } catch (e) {
        this.#error(`session ${s.remote.sid}: ${(e as Error).message}`);
      }
    });
  }

  #renegotiate(s: Session, why: string): void {
    this.#enqueue(s, async () => {
      s.remote.version++;
      await this.#negotiate(s, false);
      this.#logJingle('in', `renegotiated:${why}`, s.remote.sid);
    });
  }

  /** setRemoteDescription(offer) → local tracks on their mids → createAnswer → simulcast munging → setLocalDescription. */
  async #negotiate(s: Session, first: boolean): Promise<void> {
    const { pc, remote } = s;
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp(remote) });
    for (const t of pc.getTransceivers()) {
      const spec = s.localSpecs.find((x) => x.mid === t.mid);
      if (!spec || t.currentDirection === 'stopped') continue;
      const track = spec.name.endsWith('-a0') ? this.#stream?.getAudioTracks()[0] : spec.name.endsWith('-v0') ? this.#stream?.getVideoTracks()[0] : this.#desktop;
      if (!track) continue;
      if (t.sender.track !== track) {
        await t.sender.replaceTrack(track);
        t.sender.setStreams(new MediaStream([track]));
      }
      const line = remote.mlines.find((m) => m.mid === t.mid);
      t.direction = line?.role === 'local-extra' ? 'sendonly' : 'sendrecv';
    }
    void first;
    const answer = await pc.createAnswer();
    const videoMids = new Set(s.localSpecs.filter((x) => x.videoType !== undefined).map((x) => x.mid));
    const sdp = mungeSimulcast(answer.sdp ?? '', videoMids, this.#simulcast);
    await pc.setLocalDescription({ type: 'answer', sdp });
  }

  #updateLocalSourcesState(s: Session): void {
    const local = parseLocalSdp(s.pc.localDescription?.sdp ?? '');
    this.#state.local.sources = s.localSpecs.map((spec) => ({
      name: spec.name,
      videoType: spec.videoType,
      ssrcs: local.sections.find((x) => x.mid === spec.mid)?.ssrcs ?? [],
    }));
  }

  #onIceFailed(s: Session, focusOccupant: string): void {
    // §4.7: wait 2 s, then session-terminate with a restart request (up to 3 times).
    setTimeout(() => {
      if (this.#session !== s || s.closed || s.pc.iceConnectionState !== 'failed') return;
      if (s.restarts >= 3) {
        this.#error('ICE failed (conference.iceFailed)');
        return;
      }
      s.restarts++;
      this.#logJingle('out', 'session-terminate', s.remote.sid, 'ICE FAILED, restart');
      this.#xmpp?.iq(el('iq', { type: 'set', to: focusOccupant },
        el('jingle', { xmlns: NS.jingle, action: 'session-terminate', sid: s.remote.sid },
          el('reason', {}, el('connectivity-error'), el('text', {}, 'ICE FAILED')),
          el('bridge-session', { xmlns: NS.focus, id: s.remote.bridgeSessionId, restart: 'true' }))))
        .catch((e: Error) => this.#error(`session-terminate (restart): ${e.message}`));
      this.#closeSession(s, false);
    }, 2_000);
  }

  #closeSession(s: Session, sendTerminate: boolean): void {
    if (s.closed) return;
    if (sendTerminate && this.#xmpp && !this.#xmpp.closed) {
      this.#logJingle('out', 'session-terminate', s.remote.sid, 'success');
      this.#xmpp.iq(el('iq', { type: 'set', to: `${this.#roomJid}/focus` },
        el('jingle', { xmlns: NS.jingle, action: 'session-terminate', sid: s.remote.sid }, el('reason', {}, el('success')))), 3_000)
        .catch(() => undefined);
    }
    s.closed = true;
    try {
      s.ws?.close(1000);
    } catch {
      // ignore
    }
    s.pc.close();
    if (this.#session === s) {
      this.#session = undefined;
      this.#state.bridgeChannelOpen = false;
      if (this.#state.session) this.#state.session.iceConnectionState = 'closed';
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // colibri-ws (§5)

  #openBridgeChannel(s: Session, url: string): void {
    if (s.closed) return;
    const ws = new WebSocket(url);
    s.ws = ws;
    ws.onopen = () => {
      s.wsRetry = 0;
      if (this.#session === s) this.#state.bridgeChannelOpen = true;
      this.#sendVideoTypes(s);
      this.#sendReceiverConstraints(s);
    };
    ws.onmessage = (ev) => {
      let message: unknown;
      try {
        message = JSON.parse(String(ev.data));
      } catch {
        this.#error('bridge channel: a frame that is not JSON');
        return;
      }
      if (typeof message !== 'object' || message === null) return;
      const m = message as Record<string, unknown>;
      this.#state.bridgeMessages.push({ at: Date.now(), direction: 'in', message: m });
      if (this.#state.bridgeMessages.length > 500) this.#state.bridgeMessages.splice(0, 100);
      if (m['colibriClass'] === 'VideoSourcesMap' || m['colibriClass'] === 'AudioSourcesMap') this.#onSourcesMap(s, m);
    };
    ws.onclose = (ev) => {
      if (this.#session === s) this.#state.bridgeChannelOpen = false;
      if (s.closed || s.ws !== ws || ev.code === 1001) return;
      // §5.2: reconnect after 1 s, 2 s, 4 s … up to 60 s.
      const delay = Math.min(1000 * 2 ** s.wsRetry, 60_000);
      s.wsRetry++;
      setTimeout(() => this.#openBridgeChannel(s, url), delay);
    };
  }

  /** §5.3: ljm's bare default is `{lastN: -1, assumedBandwidthBps: -1}`; a maxHeight adds defaultConstraints. */
  #sendReceiverConstraints(s: Session): void {
    const constraints: Record<string, unknown> = { colibriClass: 'ReceiverVideoConstraints', lastN: -1, assumedBandwidthBps: -1 };
    if (this.#receiverMaxHeight !== undefined) {
      constraints['defaultConstraints'] = { maxHeight: this.#receiverMaxHeight };
      constraints['constraints'] = {};
      constraints['onStageSources'] = [];
    }
    this.#bridgeSend(s, constraints);
  }

  #receiverMaxHeight: number | undefined;

  /** Changes the receiver's default maxHeight (the bridge maps it to a simulcast layer, §8.5) and tells the bridge. */
  setReceiverMaxHeight(maxHeight: number): void {
    this.#receiverMaxHeight = maxHeight;
    if (this.#session) this.#sendReceiverConstraints(this.#session);
  }

  #bridgeSend(s: Session, message: Record<string, unknown>): void {
    if (s.ws?.readyState !== WebSocket.OPEN) return;
    s.ws.send(JSON.stringify(message));
    this.#state.bridgeMessages.push({ at: Date.now(), direction: 'out', message });
  }

  #sendVideoTypes(s: Session): void {
    for (const spec of s.localSpecs) {
      if (spec.videoType) this.#bridgeSend(s, { colibriClass: 'SourceVideoTypeMessage', sourceName: spec.name, videoType: spec.videoType });
    }
  }

  /** §4.6: AudioSourcesMap / VideoSourcesMap create or re-map remote tracks in ssrc-rewriting mode. */
  #onSourcesMap(s: Session, m: Record<string, unknown>): void {
    if (!this.options.ssrcRewriting) return;
    const { added, counter } = applySourcesMap(s.remote, m, this.#rewriteCounter);
    this.#rewriteCounter = counter;
    if (added.length > 0) this.#renegotiate(s, String(m['colibriClass']));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Screen share (a second local video source, §4.3) and leave.

  /**
   * Starts a screen share: `getDisplayMedia` (at most 640×360 at 5 fps; headless Chromium with the fake-UI flag
   * captures a fake screen), else — or when `preferDisplay` is false — a `canvas.captureStream()` track. Adds a
   * recvonly m-line to the remote description for it, as ljm does, renegotiates, and signals `source-add` with
   * `<ep>-v1` videoType desktop.
   */
  async startScreenShare(preferDisplay = true): Promise<void> {
    const s = this.#session;
    if (!s?.accepted) throw new Error('no accepted session to share the screen on');
    if (this.#desktop) throw new Error('already sharing');
    let track: MediaStreamTrack | undefined;
    if (preferDisplay && typeof navigator.mediaDevices.getDisplayMedia === 'function') {
      try {
        const display = await Promise.race([
          navigator.mediaDevices.getDisplayMedia({ video: { width: { max: 640 }, height: { max: 360 }, frameRate: { max: 5 } } }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('getDisplayMedia timed out')), 3_000)),
        ]);
        track = display.getVideoTracks()[0];
        this.#state.local.screenShare = 'display';
      } catch (e) {
        this.#state.local.screenShareFallback = `getDisplayMedia failed (${(e as Error).message}), a canvas track is used`;
      }
    }
    if (!track) {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 180;
      const ctx = canvas.getContext('2d');
      let n = 0;
      const draw = (): void => {
        if (!ctx) return;
        ctx.fillStyle = `hsl(${(n * 7) % 360} 60% 50%)`;
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.fillStyle = '#fff';
        ctx.font = '24px sans-serif';
        ctx.fillText(`screen ${this.#state.endpointId ?? ''} ${n++}`, 10, 90);
      };
      draw();
      this.#desktopTimer = setInterval(draw, 100);
      track = canvas.captureStream(10).getVideoTracks()[0];
      this.#state.local.screenShare = 'canvas';
    }
    if (!track) throw new Error('no screen-share track');
    this.#desktop = track;
    const ep = this.#state.endpointId ?? 'unknown';
    const line = addLocalMline(s.remote, 'video');
    const spec: LocalSourceSpec = { mid: line.mid, name: `${ep}-v1`, videoType: 'desktop', msid: `${ep}-video-1-1 ${track.id}-1` };
    s.localSpecs.push(spec);
    await new Promise<void>((resolve, reject) => {
      this.#enqueue(s, async () => {
        try {
          s.remote.version++;
          await this.#negotiate(s, false);
          const local = parseLocalSdp(s.pc.localDescription?.sdp ?? '');
          const add = el('jingle', { xmlns: NS.jingle, action: 'source-add', sid: s.remote.sid }, ...localJingleContents(local, [spec], { withTransport: false }));
          this.#logJingle('out', 'source-add', s.remote.sid, spec.name);
          await this.#xmpp?.iq(el('iq', { type: 'set', to: `${this.#roomJid}/focus` }, add));
          this.#updateLocalSourcesState(s);
          this.#xmpp?.send(this.#presence(false));
          this.#sendVideoTypes(s);
          resolve();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  /**
   * Locks the room with a password as ljm's `lockRoom` does (§3.6): fetch the owner form, submit it with
   * `muc#roomconfig_roomsecret`, `muc#roomconfig_passwordprotectedroom` and `whois=anyone`. Needs owner rights.
   */
  async lockRoom(password: string): Promise<void> {
    const xmpp = this.#xmpp;
    if (!xmpp || !this.#state.joined) throw new Error('not in the room');
    const owner = 'http://jabber.org/protocol/muc#owner';
    await xmpp.iq(el('iq', { type: 'get', to: this.#roomJid }, el('query', { xmlns: owner })));
    const field = (name: string, value: string): El => el('field', { var: name }, el('value', {}, value));
    await xmpp.iq(el('iq', { type: 'set', to: this.#roomJid }, el('query', { xmlns: owner },
      el('x', { xmlns: 'jabber:x:data', type: 'submit' },
        field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig'),
        field('muc#roomconfig_roomsecret', password),
        field('muc#roomconfig_passwordprotectedroom', '1'),
        field('muc#roomconfig_whois', 'anyone')))));
  }

  async leave(): Promise<void> {
    if (this.#state.left) return;
    this.#state.left = true;
    clearInterval(this.#pingTimer);
    clearInterval(this.#frameTimer);
    clearInterval(this.#desktopTimer);
    const s = this.#session;
    if (s) this.#closeSession(s, true);
    const xmpp = this.#xmpp;
    if (xmpp && !xmpp.closed) {
      xmpp.send(el('presence', { to: `${this.#roomJid}/${this.#state.endpointId ?? ''}`, type: 'unavailable' }));
      await new Promise((r) => setTimeout(r, 200));
      xmpp.close();
    }
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    this.#desktop?.stop();
  }

  // ------------------------------------------------------------------------------------------------------------
  // What a page renders (packages/client/page): the media tracks, mute, stopping the screen share.

  /** The local camera/microphone tracks and the screen-share track, if any. */
  localTracks(): { audio: MediaStreamTrack | undefined; video: MediaStreamTrack | undefined; desktop: MediaStreamTrack | undefined } {
    return { audio: this.#stream?.getAudioTracks()[0], video: this.#stream?.getVideoTracks()[0], desktop: this.#desktop };
  }

  /** The receiving track of every remote source the current session has (removed ones left out). */
  remoteTracks(): RemoteTrack[] {
    const s = this.#session;
    if (!s) return [];
    const out: RemoteTrack[] = [];
    for (const t of s.pc.getTransceivers()) {
      const m = s.remote.mlines.find((x) => x.mid === t.mid);
      if (!m || m.role !== 'remote' || m.rejected || !m.source) continue;
      out.push({ owner: m.source.owner, name: m.source.name, kind: m.source.kind, videoType: m.source.videoType, track: t.receiver.track });
    }
    return out;
  }

  get muted(): { audio: boolean; video: boolean } {
    return { ...this.#muted };
  }

  /**
   * Mutes or unmutes the microphone or the camera as current ljm does: the SSRCs stay (§8.1: it only toggles the
   * sending), the track sends silence / black, and the presence's SourceInfo says `muted` (§3.2).
   */
  setMuted(kind: 'audio' | 'video', muted: boolean): void {
    this.#muted[kind] = muted;
    const track = kind === 'audio' ? this.#stream?.getAudioTracks()[0] : this.#stream?.getVideoTracks()[0];
    if (track) track.enabled = !muted;
    if (this.#state.joined && this.#xmpp && !this.#xmpp.closed) this.#xmpp.send(this.#presence(false));
  }

  /** Stops the screen share: `source-remove` for `<ep>-v1`, its m-line rejected (never reused), presence updated. */
  async stopScreenShare(): Promise<void> {
    const track = this.#desktop;
    if (!track) return;
    clearInterval(this.#desktopTimer);
    this.#desktop = undefined;
    this.#state.local.screenShare = undefined;
    track.stop();
    const s = this.#session;
    const spec = s?.localSpecs.find((x) => x.videoType === 'desktop');
    if (!s || !spec) return;
    const before = parseLocalSdp(s.pc.localDescription?.sdp ?? '');
    const contents = localJingleContents(before, [spec], { withTransport: false });
    s.localSpecs = s.localSpecs.filter((x) => x !== spec);
    const line = s.remote.mlines.find((m) => m.mid === spec.mid);
    if (line) line.rejected = true;
    await new Promise<void>((resolve, reject) => {
      this.#enqueue(s, async () => {
        try {
          s.remote.version++;
          await this.#negotiate(s, false);
          this.#logJingle('out', 'source-remove', s.remote.sid, spec.name);
          await this.#xmpp?.iq(el('iq', { type: 'set', to: `${this.#roomJid}/focus` }, el('jingle', { xmlns: NS.jingle, action: 'source-remove', sid: s.remote.sid }, ...contents)));
          this.#updateLocalSourcesState(s);
          this.#xmpp?.send(this.#presence(false));
          resolve();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  // ------------------------------------------------------------------------------------------------------------
  // What the test reads.

  #watchFirstFrame(): void {
    clearInterval(this.#frameTimer);
    this.#state.timings.sessionFirstFrameAt = undefined;
    const session = this.#session;
    const timer = setInterval(() => {
      const pc = session?.pc;
      if (!pc || session !== this.#session) {
        clearInterval(timer);
        return;
      }
      void pc.getStats().then((report) => {
        if (session !== this.#session) return;
        report.forEach((v: Record<string, unknown>) => {
          if (v['type'] === 'inbound-rtp' && v['kind'] === 'video' && typeof v['framesDecoded'] === 'number' && v['framesDecoded'] > 0) {
            const now = Date.now();
            this.#state.timings.firstRemoteFrameAt ??= now;
            this.#state.timings.sessionFirstFrameAt ??= now;
          }
        });
        if (this.#state.timings.sessionFirstFrameAt !== undefined) clearInterval(timer);
      });
    }, 100);
    this.#frameTimer = timer;
  }

  async state(): Promise<ClientState> {
    const s = this.#session;
    const remoteSources: RemoteSourceState[] = [];
    const outbound: ClientState['local']['outbound'] = [];
    const bySsrc = new Map<number, Record<string, unknown>>();
    if (s) {
      const report = await s.pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      report.forEach((v: Record<string, unknown>, id: string) => byId.set(id, v));
      for (const v of byId.values()) {
        if (v['type'] !== 'transport' || typeof v['selectedCandidatePairId'] !== 'string') continue;
        const pair = byId.get(v['selectedCandidatePairId']);
        const local = typeof pair?.['localCandidateId'] === 'string' ? byId.get(pair['localCandidateId']) : undefined;
        const str = (k: string): string | undefined => (typeof local?.[k] === 'string' ? local[k] : undefined);
        if (local && this.#state.session) {
          const relay = str('relayProtocol');
          this.#state.session.localCandidate = `${str('candidateType') ?? '?'}/${str('protocol') ?? '?'}${relay ? `/${relay}` : ''}`;
        }
      }
      report.forEach((v: Record<string, unknown>) => {
        if (v['type'] === 'inbound-rtp' && typeof v['ssrc'] === 'number') bySsrc.set(v['ssrc'], v);
        if (v['type'] === 'outbound-rtp' && typeof v['ssrc'] === 'number') {
          outbound.push({
            ssrc: v['ssrc'], kind: String(v['kind']), packetsSent: typeof v['packetsSent'] === 'number' ? v['packetsSent'] : 0,
            frameHeight: typeof v['frameHeight'] === 'number' ? v['frameHeight'] : undefined,
          });
        }
      });
      for (const m of s.remote.mlines) {
        if (m.role !== 'remote' || !m.source) continue;
        const st = bySsrc.get(m.source.ssrc);
        const num = (k: string): number => (typeof st?.[k] === 'number' ? st[k] : 0);
        remoteSources.push({
          owner: m.source.owner, name: m.source.name, kind: m.source.kind, ssrc: m.source.ssrc, mid: m.mid,
          videoType: m.source.videoType, removed: m.rejected,
          packetsReceived: num('packetsReceived'), bytesReceived: num('bytesReceived'), framesDecoded: num('framesDecoded'),
          frameHeight: typeof st?.['frameHeight'] === 'number' ? st['frameHeight'] : undefined,
        });
      }
    }
    if (s && remoteSources.some((r) => r.kind === 'video' && r.framesDecoded > 0)) {
      // The 100 ms sampler may not have run since the first frame: this observation counts too.
      const now = Date.now();
      this.#state.timings.firstRemoteFrameAt ??= now;
      this.#state.timings.sessionFirstFrameAt ??= now;
    }
    this.#state.participants = [...this.#participants.values()].map((p) => ({ ...p }));
    this.#state.remoteSources = remoteSources;
    this.#state.local.outbound = outbound;
    return structuredClone(this.#state);
  }
}
