import type { Element } from '../xml.js';

/**
 * True for an ltx element of any copy of ltx. `instanceof Element` is not enough: ltx 3 ships an ESM and a CommonJS
 * build, and @xmpp/component 0.13 (CommonJS) parses stanzas into elements of the CommonJS class.
 */
export function isElement(value: unknown): value is Element {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Element>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.attrs === 'object' &&
    candidate.attrs !== null &&
    Array.isArray(candidate.children) &&
    typeof candidate.getChildElements === 'function'
  );
}
