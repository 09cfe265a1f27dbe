import { createHash } from 'node:crypto';
import {
  Element,
  NS,
  StanzaError,
  buildConferenceModified,
  buildBridgeStats,
  buildJingle,
  colibri2StanzaError,
  createClientConnection,
  parseConferenceModify,
  parseJingle,
  parseMucPresence,
  type ClientConnection,
  type Colibri2Media,
  type ConferenceModify,
  type ConferenceModified,
  type Jingle,
  type MucPresence,
} from '@hummingbird/xmpp';

/**
 * XMPP-only test actors (no browser): a fake COLIBRI2 bridge in the brewery and fake participants that speak the
 * focus protocol, MUC and Jingle exactly as the lib-jitsi-meet traces show (fixtures/lib-jitsi-meet).
 */

export const DOMAIN = 'meet.test';
export const MUC = `conference.${DOMAIN}`;
export const BREWERY = `jvbbrewery@internal.auth.${DOMAIN}`;
export const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase().padStart(2, '0')).join(':');

const connections = new Set<ClientConnection>();

const bridges = new Set<FakeBridge>();

export async function stopAll(): Promise<void> {
  for (const b of bridges) b.stopReporting();
  bridges.clear();
  const all = [...connections];
  connections.clear();
  await Promise.all(all.map((c) => c.stop().catch(() => undefined)));
}

/** Waits for the first stanza (after now) matching `predicate`; also checks `seen` (already received) first. */
function waitFor<T>(subscribe: (listener: (value: T) => void) => () => void, predicate: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

export interface BridgeOptions {
  readonly c2sPort: number;
  readonly nick: string;
  readonly password: string;
  readonly region?: string;
  readonly stress?: number;
}

/** A fake bridge: an XMPP client in the brewery that answers conference-modify as spec jicofo-jvb §3.4–3.5 says. */
export class FakeBridge {
  readonly requests: ConferenceModify[] = [];
  /** Stop answering (a hung bridge: SIGSTOP-like from the focus's point of view). */
  hang = false;
  /** Endpoint ids whose creation is refused with bad-request (a request the bridge cannot accept, §3.5). */
  readonly refuse = new Set<string>();
  /** A Hummingbird-style `<media>` (router payload types / extension ids) in every endpoint-create result; none (JVB) when undefined. */
  routerMedia: readonly Colibri2Media[] | undefined;
  readonly #conferences = new Map<string, Set<string>>();
  readonly #listeners = new Set<(m: ConferenceModify) => void>();
  #counter = 0;
  readonly conn: ClientConnection;
  readonly occupantJid: string;

  constructor(readonly options: BridgeOptions) {
    this.conn = createClientConnection({ service: `xmpp://127.0.0.1:${String(options.c2sPort)}`, domain: `auth.${DOMAIN}`, username: 'jvb', password: options.password, resource: options.nick, reconnect: false, keepAlive: false });
    connections.add(this.conn);
    bridges.add(this);
    this.occupantJid = `${BREWERY}/${options.nick}`;
    const handler = (req: { payload: Element }): Element | Promise<never> => this.#answer(parseConferenceModify(req.payload));
    this.conn.router.register(NS.COLIBRI2, 'conference-modify', 'set', handler);
    this.conn.router.register(NS.COLIBRI2, 'conference-modify', 'get', handler);
  }

  async start(): Promise<void> {
    await this.conn.start();
    await this.publish({});
  }

  /** (Re)sends the brewery presence with stats. */
  async publish(over: { stress?: number; drain?: boolean; shuttingDown?: boolean }): Promise<void> {
    const p = new Element('presence', { to: this.occupantJid });
    p.cnode(new Element('x', { xmlns: NS.MUC }));
    p.cnode(
      buildBridgeStats({
        stressLevel: over.stress ?? this.options.stress ?? 0,
        drain: over.drain ?? false,
        shuttingDown: over.shuttingDown ?? false,
        healthy: true,
        ...(this.options.region === undefined ? {} : { region: this.options.region }),
        other: [],
      }),
    );
    await this.conn.send(p);
  }

  async leave(): Promise<void> {
    this.stopReporting();
    await this.conn.send(new Element('presence', { to: this.occupantJid, type: 'unavailable' }));
  }

  #reporting: NodeJS.Timeout | undefined;

  /** Publishes stats every `intervalMs`, as a bridge does (JVB: 5 s). */
  startReporting(intervalMs: number): void {
    this.stopReporting();
    this.#reporting = setInterval(() => void this.publish({}).catch(() => undefined), intervalMs);
  }

  /** A hung bridge (SIGSTOP) as the focus sees it: no more stats, no more answers; the connection stays up. */
  freeze(): void {
    this.stopReporting();
    this.hang = true;
  }

  stopReporting(): void {
    clearInterval(this.#reporting);
    this.#reporting = undefined;
  }

  /** A restarted bridge: every conference is gone (later requests get conference_not_found). */
  forgetConferences(): void {
    this.#conferences.clear();
  }

  nextRequest(predicate: (m: ConferenceModify) => boolean, timeoutMs = 15_000): Promise<ConferenceModify> {
    return waitFor((l) => (this.#listeners.add(l), () => this.#listeners.delete(l)), predicate, timeoutMs, `a conference-modify at ${this.options.nick}`);
  }

  #answer(m: ConferenceModify): Element | Promise<never> {
    this.requests.push(m);
    for (const l of [...this.#listeners]) l(m);
    if (this.hang) return new Promise<never>(() => undefined);
    if (m.endpoints.some((ep) => ep.create === true && this.refuse.has(ep.id))) throw new StanzaError('bad-request', 'modify', 'refused by the test');
    let conf = this.#conferences.get(m.meetingId);
    if (m.create === true) {
      if (conf !== undefined) throw colibri2StanzaError('conference_already_exists');
      conf = new Set();
      this.#conferences.set(m.meetingId, conf);
    } else if (conf === undefined) {
      throw colibri2StanzaError('conference_not_found');
    }
    if (m.expire === true) {
      this.#conferences.delete(m.meetingId);
      return buildConferenceModified({ endpoints: [], relays: [] });
    }
    let created = false;
    const endpoints: ConferenceModified['endpoints'][number][] = m.endpoints.map((ep) => {
      if (ep.expire === true) {
        conf.delete(ep.id);
        return { id: ep.id, expire: true };
      }
      if (ep.create === true) {
        conf.add(ep.id);
        created = true;
        const n = ++this.#counter;
        return {
          id: ep.id,
          ...(this.routerMedia === undefined ? {} : { media: this.routerMedia }),
          transport: {
            iceUdp: {
              ufrag: `${this.options.nick}u${String(n)}`,
              pwd: `pwd${this.options.nick}${String(n)}xxxxxxxxxxxxxxxx`,
              fingerprints: [{ hash: 'sha-256', setup: 'actpass', value: FINGERPRINT }],
              candidates: [{ component: 1, foundation: '1', generation: 0, id: `c${String(n)}`, ip: '127.0.0.1', network: 0, port: 10000, priority: 2130706431, protocol: 'udp', type: 'host' }],
              webSockets: [`wss://127.0.0.1/colibri-ws/${this.options.nick}/${m.meetingId}/${ep.id}?pwd=x`],
              rtcpMux: true,
            },
          },
        };
      }
      if (!conf.has(ep.id)) throw colibri2StanzaError('unknown_endpoint');
      return { id: ep.id };
    });
    return buildConferenceModified({
      endpoints,
      relays: [],
      ...(created
        ? {
            sources: [
              { type: 'audio', id: 'jvb-a0', sources: [{ ssrc: 1111, name: 'jvb-a0', parameters: [] }], ssrcGroups: [] },
              { type: 'video', id: 'jvb-v0', sources: [{ ssrc: 2222, name: 'jvb-v0', parameters: [] }], ssrcGroups: [] },
            ],
          }
        : {}),
    });
  }
}

export interface ParticipantOptions {
  readonly c2sPort: number;
  readonly host: string;
  /** SASL PLAIN on the token host: username = the token's user id, password = the JWT. */
  readonly username?: string;
  readonly password?: string;
  /** Advertise json-encoded-sources (current ljm always does). Default true. */
  readonly jsonSources?: boolean;
  /** Advertise ssrc-rewriting-1 (ljm with flags.ssrcRewritingEnabled). Default false. */
  readonly ssrcRewriting?: boolean;
}

export interface ReceivedJingle {
  readonly jingle: Jingle;
  readonly from: string;
}

/** A fake lib-jitsi-meet participant over a real XMPP connection. */
export class FakeParticipant {
  readonly conn: ClientConnection;
  readonly jingles: ReceivedJingle[] = [];
  readonly presences: MucPresence[] = [];
  readonly #jingleListeners = new Set<(j: ReceivedJingle) => void>();
  readonly #presenceListeners = new Set<(p: Element) => void>();
  room: string | undefined;
  nick: string | undefined;
  readonly features: string[];
  /** XEP-0115 ver of `features` (sha-1), as ljm computes it. */
  readonly capsVer: string;
  discoQueries = 0;

  constructor(readonly options: ParticipantOptions) {
    this.conn = createClientConnection({
      service: `xmpp://127.0.0.1:${String(options.c2sPort)}`,
      domain: options.host,
      ...(options.username === undefined ? {} : { username: options.username, password: options.password ?? '', saslMechanism: 'PLAIN' }),
      reconnect: false,
      keepAlive: false,
    });
    connections.add(this.conn);
    // §4.1: ljm acks every Jingle IQ at once.
    this.conn.router.register(NS.JINGLE, 'jingle', 'set', (req) => {
      const received = { jingle: parseJingle(req.payload), from: req.stanza.attrs.from ?? '' };
      this.jingles.push(received);
      for (const l of [...this.#jingleListeners]) l(received);
    });
    // §4.8: the focus disco#infos the occupant (ljm answers features only, no identity: see the xmpp-only trace).
    this.features = [NS.JINGLE_RTP_AUDIO, NS.JINGLE_RTP_VIDEO, 'urn:ietf:rfc:4588', 'http://jitsi.org/source-name', 'http://jitsi.org/tcc'];
    if (options.jsonSources !== false) this.features.push('http://jitsi.org/json-encoded-sources');
    if (options.ssrcRewriting === true) this.features.push('http://jitsi.org/ssrc-rewriting-1');
    this.capsVer = createHash('sha1').update([...this.features].sort().map((f) => `${f}<`).join('')).digest('base64');
    this.conn.router.register(NS.DISCO_INFO, 'query', 'get', (req) => {
      this.discoQueries += 1;
      const q = new Element('query', { xmlns: NS.DISCO_INFO, ...(req.payload.attrs.node === undefined ? {} : { node: req.payload.attrs.node }) });
      for (const f of this.features) q.cnode(new Element('feature', { var: f }));
      return q;
    });
    this.conn.on('stanza', (s) => {
      if (s.name !== 'presence') return;
      for (const l of [...this.#presenceListeners]) l(s);
      try {
        this.presences.push(parseMucPresence(s));
      } catch {
        // error presences without MUC parts are looked at through the listeners
      }
    });
  }

  async start(): Promise<this> {
    await this.conn.start();
    return this;
  }

  /** The conference IQ (§2.1); resolves with the result payload or rejects with the StanzaError. */
  async conferenceRequest(room: string, extra: Record<string, string> = {}): Promise<Element> {
    const c = new Element('conference', { xmlns: NS.FOCUS, room, 'machine-uid': '0123456789abcdef0123456789abcdef', ...extra });
    c.cnode(new Element('property', { name: 'rtcstatsEnabled', value: 'false' }));
    const result = await this.conn.caller.set(`focus.${DOMAIN}`, c, { timeoutMs: 20_000 });
    if (result === undefined) throw new Error('empty conference result');
    return result;
  }

  /** Joins `room` as `nick` (§3.2); resolves with the self presence or the error presence. */
  async join(room: string, nick: string, options: { password?: string; extra?: Element[]; capsVer?: string } = {}): Promise<Element> {
    this.room = room;
    this.nick = nick;
    const to = `${room}/${nick}`;
    const answer = this.nextPresence((s) => s.attrs.from === to && (s.attrs.type === 'error' || s.getChild('x', NS.MUC_USER)?.getChildren('status').some((c) => c.attrs.code === '110') === true));
    const p = new Element('presence', { to });
    const x = new Element('x', { xmlns: NS.MUC });
    if (options.password !== undefined) x.cnode(new Element('password').t(options.password));
    p.cnode(x);
    p.cnode(new Element('c', { xmlns: NS.CAPS, hash: 'sha-1', node: 'https://jitsi.org/jitsi-meet', ver: options.capsVer ?? this.capsVer }));
    p.cnode(new Element('nick', { xmlns: NS.NICK }).t(`Tester ${nick}`));
    for (const e of options.extra ?? []) p.cnode(e);
    await this.conn.send(p);
    return answer;
  }

  async leave(): Promise<void> {
    if (this.room === undefined || this.nick === undefined) return;
    await this.conn.send(new Element('presence', { to: `${this.room}/${this.nick}`, type: 'unavailable' }));
  }

  nextPresence(predicate: (p: Element) => boolean, timeoutMs = 15_000): Promise<Element> {
    return waitFor((l) => (this.#presenceListeners.add(l), () => this.#presenceListeners.delete(l)), predicate, timeoutMs, `a presence at ${this.nick ?? '?'}`);
  }

  /** The next Jingle IQ with `action` (already received ones after `after` count too). */
  nextJingle(action: string, options: { after?: number; timeoutMs?: number } = {}): Promise<ReceivedJingle> {
    const earlier = this.jingles.slice(options.after ?? this.jingles.length).find((j) => j.jingle.action === action);
    if (earlier !== undefined) return Promise.resolve(earlier);
    return waitFor((l) => (this.#jingleListeners.add(l), () => this.#jingleListeners.delete(l)), (j) => j.jingle.action === action, options.timeoutMs ?? 15_000, `${action} at ${this.nick ?? '?'}`);
  }

  /** The current session's sid (from the last session-initiate). */
  get sid(): string {
    const last = this.jingles.filter((j) => j.jingle.action === 'session-initiate').at(-1);
    if (last === undefined) throw new Error('no session-initiate yet');
    return last.jingle.sid;
  }

  get lastInitiate(): Jingle {
    const last = this.jingles.filter((j) => j.jingle.action === 'session-initiate').at(-1);
    if (last === undefined) throw new Error('no session-initiate yet');
    return last.jingle;
  }

  /** Sends a Jingle IQ to the focus occupant; resolves with the result or rejects with the StanzaError. */
  async sendJingle(jingle: Jingle | Element): Promise<Element> {
    const payload = jingle instanceof Element ? jingle : buildJingle(jingle);
    return this.conn.caller.request('set', `${this.room ?? ''}/focus`, payload, { timeoutMs: 15_000 });
  }

  /** session-accept with audio + simulcast video (3 SIM layers, each with an RTX through FID), as §4.3 shows. */
  accept(base: number, options: { sid?: string } = {}): Jingle {
    const ep = this.nick ?? 'x';
    const msid = (kind: string): { name: string; value: string }[] => [{ name: 'msid', value: `${ep}-${kind}-0-1 track-${kind}-${ep}-1` }];
    const v = [base + 10, base + 11, base + 12, base + 20, base + 21, base + 22];
    return {
      action: 'session-accept',
      sid: options.sid ?? this.sid,
      responder: this.conn.jid === undefined ? undefined : `${this.conn.jid.local ?? ''}@${this.conn.jid.domain}/${this.conn.jid.resource ?? ''}`,
      groups: [{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }],
      contents: [
        {
          name: 'audio',
          creator: 'responder',
          senders: 'both',
          description: {
            media: 'audio', payloadTypes: [{ id: 100, name: 'opus', clockrate: 48000, channels: 2, parameters: [], rtcpFbs: [] }], headerExtensions: [],
            extmapAllowMixed: true, rtcpMux: true, sources: [{ ssrc: base, name: `${ep}-a0`, parameters: msid('audio') }], ssrcGroups: [],
          },
          transport: { ufrag: 'cu', pwd: 'cpwdcpwdcpwdcpwdcpwdcpwd', fingerprints: [{ hash: 'sha-256', setup: 'active', value: FINGERPRINT }], candidates: [], webSockets: [], rtcpMux: true },
        },
        {
          name: 'video',
          creator: 'responder',
          senders: 'both',
          description: {
            media: 'video', payloadTypes: [{ id: 101, name: 'VP8', clockrate: 90000, parameters: [], rtcpFbs: [] }], headerExtensions: [],
            extmapAllowMixed: true, rtcpMux: true,
            sources: v.map((ssrc) => ({ ssrc, name: `${ep}-v0`, videoType: 'camera', parameters: msid('video') })),
            ssrcGroups: [
              { semantics: 'FID', ssrcs: [v[0] as number, v[3] as number] },
              { semantics: 'SIM', ssrcs: [v[0] as number, v[1] as number, v[2] as number] },
              { semantics: 'FID', ssrcs: [v[1] as number, v[4] as number] },
              { semantics: 'FID', ssrcs: [v[2] as number, v[5] as number] },
            ],
          },
          transport: { ufrag: 'cu', pwd: 'cpwdcpwdcpwdcpwdcpwdcpwd', fingerprints: [{ hash: 'sha-256', setup: 'active', value: FINGERPRINT }], candidates: [], webSockets: [], rtcpMux: true },
        },
      ],
    };
  }
}
