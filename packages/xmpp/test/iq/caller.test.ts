import { describe, expect, it } from 'vitest';

import {
  buildStanzaError,
  Element,
  IqCaller,
  IqCancelledError,
  IqTimeoutError,
  parseJid,
  StanzaError,
  type Jid,
} from '../../src/index.js';

const NS_TEST = 'urn:hummingbird:test:caller';

/** A caller over a fake transport that records what it sends. */
function setup(options: { ownJid?: Jid; timeoutMs?: number; sendFails?: boolean } = {}) {
  const sent: Element[] = [];
  const spoofed: Element[] = [];
  const caller = new IqCaller(
    (stanza) => {
      if (options.sendFails === true) return Promise.reject(new Error('socket closed'));
      sent.push(stanza);
      return Promise.resolve();
    },
    {
      timeoutMs: options.timeoutMs ?? 10_000,
      ownJid: () => options.ownJid,
      onSpoofedResponse: (stanza) => spoofed.push(stanza),
    },
  );
  return { caller, sent, spoofed };
}

function result(request: Element, from: string | undefined, child?: Element): Element {
  const attrs: Record<string, string> = { type: 'result', id: request.attrs.id ?? '' };
  if (from !== undefined) attrs.from = from;
  const iq = new Element('iq', attrs);
  if (child) iq.cnode(child);
  return iq;
}

function lastSent(sent: Element[]): Element {
  const iq = sent.at(-1);
  if (iq === undefined) throw new Error('nothing sent');
  return iq;
}

describe('IqCaller', () => {
  it('sends a get with a fresh id and resolves with the payload of the matching result', async () => {
    const { caller, sent } = setup();
    const pending = caller.get('focus.meet.test', new Element('q', { xmlns: NS_TEST }));
    const request = lastSent(sent);
    expect(request.attrs).toMatchObject({ type: 'get', to: 'focus.meet.test' });
    expect(request.attrs.id).toMatch(/^[0-9a-f]{8}-\d+$/);
    expect(caller.handleResponse(result(request, 'focus.meet.test', new Element('a', { xmlns: NS_TEST, v: '1' })))).toBe(true);
    expect((await pending)?.attrs.v).toBe('1');
    expect(caller.pendingCount).toBe(0);
  });

  it('ids are unique across requests and callers', () => {
    const a = setup();
    const b = setup();
    for (let i = 0; i < 100; i++) {
      void a.caller.get('x.test', new Element('q', { xmlns: NS_TEST })).catch(() => undefined);
      void b.caller.get('x.test', new Element('q', { xmlns: NS_TEST })).catch(() => undefined);
    }
    const ids = [...a.sent, ...b.sent].map((s) => s.attrs.id);
    expect(new Set(ids).size).toBe(200);
    a.caller.cancelAll('done');
    b.caller.cancelAll('done');
  });

  it('ignores a response with the right id from another sender (spoofing), then accepts the real one', async () => {
    const { caller, sent, spoofed } = setup();
    const pending = caller.set('jvb@auth.meet.test/bridge', new Element('q', { xmlns: NS_TEST }));
    const request = lastSent(sent);
    for (const from of ['mallory@auth.meet.test/bridge', 'jvb@auth.meet.test', 'jvb@auth.meet.test/other', 'auth.meet.test', 'a@b@c']) {
      expect(caller.handleResponse(result(request, from, new Element('evil', { xmlns: NS_TEST })))).toBe(false);
    }
    // No `from` at all: only our own account's server may answer like that.
    expect(caller.handleResponse(result(request, undefined))).toBe(false);
    expect(spoofed).toHaveLength(6);
    expect(caller.pendingCount).toBe(1);
    expect(caller.handleResponse(result(request, 'JVB@Auth.Meet.Test/bridge', new Element('ok', { xmlns: NS_TEST })))).toBe(true);
    expect((await pending)?.name).toBe('ok');
  });

  it('requests without `to` accept answers from our server, our bare or full JID, or without from — not from others', async () => {
    const own = parseJid('guest@meet.test/r1');
    const { caller, sent } = setup({ ownJid: own });
    for (const from of [undefined, 'meet.test', 'guest@meet.test', 'guest@meet.test/r1']) {
      const pending = caller.get(undefined, new Element('ping', { xmlns: 'urn:xmpp:ping' }));
      const request = lastSent(sent);
      expect(request.attrs.to).toBeUndefined();
      expect(caller.handleResponse(result(request, 'other.test'))).toBe(false);
      expect(caller.handleResponse(result(request, 'guest@meet.test/r2'))).toBe(false);
      expect(caller.handleResponse(result(request, from))).toBe(true);
      await pending;
    }
  });

  it('a request to our own bare JID accepts an answer without from', async () => {
    const { caller, sent } = setup({ ownJid: parseJid('guest@meet.test/r1') });
    const pending = caller.get('guest@meet.test', new Element('q', { xmlns: NS_TEST }));
    expect(caller.handleResponse(result(lastSent(sent), undefined))).toBe(true);
    await pending;
  });

  it('rejects with the typed StanzaError of an error response (condition, text, app-specific child)', async () => {
    const { caller, sent } = setup();
    const pending = caller.set('focus.meet.test', new Element('q', { xmlns: NS_TEST })).catch((e: unknown) => e);
    const request = lastSent(sent);
    const reply = new Element('iq', { type: 'error', id: request.attrs.id ?? '', from: 'focus.meet.test' });
    reply.cnode(buildStanzaError(new StanzaError('not-allowed', 'cancel', 'nope', new Element('reason', { xmlns: 'urn:app' }))));
    expect(caller.handleResponse(reply)).toBe(true);
    const error = (await pending) as StanzaError;
    expect(error).toBeInstanceOf(StanzaError);
    expect([error.condition, error.type, error.text, error.appSpecific?.name]).toEqual(['not-allowed', 'cancel', 'nope', 'reason']);
  });

  it('a malformed error response still rejects, as undefined-condition', async () => {
    const { caller, sent } = setup();
    const pending = caller.get('focus.meet.test', new Element('q', { xmlns: NS_TEST })).catch((e: unknown) => e);
    const reply = new Element('iq', { type: 'error', id: lastSent(sent).attrs.id ?? '', from: 'focus.meet.test' });
    reply.c('error').c('garbage');
    expect(caller.handleResponse(reply)).toBe(true);
    expect(((await pending) as StanzaError).condition).toBe('undefined-condition');
  });

  it('times out with IqTimeoutError, a StanzaError remote-server-timeout; a late response is then ignored', async () => {
    const { caller, sent } = setup();
    const started = Date.now();
    const error = await caller.get('focus.meet.test', new Element('q', { xmlns: NS_TEST }), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).toBeInstanceOf(IqTimeoutError);
    expect(error).toBeInstanceOf(StanzaError);
    expect([(error as IqTimeoutError).condition, (error as IqTimeoutError).type, (error as IqTimeoutError).code]).toEqual([
      'remote-server-timeout',
      'wait',
      'HB_ERR_IQ_TIMEOUT',
    ]);
    expect(caller.handleResponse(result(lastSent(sent), 'focus.meet.test'))).toBe(false);
  });

  it('cancelAll rejects every pending request with IqCancelledError and clears the timers', async () => {
    const { caller } = setup();
    const all = Array.from({ length: 5 }, () => caller.get('focus.meet.test', new Element('q', { xmlns: NS_TEST })).catch((e: unknown) => e));
    expect(caller.pendingCount).toBe(5);
    caller.cancelAll('the connection was lost');
    for (const error of await Promise.all(all)) {
      expect(error).toBeInstanceOf(IqCancelledError);
      expect((error as StanzaError).condition).toBe('recipient-unavailable');
      expect((error as StanzaError).text).toBe('the connection was lost');
    }
    expect(caller.pendingCount).toBe(0);
  });

  it('a send failure rejects the request at once', async () => {
    const { caller } = setup({ sendFails: true });
    const error = await caller.get('focus.meet.test', new Element('q', { xmlns: NS_TEST })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IqCancelledError);
    expect(caller.pendingCount).toBe(0);
  });

  it('takes the recipient as a Jid too, and sends it in canonical form', async () => {
    const { caller, sent } = setup();
    const pending = caller.get(parseJid('Room@Conference.Meet.Test/Nick'), new Element('q', { xmlns: NS_TEST }));
    const request = lastSent(sent);
    expect(request.attrs.to).toBe('room@conference.meet.test/Nick');
    expect(caller.handleResponse(result(request, 'room@conference.meet.test/Nick'))).toBe(true);
    await pending;
  });

  it('refuses an invalid recipient with TypeError, before sending anything', async () => {
    const { caller, sent } = setup();
    await expect(caller.get('a@b@c', new Element('q', { xmlns: NS_TEST }))).rejects.toBeInstanceOf(TypeError);
    await expect(caller.get({ domain: 'bad domain' }, new Element('q', { xmlns: NS_TEST }))).rejects.toBeInstanceOf(TypeError);
    expect(sent).toEqual([]);
  });

  it('does not take get/set IQs, unknown ids or non-IQs as responses', () => {
    const { caller } = setup();
    expect(caller.handleResponse(new Element('iq', { type: 'get', id: 'x' }))).toBe(false);
    expect(caller.handleResponse(new Element('iq', { type: 'result', id: 'unknown' }))).toBe(false);
    expect(caller.handleResponse(new Element('iq', { type: 'result' }))).toBe(false);
    expect(caller.handleResponse(new Element('message', { type: 'result', id: 'x' }))).toBe(false);
  });
});
