import { MalformedStanzaError, StanzaError } from '../errors.js';
import { JidError, parseJid, type Jid } from '../jid.js';
import { Element } from '../xml.js';
import { isElement } from './is-element.js';
import { buildStanzaError, stanzaError } from './stanza-error.js';

/**
 * The IQ router: handlers registered by (namespace, element name, IQ type), answered with RFC 6120 semantics
 * (§8.2.3 IQ rules, §8.3 errors). Transport-agnostic: {@link IqRouter.handle} takes a received stanza and a `send`
 * function, so the same code answers on a client, a component, or a unit test.
 *
 * Answers:
 * - `type` result/error → never answered (RFC 6120 §8.2.3 rule 5 would loop otherwise); returns `ignored`;
 * - missing or over-long `id`, missing or unknown `type`, get/set without exactly one child element, a payload with
 *   no namespace of its own → `bad-request` (§8.2.3 rules 1, 2, 4, 5);
 * - unparsable `from`/`to` → `jid-malformed` (§8.3.3.8);
 * - no handler → `service-unavailable` (§8.4);
 * - handler throws {@link MalformedStanzaError} → `bad-request`, its reason as text (it describes the peer's input);
 * - handler throws {@link StanzaError} → exactly that error (app-specific child included);
 * - handler throws anything else → `internal-server-error` with no text: the message may hold internals
 *   (STYLE.md: secure by default); the error goes to `onHandlerError` for the owner's log.
 */

export type IqRequestType = 'get' | 'set';

/** What a handler receives: the validated parts of a get/set IQ. */
export interface IqRequest {
  readonly id: string;
  readonly type: IqRequestType;
  /** The sender; undefined when the stanza had no `from` (it came from the server or our own account). */
  readonly from: Jid | undefined;
  readonly to: Jid | undefined;
  /** The one payload child, e.g. `<conference xmlns="http://jitsi.org/protocol/focus">`. */
  readonly payload: Element;
  /** The whole IQ as received. */
  readonly stanza: Element;
}

/**
 * An IQ handler. Return the result payload element, or nothing for an empty `<iq type="result"/>`. Throw a
 * StanzaError to answer with it, a MalformedStanzaError for bad input.
 */
export type IqHandler = (request: IqRequest) => Element | undefined | void | Promise<Element | undefined | void>;

/** How {@link IqRouter.handle} disposed of a stanza (for tests and metrics). */
export type IqDisposition =
  | { readonly kind: 'ignored'; readonly reason: 'not-an-iq' | 'response' }
  | { readonly kind: 'result'; readonly reply: Element }
  | { readonly kind: 'error'; readonly reply: Element; readonly error: StanzaError };

export interface IqRouterOptions {
  /** Called with whatever a handler threw that is not a StanzaError or MalformedStanzaError (a bug to log). */
  onHandlerError?: (error: unknown, request: IqRequest | undefined) => void;
  /** Called when sending a reply failed (the connection went away meanwhile). */
  onSendError?: (error: unknown) => void;
}

/** RFC 6120 does not bound `id`; longer ones are refused with bad-request before any handler sees them. */
export const MAX_IQ_ID_LENGTH = 1024;

export class IqRouter {
  readonly #handlers = new Map<string, IqHandler>();
  readonly #options: IqRouterOptions;

  constructor(options: IqRouterOptions = {}) {
    this.#options = options;
  }

  /**
   * Registers `handler` for get or set IQs whose payload is `<name xmlns="namespace">`. Throws TypeError if that
   * triple already has a handler (two owners of one request would be a bug). Returns a function that unregisters it.
   */
  register(namespace: string, name: string, type: IqRequestType, handler: IqHandler): () => void {
    if (namespace === '' || name === '') throw new TypeError('namespace and name must be non-empty');
    if (type !== 'get' && type !== 'set') throw new TypeError(`type must be get or set, got ${String(type)}`);
    const key = routeKey(namespace, name, type);
    if (this.#handlers.has(key)) throw new TypeError(`an IQ handler for ${type} {${namespace}}${name} is already registered`);
    this.#handlers.set(key, handler);
    return () => {
      if (this.#handlers.get(key) === handler) this.#handlers.delete(key);
    };
  }

  has(namespace: string, name: string, type: IqRequestType): boolean {
    return this.#handlers.has(routeKey(namespace, name, type));
  }

  /**
   * Answers one received stanza through `send`. Never throws and never rejects: every failure path ends in an error
   * reply (or, for send failures, in `onSendError`).
   */
  async handle(stanza: Element, send: (reply: Element) => Promise<void>): Promise<IqDisposition> {
    let disposition: IqDisposition;
    try {
      disposition = await this.#dispose(stanza);
    } catch (error) {
      // Only a bug of ours (or something that is not an element at all) gets here; the peer still gets an answer.
      try {
        this.#options.onHandlerError?.(error, undefined);
        const failure = stanzaError('internal-server-error');
        disposition = { kind: 'error', reply: errorReply(stanza, failure), error: failure };
      } catch {
        return { kind: 'ignored', reason: 'not-an-iq' };
      }
    }
    if (disposition.kind !== 'ignored') {
      try {
        await send(disposition.reply);
      } catch (error) {
        this.#options.onSendError?.(error);
      }
    }
    return disposition;
  }

  /** Decides the answer without sending it. */
  async #dispose(stanza: Element): Promise<IqDisposition> {
    if (stanza.name !== 'iq') return { kind: 'ignored', reason: 'not-an-iq' };
    const { type, id } = stanza.attrs;
    if (type === 'result' || type === 'error') return { kind: 'ignored', reason: 'response' };

    const fail = (error: StanzaError): IqDisposition => ({ kind: 'error', reply: errorReply(stanza, error), error });
    if (id === undefined || id === '') return fail(stanzaError('bad-request', 'the IQ has no id'));
    if (id.length > MAX_IQ_ID_LENGTH) return fail(stanzaError('bad-request', `the IQ id is longer than ${String(MAX_IQ_ID_LENGTH)} characters`));
    if (type !== 'get' && type !== 'set') return fail(stanzaError('bad-request', 'the IQ type must be get, set, result or error'));
    let from: Jid | undefined;
    let to: Jid | undefined;
    try {
      from = stanza.attrs.from === undefined ? undefined : parseJid(stanza.attrs.from);
      to = stanza.attrs.to === undefined ? undefined : parseJid(stanza.attrs.to);
    } catch (error) {
      return fail(stanzaError('jid-malformed', error instanceof JidError ? error.message : undefined));
    }
    const children = stanza.getChildElements();
    if (children.length !== 1) {
      return fail(stanzaError('bad-request', `a ${type} IQ must have exactly one payload child, found ${String(children.length)}`));
    }
    const payload = children[0] as Element;
    const namespace = payload.getNS();
    if (namespace === undefined || namespace === '') return fail(stanzaError('bad-request', 'the payload has no namespace'));

    // getName(): the local name, so `<q:conference xmlns:q=…>` routes like `<conference xmlns=…>`.
    const handler = this.#handlers.get(routeKey(namespace, payload.getName(), type));
    if (handler === undefined) return fail(stanzaError('service-unavailable'));

    const request: IqRequest = { id, type, from, to, payload, stanza };
    try {
      const child = await handler(request);
      const reply = replyTo(stanza, 'result');
      if (isElement(child)) reply.cnode(child);
      return { kind: 'result', reply };
    } catch (error) {
      if (error instanceof StanzaError) return fail(error);
      // The reason describes the peer's own input; clipped, since a parser may quote a huge value.
      if (error instanceof MalformedStanzaError) return fail(stanzaError('bad-request', clipText(error.message)));
      try {
        this.#options.onHandlerError?.(error, request);
      } catch {
        // A broken logger must not cost the peer its answer.
      }
      return fail(stanzaError('internal-server-error'));
    }
  }
}

function routeKey(namespace: string, name: string, type: IqRequestType): string {
  // Neither a namespace nor an XML name contains a space.
  return `${type} ${namespace} ${name}`;
}

/** The reply envelope: same id, addresses swapped (RFC 6120 §8.2.3 rule 3, §8.1.2.1). */
function replyTo(stanza: Element, type: 'result' | 'error'): Element {
  const attrs: Record<string, string> = { type };
  const { id, from, to } = stanza.attrs;
  if (id !== undefined) attrs.id = id;
  if (from !== undefined) attrs.to = from;
  if (to !== undefined) attrs.from = to;
  return new Element('iq', attrs);
}

/** RFC 6120 §8.3.1: the error reply; the original payload is not echoed back (it MAY be, and could be huge). */
export function errorReply(stanza: Element, error: StanzaError): Element {
  const reply = replyTo(stanza, 'error');
  reply.cnode(buildStanzaError(error));
  return reply;
}

const MAX_ERROR_TEXT = 256;

function clipText(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}
