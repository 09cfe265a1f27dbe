import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startProsody, type ProsodyHandle } from '@hummingbird/stack';

import {
  Element,
  formatJid,
  IqCancelledError,
  IqTimeoutError,
  NotOnlineError,
  StanzaError,
  xml,
  type ClientConnection,
  type ComponentConnection,
} from '../../src/index.js';
import { anonymousClient, focusComponent, nextStanza, serviceClient, stopAll } from './helpers.js';

const NS_TEST = 'urn:hummingbird:test:echo';
const NS_APP = 'urn:hummingbird:test:app-error';

/** A get handler on the component that echoes the payload's `value` attribute back. */
function echoPayload(value: string): Element {
  return xml('echo', { xmlns: NS_TEST, value });
}

describe('client and component exchange IQs through the router (real Prosody)', () => {
  let prosody: ProsodyHandle;
  let focus: ComponentConnection;
  let guest: ClientConnection;
  let neverAnswer: () => void = () => undefined;

  beforeAll(async () => {
    prosody = await startProsody({ users: [['jvb', 'auth.meet.test', 'jvbpass']] });
    focus = focusComponent(prosody, { iqTimeoutMs: 5_000 });
    focus.router.register(NS_TEST, 'echo', 'get', ({ payload, from }) =>
      xml('echo', { xmlns: NS_TEST, value: payload.attrs.value ?? '', from: from === undefined ? '' : formatJid(from) }),
    );
    focus.router.register(NS_TEST, 'fail', 'set', () => {
      throw new StanzaError('item-not-found', 'cancel', 'no such conference', xml('conference-not-found', { xmlns: NS_APP, id: 'c1' }));
    });
    focus.router.register(NS_TEST, 'crash', 'set', () => {
      throw new Error('database password is hunter2');
    });
    focus.router.register(NS_TEST, 'hang', 'get', () => new Promise<undefined>((resolve) => (neverAnswer = () => resolve(undefined))));
    await focus.start();
    guest = anonymousClient(prosody);
    await guest.start();
  });
  afterAll(async () => {
    neverAnswer();
    await stopAll();
    await prosody?.stop();
  });

  it('component is online as focus.<d>, the anonymous client as <random>@<d>/<resource>', () => {
    expect(focus.state).toBe('online');
    expect(focus.jid).toEqual({ domain: 'focus.meet.test' });
    expect(guest.jid?.domain).toBe('meet.test');
    expect(guest.jid?.local).toBeTruthy();
    expect(guest.jid?.resource).toBeTruthy();
  });

  it('client → component: a get is answered with the handler result, and the handler saw the real sender', async () => {
    const result = await guest.caller.get('focus.meet.test', echoPayload('hello'));
    expect(result?.is('echo', NS_TEST)).toBe(true);
    expect(result?.attrs.value).toBe('hello');
    expect(result?.attrs.from).toBe(formatJid(guest.jid ?? { domain: 'x' }));
  });

  it('error round trip: a StanzaError with an app-specific child arrives typed at the caller', async () => {
    const error = await guest.caller.set('focus.meet.test', xml('fail', { xmlns: NS_TEST })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StanzaError);
    const stanzaError = error as StanzaError;
    expect(stanzaError.condition).toBe('item-not-found');
    expect(stanzaError.type).toBe('cancel');
    expect(stanzaError.text).toBe('no such conference');
    expect(stanzaError.appSpecific?.is('conference-not-found', NS_APP)).toBe(true);
    expect(stanzaError.appSpecific?.attrs.id).toBe('c1');
  });

  it('a handler that throws anything else gives internal-server-error without its message', async () => {
    const error = (await guest.caller.set('focus.meet.test', xml('crash', { xmlns: NS_TEST })).catch((e: unknown) => e)) as StanzaError;
    expect(error).toBeInstanceOf(StanzaError);
    expect(error.condition).toBe('internal-server-error');
    expect(error.text).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });

  it('an IQ nobody handles gets service-unavailable from the router, exactly once (xmpp.js adds no second answer)', async () => {
    const stray: Element[] = [];
    const collect = (stanza: Element): void => {
      if (stanza.is('iq')) stray.push(stanza);
    };
    guest.on('stanza', collect);
    try {
      const error = (await guest.caller.get('focus.meet.test', xml('query', { xmlns: 'urn:nobody:handles:this' })).catch((e: unknown) => e)) as StanzaError;
      expect(error.condition).toBe('service-unavailable');
      // The caller consumed the first answer; a duplicate would have an unknown id and surface as a plain stanza.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stray).toEqual([]);
    } finally {
      guest.off('stanza', collect);
    }
  });

  it('a request nobody answers rejects with IqTimeoutError (a StanzaError remote-server-timeout)', async () => {
    const started = Date.now();
    const error = await guest.caller.get('focus.meet.test', xml('hang', { xmlns: NS_TEST }), { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IqTimeoutError);
    expect(error).toBeInstanceOf(StanzaError);
    expect((error as StanzaError).condition).toBe('remote-server-timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(guest.caller.pendingCount).toBe(0);
  });

  it('component → client: the client router answers (result and service-unavailable), the component caller gets it', async () => {
    guest.router.register(NS_TEST, 'echo', 'get', ({ payload }) => echoPayload(`client:${payload.attrs.value ?? ''}`));
    const to = formatJid(guest.jid ?? { domain: 'x' });
    const result = await focus.caller.get(to, echoPayload('ping'));
    expect(result?.attrs.value).toBe('client:ping');
    // An IQ from a JID of the component's own domain (a component may speak as any JID of it).
    const asFocus = await focus.caller.get(to, echoPayload('again'), { from: 'focus@focus.meet.test/focus' });
    expect(asFocus?.attrs.value).toBe('client:again');
    const unhandled = (await focus.caller.get(to, xml('query', { xmlns: 'urn:nobody' })).catch((e: unknown) => e)) as StanzaError;
    expect(unhandled.condition).toBe('service-unavailable');
  });

  it('a response with the right id from the wrong sender is ignored; the real one settles the request', async () => {
    // The component answers the client's request twice: first spoofed from another JID of its domain, then for real.
    const to = formatJid(guest.jid ?? { domain: 'x' });
    const received = nextStanza(focus, (s) => s.is('iq') && s.attrs.type === 'get' && s.getChild('spoof', NS_TEST) !== undefined);
    const unregister = focus.router.register(NS_TEST, 'spoof', 'get', () => new Promise<undefined>(() => undefined));
    try {
      const request = guest.caller.get('focus.meet.test', xml('spoof', { xmlns: NS_TEST }), { timeoutMs: 10_000 });
      const iq = await received;
      const id = iq.attrs.id ?? '';
      await focus.send(new Element('iq', { type: 'result', id, to, from: 'mallory@focus.meet.test' }).cnode(xml('spoof', { xmlns: NS_TEST, who: 'mallory' })).root());
      // Give the spoofed answer time to arrive before the real one.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(guest.caller.pendingCount).toBe(1);
      await focus.send(new Element('iq', { type: 'result', id, to, from: 'focus.meet.test' }).cnode(xml('spoof', { xmlns: NS_TEST, who: 'focus' })).root());
      expect((await request)?.attrs.who).toBe('focus');
    } finally {
      unregister();
    }
  });

  // Where each kind of malformed IQ is answered on a live connection: Prosody refuses IQs without id itself…
  it('an IQ without id is answered bad-request by Prosody before it reaches any router', async () => {
    const reply = nextStanza(guest, (s) => s.is('iq') && s.attrs.type === 'error' && s.attrs.id === undefined);
    const iq = new Element('iq', { type: 'get', to: 'focus.meet.test' });
    iq.cnode(echoPayload('no id'));
    await guest.send(iq);
    const answer = await reply;
    expect(answer.getChild('error')?.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
  });

  // …and these never reach our router either: xmpp.js's own IQ callee sits in front of it and answers them with the
  // same condition (its reply also echoes the first child). The router's own checks are unit-tested (test/iq).
  it('malformed IQs relayed by Prosody are answered bad-request (two payload children, no payload)', async () => {
    const to = 'focus.meet.test';
    for (const [id, children] of [
      ['two', [xml('a', { xmlns: NS_TEST }), xml('b', { xmlns: NS_TEST })]],
      ['none', []],
    ] as const) {
      const reply = nextStanza(guest, (s) => s.is('iq') && s.attrs.id === `malformed-${id}`);
      const iq = new Element('iq', { type: 'get', id: `malformed-${id}`, to });
      iq.append(...children);
      await guest.send(iq);
      const answer = await reply;
      expect(answer.attrs.type).toBe('error');
      expect(answer.getChild('error')?.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    }
  });

  it('a service account logs in with SCRAM over TCP and talks to the component; a WebSocket client too', async () => {
    const jvb = serviceClient(prosody, { username: 'jvb', password: 'jvbpass' });
    await jvb.start();
    expect(jvb.jid?.local).toBe('jvb');
    expect((await jvb.caller.get('focus.meet.test', echoPayload('jvb')))?.attrs.value).toBe('jvb');
    const web = anonymousClient(prosody, 'ws');
    await web.start();
    expect((await web.caller.get('focus.meet.test', echoPayload('ws')))?.attrs.value).toBe('ws');
    await Promise.all([jvb.stop(), web.stop()]);
  });

  it('saslMechanism forces the mechanism: PLAIN over loopback TCP logs in; an unoffered one fails the start', async () => {
    const plain = serviceClient(prosody, { username: 'jvb', password: 'jvbpass', saslMechanism: 'PLAIN' });
    await plain.start();
    expect(plain.jid?.local).toBe('jvb');
    await plain.stop();
    const bogus = serviceClient(prosody, { username: 'jvb', password: 'jvbpass', saslMechanism: 'X-NOPE' });
    await expect(bogus.start()).rejects.toThrow(/does not offer SASL X-NOPE/);
  });

  it('pending requests are rejected when the connection is lost; sends while not online are refused', async () => {
    const client = anonymousClient(prosody, 'tcp', { reconnect: { initialMs: 100, maxMs: 200 } });
    await client.start();
    const pending = client.caller.get('focus.meet.test', xml('hang', { xmlns: NS_TEST }), { timeoutMs: 20_000 });
    const rejected = pending.catch((e: unknown) => e);
    client.dropConnectionForTesting();
    const error = await rejected;
    expect(error).toBeInstanceOf(IqCancelledError);
    expect((error as StanzaError).condition).toBe('recipient-unavailable');
    if (client.state !== 'online') await expect(client.send(xml('presence'))).rejects.toBeInstanceOf(NotOnlineError);
    await client.stop();
    await expect(client.send(xml('presence'))).rejects.toBeInstanceOf(NotOnlineError);
  });
});
