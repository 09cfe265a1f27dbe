import { describe, expect, it } from 'vitest';

import {
  Element,
  IqRouter,
  MalformedStanzaError,
  MAX_IQ_ID_LENGTH,
  NS,
  parseStanzaError,
  parseXmlString,
  StanzaError,
  type IqDisposition,
  type StanzaErrorCondition,
} from '../../src/index.js';

const NS_TEST = 'urn:hummingbird:test:router';
const SECRET = 'secret-internal-detail-7f3a';

/** Collects what the router sends. */
function recorder(): { sent: Element[]; send: (reply: Element) => Promise<void> } {
  const sent: Element[] = [];
  return { sent, send: (reply) => Promise.resolve(void sent.push(reply)) };
}

function iq(attrs: Record<string, string>, ...children: Element[]): Element {
  const element = new Element('iq', attrs);
  for (const child of children) element.cnode(child);
  return element;
}

function conditionOf(reply: Element): StanzaErrorCondition {
  return parseStanzaError(reply.getChild('error') as Element).condition;
}

describe('IqRouter: RFC 6120 answers', () => {
  const router = new IqRouter();
  router.register(NS_TEST, 'echo', 'get', ({ payload }) => new Element('echo', { xmlns: NS_TEST, value: payload.attrs.value ?? '' }));
  router.register(NS_TEST, 'empty', 'set', () => undefined);
  router.register(NS_TEST, 'stanza-error', 'get', () => {
    throw new StanzaError('conflict', 'cancel', 'already there', new Element('busy', { xmlns: 'urn:app' }));
  });
  router.register(NS_TEST, 'malformed', 'get', () => {
    throw new MalformedStanzaError('malformed@value', 'must be a number');
  });
  router.register(NS_TEST, 'crash', 'get', () => {
    throw new Error(SECRET);
  });
  const base = { id: 'q1', from: 'user@meet.test/r', to: 'focus.meet.test' };

  it('answers a get with type=result, the same id, swapped addresses and the handler payload', async () => {
    const { sent, send } = recorder();
    const result = await router.handle(iq({ ...base, type: 'get' }, new Element('echo', { xmlns: NS_TEST, value: 'v' })), send);
    expect(result.kind).toBe('result');
    expect(sent).toHaveLength(1);
    const reply = sent[0] as Element;
    expect(reply.attrs).toEqual({ type: 'result', id: 'q1', to: 'user@meet.test/r', from: 'focus.meet.test' });
    expect(reply.getChild('echo', NS_TEST)?.attrs.value).toBe('v');
  });

  it('answers a handler that returns nothing with an empty result', async () => {
    const { sent, send } = recorder();
    await router.handle(iq({ ...base, type: 'set' }, new Element('empty', { xmlns: NS_TEST })), send);
    expect(sent[0]?.attrs.type).toBe('result');
    expect(sent[0]?.children).toEqual([]);
  });

  it('routes by type too: a set for a get-only handler is service-unavailable', async () => {
    const { sent, send } = recorder();
    await router.handle(iq({ ...base, type: 'set' }, new Element('echo', { xmlns: NS_TEST })), send);
    expect(conditionOf(sent[0] as Element)).toBe('service-unavailable');
  });

  it('a thrown StanzaError is the answer, app-specific child included', async () => {
    const { sent, send } = recorder();
    await router.handle(iq({ ...base, type: 'get' }, new Element('stanza-error', { xmlns: NS_TEST })), send);
    const error = parseStanzaError(sent[0]?.getChild('error') as Element);
    expect([error.condition, error.type, error.text]).toEqual(['conflict', 'cancel', 'already there']);
    expect(error.appSpecific?.is('busy', 'urn:app')).toBe(true);
  });

  it('a thrown MalformedStanzaError is bad-request with its reason', async () => {
    const { sent, send } = recorder();
    await router.handle(iq({ ...base, type: 'get' }, new Element('malformed', { xmlns: NS_TEST })), send);
    const error = parseStanzaError(sent[0]?.getChild('error') as Element);
    expect(error.condition).toBe('bad-request');
    expect(error.type).toBe('modify');
    expect(error.text).toContain('must be a number');
  });

  it('anything else thrown is internal-server-error with no text; the owner hears about it', async () => {
    const reported: unknown[] = [];
    const own = new IqRouter({ onHandlerError: (error) => reported.push(error) });
    own.register(NS_TEST, 'crash', 'get', () => {
      throw new Error(SECRET);
    });
    const { sent, send } = recorder();
    await own.handle(iq({ ...base, type: 'get' }, new Element('crash', { xmlns: NS_TEST })), send);
    expect(conditionOf(sent[0] as Element)).toBe('internal-server-error');
    expect(sent[0]?.toString()).not.toContain(SECRET);
    expect(sent[0]?.getChild('error')?.getChild('text', NS.STANZAS)).toBeUndefined();
    expect(reported).toHaveLength(1);
  });

  it('a rejected promise is treated like a throw', async () => {
    const own = new IqRouter();
    own.register(NS_TEST, 'async', 'get', () => Promise.reject(new Error(SECRET)));
    const { sent, send } = recorder();
    await own.handle(iq({ ...base, type: 'get' }, new Element('async', { xmlns: NS_TEST })), send);
    expect(conditionOf(sent[0] as Element)).toBe('internal-server-error');
  });

  it('never answers results or errors, nor messages and presences', async () => {
    const { sent, send } = recorder();
    for (const type of ['result', 'error']) {
      expect((await router.handle(iq({ ...base, type }), send)).kind).toBe('ignored');
      expect((await router.handle(iq({ type }, new Element('a'), new Element('b')), send)).kind).toBe('ignored');
    }
    expect((await router.handle(new Element('message', { type: 'get' }), send)).kind).toBe('ignored');
    expect(sent).toEqual([]);
  });

  it('a reply that cannot be sent goes to onSendError, handle() still resolves', async () => {
    const failures: unknown[] = [];
    const own = new IqRouter({ onSendError: (error) => failures.push(error) });
    const disposition = await own.handle(iq({ ...base, type: 'get' }, new Element('x', { xmlns: 'urn:x' })), () => Promise.reject(new Error('socket gone')));
    expect(disposition.kind).toBe('error');
    expect(failures).toHaveLength(1);
  });

  it('resolves (never rejects) even for values that are not elements at all', async () => {
    const { sent, send } = recorder();
    for (const value of [null, undefined, 42, 'iq', {}, { name: 'iq', attrs: null }]) {
      await expect(router.handle(value as unknown as Element, send)).resolves.toMatchObject({ kind: 'ignored' });
    }
    expect(sent).toEqual([]);
  });

  it('refuses a second handler for the same triple; unregister frees it', () => {
    const own = new IqRouter();
    const off = own.register(NS_TEST, 'x', 'get', () => undefined);
    expect(() => own.register(NS_TEST, 'x', 'get', () => undefined)).toThrow(TypeError);
    expect(own.has(NS_TEST, 'x', 'get')).toBe(true);
    off();
    expect(own.has(NS_TEST, 'x', 'get')).toBe(false);
    expect(() => own.register(NS_TEST, 'x', 'result' as 'get', () => undefined)).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile input: generated malformed IQs, each with the answer RFC 6120 requires.

/** Deterministic PRNG (xorshift32) so a failing case is reproducible from its index. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

type Expected = { kind: 'ignored' } | { kind: 'result' } | { kind: 'error'; condition: StanzaErrorCondition; noText?: boolean };

interface Case {
  readonly description: string;
  readonly stanza: Element;
  readonly expected: Expected;
}

const GARBAGE_TYPES = ['', 'GET', 'Set', 'query', 'get ', ' set', 'resultx', 'null', '\u0000', 'ge\u0301t', 'x'.repeat(5000)];
const BAD_JIDS = ['@', 'a@b@c', 'user@', '@domain', 'a b@c', 'x/'.repeat(0) + 'd/', 'dom\u0000ain', `${'a'.repeat(2000)}@b`, '[::g]', 'a@<b>', '\ud800@x', 'x'.repeat(5000)];
const GOOD_JIDS = ['user@meet.test/r1', 'meet.test', 'focus@focus.meet.test/focus', 'room@conference.meet.test/nick name'];

/**
 * A strict stand-in for a stanza model's parser: `<strict xmlns=… n="digits"/>` with no children and n of at most
 * 9 digits, else MalformedStanzaError (what the models throw on bad input).
 */
function strictHandler({ payload }: { payload: Element }): Element {
  const n = payload.attrs.n;
  if (n === undefined || !/^\d{1,9}$/.test(n)) throw new MalformedStanzaError('strict@n', 'must be 1 to 9 digits');
  if (payload.getChildElements().length > 0) throw new MalformedStanzaError('strict', 'unexpected child element');
  return new Element('strict', { xmlns: NS_TEST, n });
}

const THROWN = [new Error(SECRET), SECRET, { message: SECRET }, undefined, null, 42, new TypeError(SECRET), Symbol(SECRET)];

function fuzzRouter(): IqRouter {
  const router = new IqRouter({ onHandlerError: () => undefined });
  router.register(NS_TEST, 'strict', 'get', strictHandler);
  router.register(NS_TEST, 'strict', 'set', strictHandler);
  let throwIndex = 0;
  router.register(NS_TEST, 'throws', 'set', () => {
    const value = THROWN[throwIndex++ % THROWN.length];
    // Throwing non-Error values on purpose: hostile handlers exist.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw value;
  });
  return router;
}

function deepChain(depth: number): Element {
  const top = new Element('n', { xmlns: 'urn:deep' });
  let current = top;
  for (let i = 0; i < depth; i++) current = current.c('n');
  return top;
}

/** One generated case: a base IQ with 1–3 mutations; the expected answer follows the router's documented order. */
function generate(index: number): Case {
  const random = prng(0x5eed + index * 7919);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const attrs: Record<string, string> = {
    id: `id-${String(index)}`,
    type: pick(['get', 'set']),
    from: pick(GOOD_JIDS),
    to: pick(GOOD_JIDS),
  };
  let payloads: Element[] = [new Element('strict', { xmlns: NS_TEST, n: String(Math.floor(random() * 1e6)) })];
  const notes: string[] = [];

  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    switch (Math.floor(random() * 14)) {
      case 0:
        delete attrs.id;
        notes.push('no id');
        break;
      case 1:
        attrs.id = random() < 0.3 ? '' : 'i'.repeat(MAX_IQ_ID_LENGTH + 1 + Math.floor(random() * 100_000));
        notes.push('empty or huge id');
        break;
      case 2:
        if (random() < 0.5) {
          delete attrs.type;
        } else {
          attrs.type = pick(GARBAGE_TYPES);
        }
        notes.push('missing or garbage type');
        break;
      case 3:
        attrs[random() < 0.5 ? 'from' : 'to'] = pick(BAD_JIDS);
        notes.push('garbage from/to');
        break;
      case 4:
        payloads = [];
        notes.push('zero children');
        break;
      case 5:
        payloads.push(new Element(pick(['strict', 'extra', 'x']), { xmlns: pick([NS_TEST, 'urn:other']) }));
        notes.push('two children');
        break;
      case 6:
        payloads = payloads.map(() => new Element('query', { xmlns: `urn:unknown:${String(Math.floor(random() * 1e9))}` }));
        notes.push('unknown namespace');
        break;
      case 7:
        payloads = payloads.map(() => new Element(pick(['nope', 'strictx', 'Strict']), { xmlns: NS_TEST }));
        notes.push('unknown element');
        break;
      case 8: {
        const depth = 50 + Math.floor(random() * 3000);
        payloads = payloads.map((p) => {
          p.cnode(deepChain(depth));
          return p;
        });
        notes.push(`deep nesting ${String(depth)}`);
        break;
      }
      case 9:
        payloads = payloads.map((p) => {
          p.attrs.n = pick(['9'.repeat(200_000 + Math.floor(random() * 800_000)), '-1', '1e9', '', 'NaN', '<&>']);
          return p;
        });
        notes.push('huge or bad payload attribute');
        break;
      case 10:
        attrs.type = pick(['result', 'error']);
        notes.push('a response');
        break;
      case 11:
        payloads = payloads.map(() => new Element('throws', { xmlns: NS_TEST }));
        attrs.type = 'set';
        notes.push('handler throws');
        break;
      case 12:
        payloads = payloads.map(() => new Element('strict', { n: '1' }));
        notes.push('payload without namespace');
        break;
      default:
        // Unknown attributes and text nodes: harmless, the IQ stays otherwise as it was.
        attrs[`x-${String(m)}`] = 'z'.repeat(Math.floor(random() * 10_000));
        notes.push('unknown attribute');
        break;
    }
  }
  const stanza = new Element('iq', attrs);
  if (random() < 0.3) stanza.t('  text between  ');
  for (const payload of payloads) stanza.cnode(payload);

  // The oracle, in the router's documented order. Later mutations may have undone earlier flags (e.g. a new type).
  const type = attrs.type;
  const id = attrs.id;
  let expected: Expected;
  const route = payloads[0];
  if (type === 'result' || type === 'error') expected = { kind: 'ignored' };
  else if (id === undefined || id === '' || id.length > MAX_IQ_ID_LENGTH) expected = { kind: 'error', condition: 'bad-request' };
  else if (type !== 'get' && type !== 'set') expected = { kind: 'error', condition: 'bad-request' };
  else if ([attrs.from, attrs.to].some((j) => j !== undefined && BAD_JIDS.includes(j))) expected = { kind: 'error', condition: 'jid-malformed' };
  else if (payloads.length !== 1 || route === undefined) expected = { kind: 'error', condition: 'bad-request' };
  else if (route.getNS() === undefined) expected = { kind: 'error', condition: 'bad-request' };
  else if (!(route.getNS() === NS_TEST && (route.name === 'strict' || (route.name === 'throws' && type === 'set'))))
    expected = { kind: 'error', condition: 'service-unavailable' };
  else if (route.name === 'throws') expected = { kind: 'error', condition: 'internal-server-error', noText: true };
  else {
    const n = route.attrs.n ?? '';
    expected = /^\d{1,9}$/.test(n) && route.getChildElements().length === 0 ? { kind: 'result' } : { kind: 'error', condition: 'bad-request' };
  }
  return { description: `#${String(index)}: ${notes.join(', ')}`, stanza, expected };
}

async function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${String(ms)} ms (hang)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('IqRouter: hostile input (generated)', () => {
  const CASES = 3_000;

  it(`answers each of ${String(CASES)} generated malformed IQs with the right error, never throws or hangs, never answers responses`, async () => {
    const router = fuzzRouter();
    const tally = new Map<string, number>();
    let errors = 0;
    for (let index = 0; index < CASES; index++) {
      const { description, stanza, expected } = generate(index);
      const sent: Element[] = [];
      let disposition: IqDisposition;
      try {
        disposition = await withinMs(router.handle(stanza, (reply) => Promise.resolve(void sent.push(reply))), 5_000, description);
      } catch (error) {
        throw new Error(`${description}: handle() threw ${String(error)}`);
      }
      const key = expected.kind === 'error' ? expected.condition : expected.kind;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (expected.kind === 'ignored') {
        expect(disposition.kind, description).toBe('ignored');
        expect(sent, description).toEqual([]);
        continue;
      }
      expect(sent, description).toHaveLength(1);
      const reply = sent[0] as Element;
      expect(reply.attrs.id, description).toBe(stanza.attrs.id);
      expect(reply.attrs.to, description).toBe(stanza.attrs.from);
      expect(reply.attrs.from, description).toBe(stanza.attrs.to);
      if (expected.kind === 'result') {
        expect(reply.attrs.type, description).toBe('result');
        continue;
      }
      errors++;
      expect(reply.attrs.type, description).toBe('error');
      const parsed = parseStanzaError(reply.getChild('error') as Element);
      expect(parsed.condition, description).toBe(expected.condition);
      // The error reply never echoes the (possibly huge, possibly deep) payload back.
      expect(reply.getChildElements().map((c) => c.name), description).toEqual(['error']);
      if (expected.noText === true) expect(parsed.text, description).toBeUndefined();
      expect(reply.toString().includes(SECRET), description).toBe(false);
    }
    console.log(`[router fuzz] ${String(CASES)} cases, ${String(errors)} error answers: ${JSON.stringify(Object.fromEntries(tally))}`);
    expect(errors).toBeGreaterThanOrEqual(2_000);
    // Every class of answer is exercised, so a generator that degenerated would be caught.
    for (const key of ['ignored', 'result', 'bad-request', 'jid-malformed', 'service-unavailable', 'internal-server-error']) {
      expect(tally.get(key) ?? 0, key).toBeGreaterThan(20);
    }
  });

  it('handles IQs parsed from hostile XML text the same way (wire form)', async () => {
    const router = fuzzRouter();
    const wire: [string, StanzaErrorCondition | 'result' | 'ignored'][] = [
      [`<iq type="get" id="a"><strict xmlns="${NS_TEST}" n="12"/></iq>`, 'result'],
      [`<iq type="get"><strict xmlns="${NS_TEST}" n="12"/></iq>`, 'bad-request'],
      [`<iq type="get" id="b"/>`, 'bad-request'],
      [`<iq type="get" id="c">only text</iq>`, 'bad-request'],
      [`<iq type="set" id="d"><strict xmlns="${NS_TEST}" n="1"/><strict xmlns="${NS_TEST}" n="2"/></iq>`, 'bad-request'],
      [`<iq type="get" id="e"><q:strict xmlns:q="${NS_TEST}" n="3"/></iq>`, 'result'],
      [`<iq type="get" id="f"><strict n="3"/></iq>`, 'bad-request'],
      [`<iq type="get" id="g" from="a@b@c"><strict xmlns="${NS_TEST}" n="3"/></iq>`, 'jid-malformed'],
      [`<iq type="get" id="h"><strict xmlns="${NS_TEST}" n="${'1'.repeat(1 << 20)}"/></iq>`, 'bad-request'],
      [`<iq type="get" id="i"><strict xmlns="${NS_TEST}" n="1">${'<x>'.repeat(2000)}${'</x>'.repeat(2000)}</strict></iq>`, 'bad-request'],
      [`<iq type="result" id="j"><strict xmlns="${NS_TEST}"/><x/></iq>`, 'ignored'],
      [`<iq type="error" id="k"/>`, 'ignored'],
      [`<iq type="get" id="l"><query xmlns="jabber:iq:version"/></iq>`, 'service-unavailable'],
    ];
    for (const [xmlText, expected] of wire) {
      const { sent, send } = recorder();
      const disposition = await router.handle(parseXmlString(xmlText), send);
      const what = xmlText.slice(0, 80);
      if (expected === 'ignored') {
        expect(disposition.kind, what).toBe('ignored');
        expect(sent, what).toEqual([]);
      } else if (expected === 'result') {
        expect(sent[0]?.attrs.type, what).toBe('result');
      } else {
        expect(conditionOf(sent[0] as Element), what).toBe(expected);
      }
    }
  });
});
