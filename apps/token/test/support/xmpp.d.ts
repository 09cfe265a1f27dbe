// Minimal local types for the xmpp.js packages these tests use. prosody.md §3.4 item 1: @xmpp/component has no
// types and @types/xmpp__client only half-resolves under NodeNext. packages/xmpp will own the real declarations;
// this file covers only what apps/token's tests touch.

declare module 'hb-xmpp-test-types' {
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    is(name: string, xmlns?: string): boolean;
    toString(): string;
  }
  export type XmlChild = Element | string | undefined | null;
  export function xml(name: string, attrs?: Record<string, string | number | undefined> | null, ...children: XmlChild[]): Element;
  export interface Jid {
    local: string;
    domain: string;
    resource: string;
    bare(): Jid;
    toString(): string;
  }
  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
    get(child: Element, to?: string, timeout?: number): Promise<Element>;
    set(child: Element, to?: string, timeout?: number): Promise<Element>;
  }
  export interface Entity {
    readonly jid: Jid | null;
    readonly status: string;
    readonly reconnect: { stop(): void };
    readonly iqCaller: IqCaller;
    start(): Promise<Jid>;
    stop(): Promise<void>;
    send(...stanzas: Element[]): Promise<void>;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'online', listener: (jid: Jid) => void): this;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: 'offline' | 'status', listener: (...args: unknown[]) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
  }
}

declare module '@xmpp/client' {
  import type { Entity, XmlChild } from 'hb-xmpp-test-types';
  export type { Element, Entity, Jid, IqCaller } from 'hb-xmpp-test-types';
  export { xml } from 'hb-xmpp-test-types';
  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    /** prosody.md §3.4 item 4: force a mechanism (PLAIN with the JWT as password). */
    credentials?: (
      authenticate: (credentials: { username?: string; password?: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
    ) => Promise<void>;
    /** prosody.md §3.4 item 6: raise from the default 2000 ms. */
    timeout?: number;
  }
  export interface Client extends Entity {
    readonly streamManagement: { enabled: boolean };
  }
  export function client(options: ClientOptions): Client;
  export type { XmlChild };
}

