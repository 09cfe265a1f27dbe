// @xmpp/client and @xmpp/component ship no types; these references carry our declarations to every consumer that
// compiles this source (as in xml.ts).
/* eslint-disable @typescript-eslint/triple-slash-reference */
/// <reference path="../types/xmpp-entity.d.ts" />
/// <reference path="../types/xmpp-client.d.ts" />
/// <reference path="../types/xmpp-component.d.ts" />
/* eslint-enable @typescript-eslint/triple-slash-reference */
import type { XmppEntity } from 'hb:xmpp-entity';

import { IqCaller, IqTimeoutError } from '../iq/caller.js';
import { IqRouter } from '../iq/router.js';
import { formatJid, parseJid, type Jid } from '../jid.js';
import { NS } from '../namespaces.js';
import { Element } from '../xml.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { TypedEmitter } from './typed-emitter.js';

/** pino's call shape, so an app passes its logger (or a child of it) unchanged. */
export interface ConnectionLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface ConnectionOptions {
  /** How long `stop()` waits for the server's `</stream>` before it drops the socket. Default 5 000 ms. */
  stopTimeoutMs?: number;
  /** How long one connection attempt (start or reconnect) may take until it is online. Default 20 000 ms. */
  connectTimeoutMs?: number;
  /** Default timeout of IQ requests made with `caller`. Default 15 000 ms. */
  iqTimeoutMs?: number;
  /** Reconnect after a lost connection, with exponential backoff and jitter; `false` turns it off. Default on. */
  reconnect?: false | BackoffOptions;
  /**
   * XEP-0199 pings while online, to notice a connection that died silently (no FIN: a frozen server, a dropped
   * NAT entry). A ping unanswered within `timeoutMs` counts as a lost connection. `false` turns it off.
   * Default on, every 30 000 ms, timeout 10 000 ms.
   */
  keepAlive?: false | KeepAliveOptions;
  logger?: ConnectionLogger;
}

export interface KeepAliveOptions {
  /** Time between pings. Default 30 000 ms. */
  intervalMs?: number;
  /** How long a ping may stay unanswered. Default 10 000 ms. */
  timeoutMs?: number;
}

/** Why the connection went offline. */
export interface OfflineInfo {
  /** `lost`: the server or network dropped it (a reconnect follows if enabled); `stopped`: `stop()` was called. */
  readonly reason: 'lost' | 'stopped';
}

/** The typed events of a {@link XmppConnection}. */
export interface ConnectionEvents {
  /** First time online after `start()`: the session is ready, anything sent now is delivered. */
  online: [jid: Jid];
  /** The connection went down (lost or stopped). Pending IQ requests have been rejected. */
  offline: [info: OfflineInfo];
  /**
   * Online again after a loss, with a NEW session (the JID may differ, prosody.md §3.4 item 3): every MUC membership
   * and directed presence is gone. The owner must re-join its rooms now.
   */
  reconnected: [jid: Jid];
  /** Online again after a loss by XEP-0198 resumption: the old session, rooms and all, lives on. Nothing to redo. */
  resumed: [];
  /** Every stanza received (message, presence, iq), after IQ routing. */
  stanza: [stanza: Element];
  /** A non-fatal problem (a failed reconnect attempt, a stream error, a send that failed). Never thrown. */
  error: [error: Error];
}

export type ConnectionState = 'idle' | 'starting' | 'online' | 'reconnecting' | 'stopping' | 'stopped';

/** A send or request while the connection is not online. */
export class NotOnlineError extends Error {
  override readonly name = 'NotOnlineError';
  readonly code = 'HB_ERR_XMPP_NOT_ONLINE';
  constructor(readonly state: ConnectionState) {
    super(`the XMPP connection is not online (state: ${state})`);
  }
}

/** `start()` could not bring the connection online. */
export class ConnectionStartError extends Error {
  override readonly name = 'ConnectionStartError';
  readonly code = 'HB_ERR_XMPP_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const STANZA_NAMES = new Set(['iq', 'message', 'presence']);
const DEFAULT_KEEPALIVE_INTERVAL_MS = 30_000;
const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const XMPPJS_MIN_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/** How long a forced close waits for the socket's close event before moving on. */
const FORCE_CLOSE_WAIT_MS = 2_000;

interface Attempt {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One XMPP connection (client or component) made safe (prosody.md §3.4):
 * - an `error` listener on the xmpp.js entity from birth (item 2): errors become our `error` event or a log line;
 * - xmpp.js's fixed-delay background reconnect (item 3) is replaced by ours: exponential backoff with jitter, a
 *   `reconnected` event after a fresh session and `resumed` after an XEP-0198 resumption;
 * - `online` only when the session is really ready (for clients: after XEP-0198 is enabled or refused, item 5);
 *   `send()` refuses with {@link NotOnlineError} instead of racing the session setup;
 * - `stop()` always settles within `stopTimeoutMs` (+ a short forced close): it never hangs and never crashes the
 *   process on late data (item 6);
 * - every received get/set IQ goes to `router`, every response to `caller` (RFC 6120 semantics, src/iq).
 */
export abstract class XmppConnection extends TypedEmitter<ConnectionEvents> {
  /** Answers received get/set IQs. Register handlers before `start()`. */
  readonly router: IqRouter;
  /** Sends IQ requests and matches their responses. */
  readonly caller: IqCaller;

  protected readonly entity: XmppEntity;
  protected readonly logger: ConnectionLogger | undefined;
  readonly #options: ConnectionOptions;
  #state: ConnectionState = 'idle';
  #jid: Jid | undefined;
  #everOnline = false;
  #attempt: Attempt | undefined;
  #reconnectAttempts = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #pinging = false;

  protected constructor(entity: XmppEntity, options: ConnectionOptions) {
    super((error, event) => this.logger?.error({ err: error, event }, 'an XMPP connection event listener threw'));
    this.entity = entity;
    this.#options = options;
    this.logger = options.logger;
    this.router = new IqRouter({
      onHandlerError: (error, request) =>
        this.logger?.error({ err: error, iq: request ? { id: request.id, ns: request.payload.getNS(), name: request.payload.name } : undefined }, 'IQ handler failed'),
      onSendError: (error) => this.logger?.warn({ err: error }, 'could not send an IQ reply'),
    });
    // XEP-0199: answer pings (a client's pings are answered by xmpp.js before they reach the router).
    this.router.register(NS.PING, 'ping', 'get', () => undefined);
    this.caller = new IqCaller((stanza) => this.send(stanza), {
      ...(options.iqTimeoutMs === undefined ? {} : { timeoutMs: options.iqTimeoutMs }),
      ownJid: () => this.#jid,
      onSpoofedResponse: (stanza, expected) =>
        this.logger?.warn({ id: stanza.attrs.id, from: stanza.attrs.from, expected }, 'ignored an IQ response from an unexpected sender'),
    });

    // prosody.md §3.4 item 3: xmpp.js reconnects on its own with a fixed 1 s delay and keeps retrying after a failed
    // first start; we own reconnection instead.
    entity.reconnect.stop();
    // xmpp.js uses one `timeout` for the stream header, the component handshake and the close handshake. Our stop()
    // is bounded on its own (and drops the socket), so this only has to be long enough for a loaded server.
    entity.timeout = Math.max(options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, XMPPJS_MIN_TIMEOUT_MS);
    // prosody.md §3.4 item 6: when the close handshake times out, xmpp.js detaches its parser while the socket may
    // still deliver data, and its data listener then throws a TypeError that kills the process. Drop such data.
    const onData = entity._onData.bind(entity);
    entity._onData = (data: Buffer | string): void => {
      if (entity.parser === null) return;
      onData(data);
    };
    // prosody.md §3.4 item 2: without an error listener an ECONNREFUSED crashes the process.
    entity.on('error', (error) => this.#onEntityError(error));
    entity.on('disconnect', () => this.#onDisconnect());
    entity.on('online', () => this.#onEntityOnline());
    // Last in xmpp.js's middleware chain: stream features, XEP-0198 counting and xmpp.js's own IQ checks ran before.
    entity.middleware.use((context, next) => this.#onIncoming(context.stanza, next));
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Our JID while online (the component's domain, or the client's full JID); undefined before the first `online`. */
  get jid(): Jid | undefined {
    return this.#jid;
  }

  /**
   * Connects and resolves when online (after the `online` event). Rejects with {@link ConnectionStartError} if the
   * first attempt fails or times out; then nothing keeps running and `start()` may be called again.
   */
  async start(): Promise<Jid> {
    if (this.#state !== 'idle') throw new TypeError(`start() needs an idle connection, this one is ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.#connectOnce();
    } catch (error) {
      await this.#forceClose();
      if (this.#state === 'starting') this.#state = 'idle';
      throw new ConnectionStartError(`could not connect to ${this.entity.options.service}: ${errorMessage(error)}`, { cause: error });
    }
    return this.#jid as Jid;
  }

  /**
   * Sends a stanza. Rejects with {@link NotOnlineError} unless online: nothing is sent before the session is ready,
   * and nothing is queued across a reconnect (the owner re-sends what still matters on `reconnected`).
   */
  async send(stanza: Element): Promise<void> {
    if (this.#state !== 'online') throw new NotOnlineError(this.#state);
    await this.entity.send(stanza);
  }

  /**
   * Closes the stream and the socket. Idempotent; always settles: after `stopTimeoutMs` without the server's
   * `</stream>` the socket is dropped. Pending IQ requests are rejected; no reconnect follows.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** For tests: drops the socket as a network failure would (no close handshake); a reconnect follows. */
  dropConnectionForTesting(): void {
    destroySocket(this.entity);
  }

  /**
   * Resolves when a freshly bound session may carry stanzas. The client waits for XEP-0198 to settle here; the
   * component is ready at once.
   */
  protected abstract sessionReady(): Promise<void>;

  /** Called by a subclass when the old session was resumed (XEP-0198) instead of a new one being bound. */
  protected markResumed(): void {
    if (this.#attempt === undefined || this.#state !== 'reconnecting') return;
    this.#state = 'online';
    this.#reconnectAttempts = 0;
    this.#attempt.resolve();
    this.#startKeepAlive();
    this.logger?.info({}, 'XMPP session resumed');
    this.emit('resumed');
  }

  async #stop(): Promise<void> {
    const wasOnline = this.#state === 'online';
    this.#state = 'stopping';
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#keepAliveTimer);
    this.#attempt?.reject(new Error('stopped'));
    this.caller.cancelAll('the connection was stopped');
    if (this.entity.socket !== null) {
      const timeoutMs = this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        this.entity.stop().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!closed) {
        this.logger?.warn({ timeoutMs }, 'no clean XMPP stream close in time; dropping the socket');
        await this.#forceClose();
      }
    }
    this.#state = 'stopped';
    if (wasOnline) this.emit('offline', { reason: 'stopped' });
  }

  /** One connection attempt: socket, stream, authentication, session; resolves when online. */
  async #connectOnce(): Promise<void> {
    const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      this.#attempt = { resolve, reject };
      timer = setTimeout(() => reject(new Error(`not online within ${String(timeoutMs)} ms`)), timeoutMs);
    });
    try {
      const { service, domain, lang } = this.entity.options;
      const opened = (async () => {
        await this.entity.connect(service);
        await this.entity.open({ domain, lang });
      })();
      await Promise.all([opened, ready]);
    } finally {
      clearTimeout(timer);
      this.#attempt = undefined;
    }
  }

  #onEntityOnline(): void {
    const attempt = this.#attempt;
    if (attempt === undefined) return;
    this.sessionReady().then(
      () => {
        if (this.#attempt !== attempt) return;
        const raw = this.entity.jid?.toString() ?? '';
        let jid: Jid;
        try {
          jid = parseJid(raw);
        } catch (error) {
          attempt.reject(new Error(`the server assigned an invalid JID ${JSON.stringify(raw)}: ${errorMessage(error)}`));
          return;
        }
        const reconnect = this.#everOnline;
        this.#jid = jid;
        this.#state = 'online';
        this.#everOnline = true;
        this.#reconnectAttempts = 0;
        attempt.resolve();
        this.#startKeepAlive();
        this.logger?.info({ jid: raw, reconnect }, 'XMPP connection online');
        this.emit(reconnect ? 'reconnected' : 'online', jid);
      },
      (error: unknown) => attempt.reject(error instanceof Error ? error : new Error(String(error))),
    );
  }

  #onDisconnect(): void {
    if (this.#attempt !== undefined) {
      this.#attempt.reject(new Error('the connection closed during setup'));
      return;
    }
    if (this.#state !== 'online') return;
    clearInterval(this.#keepAliveTimer);
    this.caller.cancelAll('the connection was lost');
    const reconnect = this.#options.reconnect !== false;
    this.#state = reconnect ? 'reconnecting' : 'stopped';
    this.logger?.warn({ reconnect }, 'XMPP connection lost');
    this.emit('offline', { reason: 'lost' });
    if (reconnect) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state !== 'reconnecting') return;
    const backoff = this.#options.reconnect === false ? {} : (this.#options.reconnect ?? {});
    const delay = backoffDelay(this.#reconnectAttempts++, backoff);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
  }

  async #reconnect(): Promise<void> {
    if (this.#state !== 'reconnecting') return;
    try {
      await this.#connectOnce();
    } catch (error) {
      if (this.#state !== 'reconnecting') return;
      this.logger?.warn({ err: error, attempt: this.#reconnectAttempts }, 'XMPP reconnect attempt failed');
      await this.#forceClose();
      this.#scheduleReconnect();
    }
  }

  #startKeepAlive(): void {
    clearInterval(this.#keepAliveTimer);
    const keepAlive = this.#options.keepAlive;
    if (keepAlive === false) return;
    const intervalMs = keepAlive?.intervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    const timeoutMs = keepAlive?.timeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
    this.#keepAliveTimer = setInterval(() => void this.#ping(timeoutMs), intervalMs);
    // A keep-alive alone must not keep the process running.
    this.#keepAliveTimer.unref();
  }

  /**
   * One XEP-0199 ping to our own domain: the client's server, or, for a component, a round trip through Prosody
   * back to the component itself. Any answer, even an error, proves the connection lives; only silence kills it.
   */
  async #ping(timeoutMs: number): Promise<void> {
    const jid = this.#jid;
    if (this.#pinging || this.#state !== 'online' || jid === undefined) return;
    this.#pinging = true;
    try {
      await this.caller.get(formatJid({ domain: jid.domain }), new Element('ping', { xmlns: NS.PING }), { timeoutMs });
    } catch (error) {
      if (error instanceof IqTimeoutError && this.#state === 'online') {
        this.logger?.warn({ timeoutMs }, 'XMPP keep-alive ping unanswered; treating the connection as lost');
        destroySocket(this.entity);
      }
    } finally {
      this.#pinging = false;
    }
  }

  #onEntityError(error: Error): void {
    // During an attempt an error ends it (as xmpp.js's own start() does); later ones are reported only.
    this.#attempt?.reject(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger?.warn({ err: error }, 'XMPP connection error');
  }

  /**
   * The end of xmpp.js's incoming middleware chain. get/set IQs are answered by the router and never handed back
   * to xmpp.js (whose callee would otherwise answer `service-unavailable` a second time): the returned promise stays
   * pending on purpose and holds nothing but this call's closure.
   */
  #onIncoming(stanza: Element, next: () => Promise<unknown>): unknown {
    if (!STANZA_NAMES.has(stanza.name)) return next();
    const type = stanza.attrs.type;
    if (stanza.name === 'iq' && (type === 'result' || type === 'error')) {
      if (this.caller.handleResponse(stanza)) return undefined;
    }
    this.emit('stanza', stanza);
    if (stanza.name === 'iq' && type !== 'result' && type !== 'error') {
      void this.router.handle(stanza, (reply) => this.entity.send(reply));
      return new Promise<never>(() => undefined);
    }
    return next();
  }

  /** Drops the socket and waits (briefly) until xmpp.js has seen it close, so a new socket cannot be mixed up. */
  async #forceClose(): Promise<void> {
    if (this.entity.socket === null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, FORCE_CLOSE_WAIT_MS);
      const entity = this.entity;
      function done(): void {
        clearTimeout(timer);
        entity.off('disconnect', done);
        resolve();
      }
      entity.once('disconnect', done);
      destroySocket(entity);
    });
  }
}

function destroySocket(entity: XmppEntity): void {
  const socket = entity.socket;
  if (socket === null) return;
  if (typeof socket.destroy === 'function') socket.destroy();
  else if (typeof socket.socket?.terminate === 'function') socket.socket.terminate();
  else if (typeof socket.socket?.close === 'function') socket.socket.close();
  else socket.end?.();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
