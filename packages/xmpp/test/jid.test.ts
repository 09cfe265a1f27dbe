import { describe, expect, it } from 'vitest';
import { bareJid, formatJid, jid, jidEquals, JidError, parseJid, type Jid } from '../src/index.js';

function jidError(input: unknown): JidError {
  try {
    parseJid(input);
  } catch (error) {
    if (error instanceof JidError) return error;
    throw new Error(`parseJid threw a non-JidError for ${JSON.stringify(input)}: ${String(error)}`);
  }
  throw new Error(`parseJid accepted ${JSON.stringify(input)}`);
}

describe('parseJid: valid addresses', () => {
  it.each<[string, Jid]>([
    ['meet.example.com', { domain: 'meet.example.com' }],
    ['focus@auth.meet.example.com', { local: 'focus', domain: 'auth.meet.example.com' }],
    ['room1@conference.meet.example.com/abcd1234', { local: 'room1', domain: 'conference.meet.example.com', resource: 'abcd1234' }],
    ['focus.meet.example.com/focus', { domain: 'focus.meet.example.com', resource: 'focus' }],
    ['a@b/c@d/e', { local: 'a', domain: 'b', resource: 'c@d/e' }],
    ['x@[::1]/r', { local: 'x', domain: '[::1]', resource: 'r' }],
    ['127.0.0.1', { domain: '127.0.0.1' }],
    ['Room@Example.COM/Nick Name', { local: 'room', domain: 'example.com', resource: 'Nick Name' }],
    ['example.com.', { domain: 'example.com' }],
    ['müller@bücher.example/résumé', { local: 'müller', domain: 'bücher.example', resource: 'résumé' }],
  ])('parses %s (RFC 7622 §3.1 split, case folding of local and domain, resource kept)', (input, expected) => {
    expect(parseJid(input)).toEqual(expected);
  });

  it('applies NFC so that composed and decomposed forms compare equal', () => {
    expect(jidEquals(parseJid('e\u0301@x'), parseJid('\u00e9@x'))).toBe(true);
  });

  it('accepts parts of exactly 1023 octets', () => {
    const local = 'a'.repeat(1023);
    const resource = 'é'.repeat(511) + 'a'; // 1023 octets
    expect(parseJid(`${local}@x/${resource}`).resource).toBe(resource);
  });
});

describe('parseJid: hostile input only ever throws JidError', () => {
  it.each<[string, unknown, JidError['part'], JidError['reason']]>([
    ['empty string', '', 'jid', 'empty'],
    ['not a string', 42, 'jid', 'not-a-string'],
    ['undefined', undefined, 'jid', 'not-a-string'],
    ['empty local', '@example.com', 'local', 'empty'],
    ['empty domain', 'user@', 'domain', 'empty'],
    ['empty domain with resource', 'user@/res', 'domain', 'empty'],
    ['only a slash', '/', 'domain', 'empty'],
    ['only a dot', '.', 'domain', 'empty'],
    ['empty resource', 'example.com/', 'resource', 'empty'],
    ['many @: second @ lands in the domain', 'a@b@c', 'domain', 'forbidden-character'],
    ['@@@', '@@@', 'local', 'empty'],
    ['space in local', 'a b@example.com', 'local', 'forbidden-character'],
    ['tab in local', 'a\tb@example.com', 'local', 'forbidden-character'],
    ['quote in local', 'a"b@example.com', 'local', 'forbidden-character'],
    ['ampersand in local', 'a&b@example.com', 'local', 'forbidden-character'],
    ['apostrophe in local', "a'b@example.com", 'local', 'forbidden-character'],
    ['colon in local', 'a:b@example.com', 'local', 'forbidden-character'],
    ['angle bracket in local', 'a<b@example.com', 'local', 'forbidden-character'],
    ['NUL in resource', 'a@b/c\u0000', 'resource', 'forbidden-character'],
    ['C1 control in local', 'a\u0085@b', 'local', 'forbidden-character'],
    ['DEL in domain', 'exa\u007fmple.com', 'domain', 'forbidden-character'],
    ['newline in domain', 'example.com\n', 'domain', 'forbidden-character'],
    ['unpaired surrogate in resource', 'a@b/\ud800', 'resource', 'forbidden-character'],
    ['space in domain', 'exa mple.com', 'domain', 'forbidden-character'],
    ['XML in domain', 'a@<script>', 'domain', 'forbidden-character'],
    ['empty label', 'a..b', 'domain', 'invalid-domain'],
    ['leading dot', '.example.com', 'domain', 'invalid-domain'],
    ['label over 63 characters', `${'a'.repeat(64)}.com`, 'domain', 'invalid-domain'],
    ['bad IPv6 literal', '[::g]', 'domain', 'invalid-domain'],
    ['unclosed IPv6 literal', '[::1', 'domain', 'invalid-domain'],
    ['bare IPv6 without brackets', '::1', 'domain', 'forbidden-character'],
    ['IPv4 in brackets', '[127.0.0.1]', 'domain', 'invalid-domain'],
    ['local over 1023 octets', `${'a'.repeat(1024)}@x`, 'local', 'too-long'],
    ['multibyte local over 1023 octets', `${'é'.repeat(512)}@x`, 'local', 'too-long'],
    ['domain over 1023 octets', `${'a.'.repeat(512)}com`, 'domain', 'too-long'],
    ['resource over 1023 octets', `x/${'r'.repeat(1024)}`, 'resource', 'too-long'],
    ['a megabyte', 'a'.repeat(1 << 20), 'jid', 'too-long'],
  ])('rejects %s', (_name, input, part, reason) => {
    const error = jidError(input);
    expect(error.part).toBe(part);
    expect(error.reason).toBe(reason);
    expect(error.condition).toBe('jid-malformed');
  });

  it('rejects a megabyte of "@" and "/" quickly, without trying to parse it', () => {
    const started = performance.now();
    expect(jidError('@/'.repeat(1 << 19)).reason).toBe('too-long');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('throws nothing but JidError over thousands of random strings (fuzz)', () => {
    // Deterministic PRNG so a failure is reproducible.
    let seed = 0x9e3779b9;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const alphabet = ['a', 'Z', '0', '@', '/', '.', '[', ']', ':', ' ', '\u0000', '\u0085', 'é', '\u0301', '\ud83d\ude00', '\ud800', '"', '<', '-'];
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(next() * 24);
      let s = '';
      for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)] ?? '';
      try {
        const parsed = parseJid(s);
        accepted++;
        // Whatever is accepted must survive a format → parse round trip unchanged.
        expect(parseJid(formatJid(parsed))).toEqual(parsed);
      } catch (error) {
        if (!(error instanceof JidError)) throw error;
      }
    }
    // The alphabet makes some valid JIDs; zero would mean the fuzz tests nothing.
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('formatJid, bareJid, jid()', () => {
  it('formats back to the canonical string', () => {
    expect(formatJid(parseJid('Room@Conference.Example.com/Ep1'))).toBe('room@conference.example.com/Ep1');
    expect(formatJid({ domain: 'focus.example.com' })).toBe('focus.example.com');
  });

  it('refuses to format parts that would not parse back (a hand-built hostile object)', () => {
    expect(() => formatJid({ local: 'a@b', domain: 'example.com' })).toThrow(JidError);
    expect(() => formatJid({ domain: 'example.com', resource: '' })).toThrow(JidError);
  });

  it('bareJid drops the resource and keeps local and domain', () => {
    expect(bareJid(parseJid('room@conference.example.com/nick'))).toEqual({ local: 'room', domain: 'conference.example.com' });
    expect(bareJid(parseJid('example.com/r'))).toEqual({ domain: 'example.com' });
  });

  it('jid() validates parts the same way parseJid does', () => {
    expect(jid({ local: 'Focus', domain: 'Auth.Example.com' })).toEqual({ local: 'focus', domain: 'auth.example.com' });
    expect(() => jid({ domain: '' })).toThrow(JidError);
  });

  it('returns frozen values: a parsed JID is never mutated after validation', () => {
    expect(Object.isFrozen(parseJid('a@b/c'))).toBe(true);
  });
});
