// The part of xmpp.js's Connection (@xmpp/connection 0.13 and 0.14) that @xmpp/client and @xmpp/component share and
// that Hummingbird's connection layer uses. A private module name: nothing imports it at runtime.

declare module 'hb:xmpp-entity' {
  import type { Element } from 'ltx';

  /** xmpp.js's JID object (@xmpp/jid). */
  export interface XmppJid {
    toString(): string;
  }

  export interface XmppMiddlewareContext {
    readonly stanza: Element;
  }

  export type XmppMiddleware = (context: XmppMiddlewareContext, next: () => Promise<unknown>) => unknown;

  /** The underlying transport: a net.Socket for TCP, @xmpp/websocket's wrapper (with `.socket` = the WebSocket). */
  export interface XmppSocket {
    destroy?: () => void;
    end?: () => void;
    socket?: { terminate?: () => void; close?: () => void } | null;
  }

  export type XmppStatus =
    | 'offline'
    | 'connecting'
    | 'connect'
    | 'opening'
    | 'open'
    | 'online'
    | 'closing'
    | 'close'
    | 'disconnecting'
    | 'disconnect';

  export interface XmppEntity {
    jid: XmppJid | null;
    status: XmppStatus;
    readonly options: { service: string; domain: string; lang?: string };
    /** Milliseconds for the stream header and the close handshake. */
    timeout: number;
    socket: XmppSocket | null;
    parser: object | null;
    /** @xmpp/reconnect: on by default (fixed 1 s, no backoff); Hummingbird stops it and reconnects itself. */
    readonly reconnect: { stop(): void };
    readonly middleware: { use(fn: XmppMiddleware): unknown };
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    connect(service: string): Promise<unknown>;
    open(options: { domain: string; lang?: string | undefined }): Promise<unknown>;
    send(element: Element): Promise<void>;
    /** Internal: the socket 'data' listener (bound when the socket is attached). */
    _onData(data: Buffer | string): void;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'online', listener: (jid: XmppJid) => void): this;
    on(event: 'nonza' | 'stanza' | 'send', listener: (element: Element) => void): this;
    on(event: 'disconnect' | 'offline' | 'open' | 'status', listener: (...args: unknown[]) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
    once(event: string, listener: (...args: never[]) => void): this;
  }
}
