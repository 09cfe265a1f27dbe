import type { Element } from './xml.js';

/** RFC 6120 §8.3.2: the error `type` attribute. */
export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** RFC 6120 §8.3.3: the defined stanza error conditions. */
export const STANZA_ERROR_CONDITIONS = [
  'bad-request', 'conflict', 'feature-not-implemented', 'forbidden', 'gone', 'internal-server-error',
  'item-not-found', 'jid-malformed', 'not-acceptable', 'not-allowed', 'not-authorized', 'policy-violation',
  'recipient-unavailable', 'redirect', 'registration-required', 'remote-server-not-found',
  'remote-server-timeout', 'resource-constraint', 'service-unavailable', 'subscription-required',
  'undefined-condition', 'unexpected-request',
] as const;
export type StanzaErrorCondition = (typeof STANZA_ERROR_CONDITIONS)[number];

/**
 * An XMPP stanza error (RFC 6120 §8.3): what a peer answered, or what we answer.
 * `appSpecific` is the optional application-specific child (e.g. COLIBRI2's `<conference-not-found/>`).
 */
export class StanzaError extends Error {
  override readonly name = 'StanzaError';
  constructor(
    readonly condition: StanzaErrorCondition,
    readonly type: StanzaErrorType,
    readonly text?: string,
    readonly appSpecific?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
  }
}

/**
 * A stanza (or part of one) that does not have the shape its protocol requires. Parsers throw this and
 * nothing else on bad input; the IQ router answers it with `bad-request` (RFC 6120 §8.3.3.1).
 * `path` locates the problem, e.g. `jingle/content[1]/description/payload-type[0]@id`.
 */
export class MalformedStanzaError extends Error {
  override readonly name = 'MalformedStanzaError';
  readonly code = 'HB_ERR_MALFORMED_STANZA';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`malformed stanza at ${path}: ${reason}`);
  }
}
