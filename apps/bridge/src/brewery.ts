// The bridge's presence in the brewery MUC (jicofo-jvb.md §2.5): join with `<stats>`, re-publish on change and
// at least every interval, re-join after a reconnect with a new session (the old occupant is gone).
import {
  bareJid, formatJid, buildBridgeStats, buildMucPresence, hasStatus, parseJid, parseMucPresence, type BridgeStats, type ClientConnection,
  type Element, MalformedStanzaError,
} from '@hummingbird/xmpp';

export interface BreweryLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface BreweryOptions {
  readonly connection: ClientConnection;
  /** Bare JID of the brewery room. */
  readonly breweryJid: string;
  readonly nickname: string;
  readonly intervalMs: number;
  readonly stats: () => BridgeStats;
  readonly logger: BreweryLogger;
}

export class BreweryMember {
  readonly #o: BreweryOptions;
  readonly #room: string;
  #joined = false;
  #joinError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending: NodeJS.Immediate | undefined;
  #lastPublishedAt = 0;
  #stopped = false;
  #started = false;
  /** Presences published since start (for tests and metrics). */
  published = 0;

  constructor(options: BreweryOptions) {
    this.#o = options;
    this.#room = formatJid(bareJid(parseJid(options.breweryJid)));
    options.connection.on('stanza', (s) => this.#onStanza(s));
    options.connection.on('online', () => {
      if (this.#started) this.#join();
    });
    // A new session (prosody.md §3.4 item 3): every MUC membership is gone, join again.
    options.connection.on('reconnected', () => {
      this.#joined = false;
      this.#join();
    });
    options.connection.on('offline', () => {
      this.#joined = false;
    });
  }

  get occupantJid(): string {
    return `${this.#room}/${this.#o.nickname}`;
  }

  get joined(): boolean {
    return this.#joined;
  }

  get joinError(): string | undefined {
    return this.#joinError;
  }

  /** Milliseconds since the last presence went out (Infinity before the first). */
  get statsAgeMs(): number {
    return this.#lastPublishedAt === 0 ? Infinity : Date.now() - this.#lastPublishedAt;
  }

  /** Joins now if the connection is online, else as soon as it is; then publishes every interval. */
  start(): void {
    this.#started = true;
    if (this.#o.connection.state === 'online') this.#join();
    // Not in the room (join refused, e.g. the nickname is taken): try to join again every interval.
    this.#timer = setInterval(() => this.#publish(!this.#joined), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Something the focus selects on changed (drain, shutdown, load): publish soon, coalescing bursts. */
  statsChanged(): void {
    if (this.#pending !== undefined || this.#stopped) return;
    this.#pending = setImmediate(() => {
      this.#pending = undefined;
      this.#publish(false);
    });
  }

  #join(): void {
    this.#joinError = undefined;
    this.#publish(true);
  }

  #publish(join: boolean): void {
    if (this.#stopped || this.#o.connection.state !== 'online') return;
    const presence = buildMucPresence({
      to: this.occupantJid,
      ...(join ? { join: {} } : {}),
      extensions: [buildBridgeStats(this.#o.stats())],
    });
    this.#lastPublishedAt = Date.now();
    this.published++;
    this.#o.connection.send(presence).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'brewery presence not sent'));
  }

  #onStanza(stanza: Element): void {
    if (stanza.name !== 'presence') return;
    const from = stanza.attrs.from;
    if (typeof from !== 'string' || from !== this.occupantJid) return;
    let p;
    try {
      p = parseMucPresence(stanza);
    } catch (error) {
      if (error instanceof MalformedStanzaError) return;
      throw error;
    }
    if (p.type === 'error') {
      const cond = stanza.getChild('error')?.getChildElements()[0]?.name ?? 'unknown';
      this.#joined = false;
      this.#joinError = `brewery join refused: ${cond}`;
      this.#o.logger.warn({ room: this.#room, nickname: this.#o.nickname, condition: cond }, 'brewery join refused');
      return;
    }
    if (p.type === 'unavailable') {
      this.#joined = false;
      return;
    }
    if (hasStatus(p, 110) && !this.#joined) {
      this.#joined = true;
      this.#o.logger.info({ room: this.#room, nickname: this.#o.nickname }, 'joined the brewery');
    }
  }

  /** Leaves the room (unavailable presence) and stops publishing. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#pending !== undefined) clearImmediate(this.#pending);
    if (this.#o.connection.state === 'online') {
      await this.#o.connection.send(buildMucPresence({ to: this.occupantJid, type: 'unavailable', extensions: [] })).catch(() => undefined);
    }
    this.#joined = false;
  }
}
