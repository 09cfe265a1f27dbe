// XMPP over WebSocket (RFC 7395) as lib-jitsi-meet's Strophe does it (spec/jitsi-client-protocol.md §1.1–§1.3):
// `<open>` framing, SASL ANONYMOUS (the token, when there is one, rides on the URL as `?token=`), resource bind,
// then stanzas. IQs get ids and a bounded wait. No stream management: it is optional (§1.1) and the client
// never sends `<enable>`, so Prosody never asks for acks.

import { NS } from './ns.js';
import type { El} from './xml.js';
import { el, parseXml } from './xml.js';

export class XmppError extends Error {
  override name = 'XmppError';
  constructor(
    message: string,
    /** The error stanza, when the server sent one. */
    readonly stanza?: El,
  ) {
    super(message);
  }
}

/** `condition` of an IQ error (`item-not-found`, …), if any. */
export function errorCondition(stanza: El): string | undefined {
  return stanza.first('error')?.elements().find((e) => e.ns === NS.stanzas && e.local !== 'text')?.local;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type WebSocketFactory = (url: string, protocol: string) => WebSocketLike;

export interface XmppOptions {
  url: string;
  domain: string;
  token?: string;
  /** Every stanza in and out, for the test's record. */
  onTraffic?: (direction: 'in' | 'out', xml: string) => void;
  webSocket?: WebSocketFactory;
  iqTimeoutMs?: number;
}

type StanzaHandler = (stanza: El) => void;

export class XmppConnection {
  jid = '';
  #ws: WebSocketLike | undefined;
  #pending = new Map<string, { resolve: (e: El) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  #nextId = 0;
  #waiters: { match: (e: El) => boolean; resolve: (e: El) => void }[] = [];
  #handlers: StanzaHandler[] = [];
  #closed = false;
  onClose: ((reason: string) => void) | undefined;

  constructor(readonly options: XmppOptions) {}

  /** Registers a handler for every incoming stanza (iq set/get, presence, message) not consumed by a waiter. */
  on(handler: StanzaHandler): void {
    this.#handlers.push(handler);
  }

  async connect(): Promise<string> {
    const { url, token } = this.options;
    const fullUrl = token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
    const factory: WebSocketFactory = this.options.webSocket ?? ((u, p) => new WebSocket(u, p) as unknown as WebSocketLike);
    const ws = factory(fullUrl, 'xmpp');
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new XmppError(`WebSocket to ${url} failed`));
      ws.onclose = (ev) => reject(new XmppError(`WebSocket to ${url} closed (${ev.code})`));
    });
    ws.onclose = (ev) => this.#onClosed(`WebSocket closed (${ev.code} ${ev.reason})`);
    ws.onerror = () => undefined;
    ws.onmessage = (ev) => this.#onFrame(ev.data);

    let features = await this.#open();
    const mechanisms = features.first('mechanisms', NS.sasl)?.all('mechanism').map((m) => m.text()) ?? [];
    if (!mechanisms.includes('ANONYMOUS')) throw new XmppError(`the server offers no SASL ANONYMOUS (offers: ${mechanisms.join(', ') || 'none'})`);
    const saslOutcome = this.#next((e) => e.ns === NS.sasl && (e.local === 'success' || e.local === 'failure'));
    this.send(el('auth', { xmlns: NS.sasl, mechanism: 'ANONYMOUS' }));
    const outcome = await saslOutcome;
    if (outcome.local === 'failure') {
      const text = outcome.first('text')?.text();
      const cond = outcome.elements().find((e) => e.local !== 'text')?.local ?? 'failure';
      throw new XmppError(`SASL failed: ${cond}${text ? ` (${text})` : ''}`, outcome);
    }
    features = await this.#open();
    if (!features.first('bind', NS.bind)) throw new XmppError('the server offers no resource binding');
    const bound = await this.iq(el('iq', { type: 'set' }, el('bind', { xmlns: NS.bind })));
    const jid = bound.first('bind', NS.bind)?.first('jid')?.text();
    if (!jid) throw new XmppError('bind result without a JID', bound);
    this.jid = jid;
    return jid;
  }

  async #open(): Promise<El> {
    // Waiters are registered before sending, so replies arriving back to back are never missed.
    const opened = this.#next((e) => e.local === 'open' && e.ns === NS.framing);
    const features = this.#next((e) => e.local === 'features');
    this.send(el('open', { xmlns: NS.framing, to: this.options.domain, version: '1.0' }));
    await opened;
    return features;
  }

  #next(match: (e: El) => boolean, timeoutMs = this.options.iqTimeoutMs ?? 10_000): Promise<El> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (e: El) => { clearTimeout(timer); resolve(e); } };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new XmppError('timed out waiting for the server'));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    this.options.onTraffic?.('in', data);
    let stanza: El;
    try {
      stanza = parseXml(data);
    } catch (err) {
      this.#onClosed(`unparsable frame from the server: ${(err as Error).message}`);
      return;
    }
    if (stanza.local === 'close' && stanza.ns === NS.framing) {
      this.#onClosed('the server closed the stream');
      return;
    }
    const waiter = this.#waiters.find((w) => w.match(stanza));
    if (waiter) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(stanza);
      return;
    }
    if (stanza.local === 'iq' && (stanza.attrs['type'] === 'result' || stanza.attrs['type'] === 'error')) {
      const id = stanza.attrs['id'] ?? '';
      const p = this.#pending.get(id);
      if (p) {
        this.#pending.delete(id);
        clearTimeout(p.timer);
        if (stanza.attrs['type'] === 'result') p.resolve(stanza);
        else p.reject(new XmppError(`IQ ${id} failed: ${errorCondition(stanza) ?? 'error'}`, stanza));
      }
      return;
    }
    for (const h of this.#handlers) h(stanza);
  }

  #onClosed(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new XmppError(`connection closed: ${reason}`));
    }
    this.#pending.clear();
    this.onClose?.(reason);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(stanza: El): void {
    if (!this.#ws || this.#closed) throw new XmppError('not connected');
    if (stanza.local !== 'open' && stanza.local !== 'close' && stanza.attrs['xmlns'] === undefined && stanza.name !== 'auth') {
      stanza.attrs['xmlns'] = NS.client;
    }
    const xml = stanza.toString();
    this.options.onTraffic?.('out', xml);
    this.#ws.send(xml);
  }

  /** Sends an IQ (an id is assigned when missing) and resolves with the result; rejects on error or timeout. */
  iq(stanza: El, timeoutMs = this.options.iqTimeoutMs ?? 10_000): Promise<El> {
    const id = stanza.attrs['id'] ?? `hb-${++this.#nextId}`;
    stanza.attrs['id'] = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new XmppError(`IQ ${id} (${stanza.elements()[0]?.local ?? '?'}) timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.send(stanza);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err instanceof Error ? err : new XmppError(String(err)));
      }
    });
  }

  /** Acks an incoming IQ. */
  result(request: El, ...children: El[]): void {
    this.send(el('iq', { type: 'result', id: request.attrs['id'], to: request.attrs['from'] }, ...children));
  }

  /** Answers an incoming IQ with an error. */
  error(request: El, type: string, condition: string, extra?: El): void {
    this.send(el('iq', { type: 'error', id: request.attrs['id'], to: request.attrs['from'] },
      el('error', { type }, el(condition, { xmlns: NS.stanzas }), extra)));
  }

  close(): void {
    if (this.#closed || !this.#ws) return;
    try {
      this.send(el('close', { xmlns: NS.framing }));
    } catch {
      // already gone
    }
    this.#onClosed('closed by the client');
    this.#ws.close(1000);
  }
}
