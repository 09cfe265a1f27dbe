import { MalformedStanzaError, STANZA_ERROR_CONDITIONS, StanzaError, type StanzaErrorCondition, type StanzaErrorType } from '../errors.js';
import { NS } from '../namespaces.js';
import { cloneElement, Element } from '../xml.js';
import { isElement } from './is-element.js';

/**
 * The `<error/>` child of an error stanza (RFC 6120 §8.3), parsed into a {@link StanzaError} and built from one. This
 * is the only place that reads or writes that element: the IQ router builds its answers here and the IQ caller
 * turns a peer's `type="error"` reply into the StanzaError a request rejects with.
 */

const ERROR_TYPES: readonly StanzaErrorType[] = ['auth', 'cancel', 'continue', 'modify', 'wait'];
const CONDITIONS: ReadonlySet<string> = new Set(STANZA_ERROR_CONDITIONS);

/** RFC 6120 §8.3.3: the error type each defined condition is normally sent with. */
export const DEFAULT_ERROR_TYPE: Readonly<Record<StanzaErrorCondition, StanzaErrorType>> = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  gone: 'cancel',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  redirect: 'modify',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

/** A StanzaError with the RFC's usual type for `condition`. */
export function stanzaError(condition: StanzaErrorCondition, text?: string, appSpecific?: Element): StanzaError {
  return new StanzaError(condition, DEFAULT_ERROR_TYPE[condition], text, appSpecific);
}

export function isStanzaErrorCondition(value: string): value is StanzaErrorCondition {
  return CONDITIONS.has(value);
}

function isErrorType(value: string | undefined): value is StanzaErrorType {
  return value !== undefined && (ERROR_TYPES as readonly string[]).includes(value);
}

/**
 * Parses an `<error/>` element. RFC 6120 §8.3.2: `type` is required, exactly one defined condition element in the
 * stanzas namespace, an optional `<text/>` in the same namespace, at most one application-specific child in another
 * namespace. Throws {@link MalformedStanzaError} (with `path` under `error`) for anything else, never another error.
 */
export function parseStanzaError(error: Element): StanzaError {
  if (!isElement(error) || error.getName() !== 'error') {
    throw new MalformedStanzaError('error', 'not an <error/> element');
  }
  const type = error.attrs.type;
  if (!isErrorType(type)) throw new MalformedStanzaError('error@type', `must be one of ${ERROR_TYPES.join(', ')}`);
  let condition: StanzaErrorCondition | undefined;
  let text: string | undefined;
  let appSpecific: Element | undefined;
  for (const child of error.getChildElements()) {
    const ns = child.getNS();
    // getName(): local names, so prefixed forms (`<s:text xmlns:s=…>`) parse like unprefixed ones.
    const name = child.getName();
    if (ns === NS.STANZAS) {
      if (name === 'text') {
        if (text !== undefined) throw new MalformedStanzaError('error/text', 'more than one <text/>');
        text = child.getText();
      } else if (isStanzaErrorCondition(name)) {
        if (condition !== undefined) throw new MalformedStanzaError(`error/${name}`, 'more than one condition');
        condition = name;
      } else {
        throw new MalformedStanzaError(`error/${clip(name)}`, 'not a defined condition of RFC 6120 §8.3.3');
      }
    } else {
      // RFC 6120 §8.3.2: "at most one application-specific child"; anything without a namespace of its own is not one.
      if (appSpecific !== undefined) throw new MalformedStanzaError(`error/${clip(name)}`, 'more than one application-specific child');
      if (ns === undefined || ns === '' || ns === NS.CLIENT || ns === NS.COMPONENT_ACCEPT) {
        throw new MalformedStanzaError(`error/${clip(name)}`, 'application-specific child without its own namespace');
      }
      appSpecific = cloneElement(child);
      appSpecific.parent = null;
    }
  }
  if (condition === undefined) throw new MalformedStanzaError('error', 'no defined condition element');
  // An empty <text/> says nothing; it parses like no text (and builds back without one).
  return new StanzaError(condition, type, text === '' ? undefined : text, appSpecific);
}

/**
 * Finds and parses the `<error/>` child of a stanza with `type="error"`. Throws {@link MalformedStanzaError} when
 * there is none or it is malformed.
 */
export function parseErrorStanza(stanza: Element): StanzaError {
  const errors = stanza.getChildren('error');
  if (errors.length !== 1) throw new MalformedStanzaError(`${stanza.name}/error`, `expected one <error/>, found ${String(errors.length)}`);
  return parseStanzaError(errors[0] as Element);
}

/** Builds the `<error/>` element for `error` (RFC 6120 §8.3.2): type, condition, optional text and app-specific child. */
export function buildStanzaError(error: StanzaError): Element {
  const element = new Element('error', { type: error.type });
  element.c(error.condition, { xmlns: NS.STANZAS });
  if (error.text !== undefined && error.text !== '') element.c('text', { xmlns: NS.STANZAS }).t(error.text);
  if (error.appSpecific !== undefined) element.cnode(cloneElement(error.appSpecific));
  return element;
}

/** Element names in error paths are peer input: keep them short. */
function clip(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
