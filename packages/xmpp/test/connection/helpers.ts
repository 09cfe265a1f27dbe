import { randomBytes } from 'node:crypto';

import type { ProsodyHandle } from '@hummingbird/stack';

import {
  createClientConnection,
  createComponentConnection,
  type ClientConnection,
  type ClientConnectionOptions,
  type ComponentConnection,
  type ConnectionOptions,
  type Element,
  type XmppConnection,
} from '../../src/index.js';

/** Every connection a test opened, so afterEach/afterAll can stop them even when an assertion failed. */
const opened = new Set<XmppConnection>();

export function track<T extends XmppConnection>(connection: T): T {
  opened.add(connection);
  return connection;
}

export async function stopAll(): Promise<void> {
  const all = [...opened];
  opened.clear();
  await Promise.all(all.map((c) => c.stop()));
}

export function anonymousClient(
  prosody: ProsodyHandle,
  transport: 'tcp' | 'ws' = 'tcp',
  options: ConnectionOptions & Pick<ClientConnectionOptions, 'username' | 'password'> = {},
): ClientConnection {
  const service =
    transport === 'tcp' ? `xmpp://127.0.0.1:${String(prosody.ports.c2s)}` : `ws://127.0.0.1:${String(prosody.ports.http)}/xmpp-websocket`;
  return track(createClientConnection({ service, domain: prosody.domain, ...options }));
}

export function serviceClient(prosody: ProsodyHandle, login: Pick<ClientConnectionOptions, 'username' | 'password' | 'saslMechanism'>, options: ConnectionOptions = {}): ClientConnection {
  return track(
    createClientConnection({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.hosts.auth, ...login, ...options }),
  );
}

export function focusComponent(prosody: ProsodyHandle, options: ConnectionOptions = {}): ComponentConnection {
  return track(
    createComponentConnection({
      service: `xmpp://127.0.0.1:${String(prosody.ports.component)}`,
      domain: prosody.hosts.focus,
      secret: prosody.config.componentSecret,
      ...options,
    }),
  );
}

/** Resolves with the next event `event` of `connection`, or rejects after `timeoutMs`. */
export function nextEvent<E extends 'online' | 'offline' | 'reconnected' | 'resumed'>(
  connection: XmppConnection,
  event: E,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off(event, listener);
      reject(new Error(`no ${event} event within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    const listener = (): void => {
      clearTimeout(timer);
      connection.off(event, listener);
      resolve();
    };
    connection.on(event, listener);
  });
}

/** Resolves with the first stanza `connection` receives that matches `predicate`. */
export function nextStanza(connection: XmppConnection, predicate: (stanza: Element) => boolean, timeoutMs = 15_000): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off('stanza', listener);
      reject(new Error(`no matching stanza within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    const listener = (stanza: Element): void => {
      if (!predicate(stanza)) return;
      clearTimeout(timer);
      connection.off('stanza', listener);
      resolve(stanza);
    };
    connection.on('stanza', listener);
  });
}

export function randomId(): string {
  return randomBytes(4).toString('hex');
}
