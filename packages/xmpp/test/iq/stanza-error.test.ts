import { describe, expect, it } from 'vitest';

import {
  buildStanzaError,
  DEFAULT_ERROR_TYPE,
  Element,
  MalformedStanzaError,
  NS,
  parseErrorStanza,
  parseStanzaError,
  parseXmlString,
  STANZA_ERROR_CONDITIONS,
  StanzaError,
  stanzaError,
  xmlEqual,
} from '../../src/index.js';

function malformed(build: () => unknown): MalformedStanzaError {
  try {
    build();
  } catch (error) {
    if (error instanceof MalformedStanzaError) return error;
    throw new Error(`threw something other than MalformedStanzaError: ${String(error)}`);
  }
  throw new Error('accepted');
}

describe('stanza errors: parse ⇄ build', () => {
  it('round-trips every defined condition with its default type, with and without text and app-specific child', () => {
    for (const condition of STANZA_ERROR_CONDITIONS) {
      for (const error of [
        stanzaError(condition),
        stanzaError(condition, 'why'),
        stanzaError(condition, 'why', new Element('conference-not-found', { xmlns: NS.COLIBRI2, id: 'x' })),
      ]) {
        const element = buildStanzaError(error);
        const parsed = parseStanzaError(element);
        expect(parsed).toBeInstanceOf(StanzaError);
        expect([parsed.condition, parsed.type, parsed.text]).toEqual([condition, DEFAULT_ERROR_TYPE[condition], error.text]);
        if (error.appSpecific) expect(xmlEqual(parsed.appSpecific as Element, error.appSpecific)).toBe(true);
        expect(xmlEqual(buildStanzaError(parsed), element)).toBe(true);
      }
    }
  });

  it('parses a wire error with prefixes, xml:lang text and an app-specific child (RFC 6120 §8.3.2)', () => {
    const iq = parseXmlString(
      `<iq type="error" id="1"><error type="cancel" by="focus.meet.test">` +
        `<s:item-not-found xmlns:s="${NS.STANZAS}"/><text xmlns="${NS.STANZAS}" xml:lang="en">gone</text>` +
        `<conference-not-found xmlns="${NS.COLIBRI2}"/></error></iq>`,
    );
    const error = parseErrorStanza(iq);
    expect([error.condition, error.type, error.text]).toEqual(['item-not-found', 'cancel', 'gone']);
    expect(error.appSpecific?.is('conference-not-found', NS.COLIBRI2)).toBe(true);
    expect(error.appSpecific?.parent).toBeNull();
  });

  it('builds the RFC layout: condition first, then text, then the app-specific child', () => {
    const element = buildStanzaError(new StanzaError('forbidden', 'auth', 'no', new Element('x', { xmlns: 'urn:a' })));
    expect(element.toString()).toBe(`<error type="auth"><forbidden xmlns="${NS.STANZAS}"/><text xmlns="${NS.STANZAS}">no</text><x xmlns="urn:a"/></error>`);
  });

  it.each<[string, string]>([
    ['no type', `<error><bad-request xmlns="${NS.STANZAS}"/></error>`],
    ['unknown type', `<error type="fatal"><bad-request xmlns="${NS.STANZAS}"/></error>`],
    ['no condition', `<error type="cancel"/>`],
    ['only text', `<error type="cancel"><text xmlns="${NS.STANZAS}">x</text></error>`],
    ['two conditions', `<error type="cancel"><bad-request xmlns="${NS.STANZAS}"/><conflict xmlns="${NS.STANZAS}"/></error>`],
    ['undefined condition name', `<error type="cancel"><made-up xmlns="${NS.STANZAS}"/></error>`],
    ['condition in the wrong namespace only', `<error type="cancel"><bad-request xmlns="urn:other"/></error>`],
    ['two texts', `<error type="cancel"><bad-request xmlns="${NS.STANZAS}"/><text xmlns="${NS.STANZAS}"/><text xmlns="${NS.STANZAS}"/></error>`],
    ['two app-specific children', `<error type="cancel"><bad-request xmlns="${NS.STANZAS}"/><a xmlns="urn:a"/><b xmlns="urn:b"/></error>`],
    ['app-specific without namespace', `<error type="cancel"><bad-request xmlns="${NS.STANZAS}"/><a/></error>`],
    ['not an error element', `<failure type="cancel"><bad-request xmlns="${NS.STANZAS}"/></failure>`],
    ['huge unknown condition', `<error type="cancel"><${'x'.repeat(100_000)} xmlns="${NS.STANZAS}"/></error>`],
  ])('rejects %s with MalformedStanzaError only', (_name, text) => {
    const error = malformed(() => parseStanzaError(parseXmlString(text)));
    expect(error.path.length).toBeLessThan(200);
  });

  it('rejects error stanzas without exactly one <error/>, and non-elements', () => {
    malformed(() => parseErrorStanza(parseXmlString('<iq type="error" id="1"/>')));
    malformed(() => parseErrorStanza(parseXmlString(`<iq type="error"><error type="cancel"><conflict xmlns="${NS.STANZAS}"/></error><error type="cancel"><conflict xmlns="${NS.STANZAS}"/></error></iq>`)));
    for (const value of [undefined, null, 'error', 42, {}, { name: 'error' }]) malformed(() => parseStanzaError(value as unknown as Element));
  });

  it('throws nothing but MalformedStanzaError over thousands of generated error elements (fuzz)', () => {
    let seed = 0xc0ffee;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const names = [...STANZA_ERROR_CONDITIONS, 'text', 'x', 'error', ''.padEnd(3000, 'q')];
    const namespaces = [NS.STANZAS, NS.STANZAS, 'urn:app', undefined, NS.CLIENT];
    let parsed = 0;
    for (let i = 0; i < 3_000; i++) {
      const attrs: Record<string, string> = {};
      if (random() < 0.9) attrs.type = pick(['auth', 'cancel', 'continue', 'modify', 'wait', 'bogus', '']);
      const error = new Element('error', attrs);
      const children = Math.floor(random() * 5);
      for (let c = 0; c < children; c++) {
        const ns = pick(namespaces);
        const child = error.c(pick(names), ns === undefined ? {} : { xmlns: ns });
        if (random() < 0.3) child.t('t'.repeat(Math.floor(random() * 1000)));
        if (random() < 0.1) child.c('nested').c('deeper');
      }
      try {
        const result = parseStanzaError(error);
        parsed++;
        expect(STANZA_ERROR_CONDITIONS).toContain(result.condition);
        expect(parseStanzaError(buildStanzaError(result))).toEqual(result);
      } catch (e) {
        if (!(e instanceof MalformedStanzaError)) throw e;
      }
    }
    expect(parsed).toBeGreaterThan(100);
  });
});
