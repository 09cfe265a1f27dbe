import { client as xmppClient, type XmppClient } from '@xmpp/client';
import { WebSocket as WsWebSocket } from 'ws';

import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { XmppConnection, type ConnectionOptions } from './connection.js';

const NS_STREAMS = 'http://etherx.jabber.org/streams';

export interface ClientConnectionOptions extends ConnectionOptions {
  /** `xmpp://127.0.0.1:5222` (TCP c2s) or `ws://127.0.0.1:5280/xmpp-websocket` (RFC 7395). */
  service: string;
  /** The XMPP domain to log in to, e.g. `auth.meet.example.com`. */
  domain: string;
  /** Omit both for SASL ANONYMOUS. */
  username?: string;
  password?: string;
  resource?: string;
  /**
   * Forces one SASL mechanism (e.g. `PLAIN`) instead of xmpp.js's choice, which never uses PLAIN on an unencrypted
   * stream (loopback tests; Hummingbird's token host offers PLAIN only, docs/jwt.md). Login fails if the server does
   * not offer it.
   */
  saslMechanism?: string;
}

/**
 * A c2s connection over @xmpp/client 0.14 (TCP or WebSocket), with the fixes of {@link XmppConnection}.
 *
 * prosody.md §3.4 item 5: xmpp.js emits its `online` right after resource binding, before XEP-0198's `<enable/>` is
 * answered; a stanza exchanged in that window desynchronises the `h` counters and Prosody's mod_smacks kills the
 * session. So when the server offers stream management, `online` is held back until `<enabled/>` or `<failed/>`
 * has arrived and xmpp.js has processed it (it resets its counter a few microtasks later; one macrotask covers it).
 */
export class ClientConnection extends XmppConnection {
  readonly #client: XmppClient;
  #smOffered = false;
  /** `<enable/>` went out on this stream; only an answer after it settles SM (a `<failed/>` to `<resume/>` does not). */
  #smEnableSent = false;
  #smSettled = false;
  #onSmSettled: (() => void) | undefined;

  constructor(options: ClientConnectionOptions) {
    // prosody.md §3.3: @xmpp/websocket uses the global WebSocket, which Node 20 does not have.
    if (/^wss?:/i.test(options.service)) (globalThis as { WebSocket?: unknown }).WebSocket ??= WsWebSocket;
    const entity = xmppClient({
      service: options.service,
      domain: options.domain,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.resource === undefined ? {} : { resource: options.resource }),
      ...(options.saslMechanism === undefined
        ? {}
        : {
            credentials: async (authenticate, mechanisms): Promise<void> => {
              const mechanism = options.saslMechanism as string;
              if (!mechanisms.includes(mechanism)) throw new Error(`the server does not offer SASL ${mechanism} (offered: ${mechanisms.join(', ')})`);
              await authenticate({ username: options.username, password: options.password }, mechanism);
            },
          }),
    });
    super(entity, options);
    this.#client = entity;
    entity.on('nonza', (element) => this.#onNonza(element));
    entity.on('send', (element) => {
      if (element.is('enable', NS.STREAM_MANAGEMENT)) this.#smEnableSent = true;
    });
    entity.streamManagement.on('resumed', () => {
      setImmediate(() => this.markResumed());
    });
  }

  /** Whether XEP-0198 is active on the current session. */
  get streamManagementEnabled(): boolean {
    return this.#client.streamManagement.enabled;
  }

  protected sessionReady(): Promise<void> {
    if (!this.#smOffered) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        this.#onSmSettled = undefined;
        // xmpp.js sets `enabled` and resets its inbound counter in a continuation after the <enabled/> nonza.
        setImmediate(resolve);
      };
      if (this.#smSettled || this.#client.streamManagement.enabled) settle();
      else this.#onSmSettled = settle;
    });
  }

  #onNonza(element: Element): void {
    if (element.is('features', NS_STREAMS)) {
      // Each stream restart brings new features; the last ones (after authentication) decide.
      this.#smOffered = element.getChild('sm', NS.STREAM_MANAGEMENT) !== undefined;
      this.#smEnableSent = false;
      this.#smSettled = false;
      this.#onSmSettled = undefined;
      return;
    }
    // After a reconnect xmpp.js first tries <resume/>; its <failed/> is followed by binding and <enable/>, whose
    // answer is the one that counts (found by the restart test with smacks on: online came before <enabled/>).
    if (this.#smEnableSent && element.getNS() === NS.STREAM_MANAGEMENT && (element.name === 'enabled' || element.name === 'failed')) {
      this.#smSettled = true;
      this.#onSmSettled?.();
    }
  }
}

/** Creates a client connection; call `start()` to connect. */
export function createClientConnection(options: ClientConnectionOptions): ClientConnection {
  return new ClientConnection(options);
}
