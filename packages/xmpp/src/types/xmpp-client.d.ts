// Type declarations for @xmpp/client 0.14.0, which ships none (prosody.md §3.4 item 1: @types/xmpp__client only
// half-resolves under NodeNext). Only the surface Hummingbird's connection layer uses is declared; members marked
// "internal" are xmpp.js implementation details the connection relies on knowingly (see src/connection/entity.ts).

declare module '@xmpp/client' {
  import type { XmppEntity } from 'hb:xmpp-entity';
  import type { Element } from 'ltx';

  export interface ClientOptions {
    /** `xmpp://host:port` (TCP c2s) or `ws://host:port/xmpp-websocket` (RFC 7395). */
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    /**
     * Replaces xmpp.js's mechanism choice (which never picks PLAIN on an unencrypted stream): called with
     * `authenticate(credentials, mechanism)` and the mechanisms the server offers.
     */
    credentials?: (authenticate: (credentials: { username?: string; password?: string }, mechanism: string) => Promise<void>, mechanisms: string[]) => Promise<void>;
    /** Milliseconds xmpp.js waits for the stream header and for the server's `</stream>` on close. Default 2000. */
    timeout?: number;
  }

  /** XEP-0198 state of @xmpp/stream-management 0.14. */
  export interface StreamManagement {
    enabled: boolean;
    id: string;
    on(event: 'resumed', listener: () => void): unknown;
    off(event: 'resumed', listener: () => void): unknown;
  }

  export interface XmppClient extends XmppEntity {
    readonly streamManagement: StreamManagement;
  }

  export function client(options: ClientOptions): XmppClient;
  export function xml(name: string, attrs?: Record<string, string | number | undefined> | null, ...children: (Element | string)[]): Element;
}
