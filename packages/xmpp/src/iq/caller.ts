import { randomBytes } from 'node:crypto';

import { MalformedStanzaError, StanzaError } from '../errors.js';
import { formatJid, jid, jidEquals, parseJid, type Jid } from '../jid.js';
import { Element } from '../xml.js';
import { parseErrorStanza } from './stanza-error.js';

/**
 * The IQ caller: sends get/set IQs and settles each with the matching response (RFC 6120 §8.2.3). Requests are kept
 * by id; a response settles one only if its `from` is the address the request went to (a spoofed response from
 * anyone else is ignored and the request keeps waiting); every request ends, with its result, with the peer's
 * StanzaError, with an {@link IqTimeoutError}, or with an {@link IqCancelledError} when the connection goes away.
 */

/** The request got no response in time. A StanzaError (`remote-server-timeout`, type `wait`) so callers handle one type. */
export class IqTimeoutError extends StanzaError {
  readonly code = 'HB_ERR_IQ_TIMEOUT';
  constructor(
    readonly to: string | undefined,
    readonly timeoutMs: number,
  ) {
    super('remote-server-timeout', 'wait', `no response from ${to ?? 'the server'} within ${String(timeoutMs)} ms`);
  }
}

/**
 * The request was abandoned before a response came: the connection was lost or stopped. A StanzaError
 * (`recipient-unavailable`, type `wait`): the request may be retried once the connection is back.
 */
export class IqCancelledError extends StanzaError {
  readonly code = 'HB_ERR_IQ_CANCELLED';
  constructor(reason: string) {
    super('recipient-unavailable', 'wait', reason);
  }
}

export interface IqCallerOptions {
  /** Default response timeout. Default 15 000 ms. */
  timeoutMs?: number;
  /**
   * Our own JID (full), once known. Responses to requests without `to` (addressed to our own account or server)
   * may come without `from`, from our bare or full JID, or from our server's domain (RFC 6120 §10.3.3, §8.1.2.1).
   */
  ownJid?: () => Jid | undefined;
  /** Called with responses that matched a pending id but came from the wrong sender (for the owner's log). */
  onSpoofedResponse?: (stanza: Element, expectedFrom: string | undefined) => void;
}

export interface IqRequestOptions {
  /** Overrides the caller's default timeout for this request. */
  timeoutMs?: number;
  /** `from` attribute to put on the IQ (a component speaking as one of its JIDs, e.g. `focus@focus.<d>/focus`). */
  from?: string;
}

interface Pending {
  readonly expected: Jid | undefined;
  readonly to: string | undefined;
  readonly resolve: (stanza: Element) => void;
  readonly reject: (error: StanzaError) => void;
  readonly timer: NodeJS.Timeout;
}

export const DEFAULT_IQ_TIMEOUT_MS = 15_000;

export class IqCaller {
  readonly #pending = new Map<string, Pending>();
  readonly #send: (stanza: Element) => Promise<void>;
  readonly #options: IqCallerOptions;
  #counter = 0;
  readonly #prefix = randomBytes(4).toString('hex');

  constructor(send: (stanza: Element) => Promise<void>, options: IqCallerOptions = {}) {
    this.#send = send;
    this.#options = options;
  }

  /** Number of requests waiting for a response. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends `<iq type=… to=…>payload</iq>` and resolves with the whole result stanza. Rejects with the peer's
   * StanzaError for a `type="error"` response, {@link IqTimeoutError}, {@link IqCancelledError}, or the send error.
   * `recipient` (a string or a {@link Jid}; sent in canonical form) undefined addresses our own account/server.
   * Rejects with TypeError, before sending anything, for an invalid recipient.
   */
  request(type: 'get' | 'set', recipient: string | Jid | undefined, payload: Element, options: IqRequestOptions = {}): Promise<Element> {
    let expected: Jid | undefined;
    let to: string | undefined;
    try {
      expected = recipient === undefined ? undefined : typeof recipient === 'string' ? parseJid(recipient) : jid(recipient);
      to = expected === undefined ? undefined : formatJid(expected);
    } catch (error) {
      return Promise.reject(new TypeError(`invalid IQ recipient ${JSON.stringify(recipient)}: ${String(error)}`));
    }
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? DEFAULT_IQ_TIMEOUT_MS;
    const id = `${this.#prefix}-${String(++this.#counter)}`;
    const attrs: Record<string, string> = { type, id };
    if (to !== undefined) attrs.to = to;
    if (options.from !== undefined) attrs.from = options.from;
    const iq = new Element('iq', attrs);
    iq.cnode(payload);

    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new IqTimeoutError(to, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { expected, to, resolve, reject, timer });
      this.#send(iq).catch((error: unknown) => {
        if (!this.#pending.has(id)) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(error instanceof StanzaError ? error : new IqCancelledError(`the request could not be sent: ${String(error)}`));
      });
    });
  }

  /** {@link request} with type get; resolves with the result's payload element (undefined for an empty result). */
  async get(to: string | Jid | undefined, payload: Element, options?: IqRequestOptions): Promise<Element | undefined> {
    return (await this.request('get', to, payload, options)).getChildElements()[0];
  }

  /** {@link request} with type set; resolves with the result's payload element (undefined for an empty result). */
  async set(to: string | Jid | undefined, payload: Element, options?: IqRequestOptions): Promise<Element | undefined> {
    return (await this.request('set', to, payload, options)).getChildElements()[0];
  }

  /**
   * Offers a received stanza. Returns true when it was the response to a pending request (which is then settled),
   * false otherwise (not a response, unknown id, or wrong sender).
   */
  handleResponse(stanza: Element): boolean {
    if (stanza.name !== 'iq') return false;
    const { type, id } = stanza.attrs;
    if ((type !== 'result' && type !== 'error') || id === undefined) return false;
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    if (!this.#fromExpectedSender(stanza.attrs.from, pending.expected)) {
      this.#options.onSpoofedResponse?.(stanza, pending.to);
      return false;
    }
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (type === 'result') {
      pending.resolve(stanza);
    } else {
      pending.reject(errorOf(stanza));
    }
    return true;
  }

  /** Rejects every pending request with an {@link IqCancelledError} (connection lost or stopped). */
  cancelAll(reason: string): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) {
      clearTimeout(pending.timer);
      pending.reject(new IqCancelledError(reason));
    }
  }

  #fromExpectedSender(fromAttr: string | undefined, expected: Jid | undefined): boolean {
    let from: Jid | undefined;
    try {
      from = fromAttr === undefined ? undefined : parseJid(fromAttr);
    } catch {
      return false;
    }
    if (expected !== undefined) {
      if (from !== undefined && jidEquals(from, expected)) return true;
      // RFC 6120 §8.1.2.1: a server replying for an account may leave `from` out when the request went to our own
      // bare JID (then the reply is from the server on its behalf).
      const own = this.#options.ownJid?.();
      return from === undefined && own !== undefined && own.local === expected.local && own.domain === expected.domain && expected.resource === undefined;
    }
    // Request without `to`: handled by our server on behalf of our account.
    if (from === undefined) return true;
    const own = this.#options.ownJid?.();
    if (own === undefined) return false;
    if (from.local === undefined) return from.resource === undefined && from.domain === own.domain;
    return from.local === own.local && from.domain === own.domain && (from.resource === undefined || from.resource === own.resource);
  }
}

/** The StanzaError of an error response; a malformed `<error/>` still rejects, as `undefined-condition`. */
function errorOf(stanza: Element): StanzaError {
  try {
    return parseErrorStanza(stanza);
  } catch (error) {
    const reason = error instanceof MalformedStanzaError ? error.message : String(error);
    return new StanzaError('undefined-condition', 'cancel', `the error response was malformed (${reason})`);
  }
}
