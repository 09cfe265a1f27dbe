import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { xml, type Client, type Element } from '@xmpp/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMS_ELEMENT } from '../src/index.js';
import { guestLogin, login, nextStanza, plainLogin, stopClients, startTokenStack, urlTokenLogin, type TokenStack } from './support/stack.js';
import { claims, nowSeconds, rsConfused, signHs, tamper, unsecured } from './support/tokens.js';

// Acceptance (issue 4): a real Prosody with the Hummingbird plugin, logins by SASL PLAIN and by
// lib-jitsi-meet's ?token= over WebSocket; refusals logged by the token service with their reason
// and without the token; claims stamped into presence; forged copies stripped; XEP-0215.

let stack: TokenStack;
beforeAll(async () => {
  stack = await startTokenStack();
});
afterEach(async () => {
  await stopClients();
});
afterAll(async () => {
  await stack?.close();
});

async function mint(body: Record<string, unknown>): Promise<string> {
  const reply = await stack.token.api.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: `Bearer ${stack.keys.issueKey}` }, payload: body });
  expect(reply.statusCode).toBe(200);
  return reply.json<{ token: string }>().token;
}

/** The token service's "token rejected" lines (parsed) logged since `from`. */
function rejections(from: number): { reason: string; host?: string; room?: string }[] {
  return stack.logLines
    .slice(from)
    .map((l) => JSON.parse(l) as { msg: string; reason: string; host?: string; room?: string })
    .filter((l) => l.msg.startsWith('token rejected'));
}

function join(c: Client, room: string, nick: string, ...children: Element[]): Promise<void> {
  return c.send(xml('presence', { to: `${room}@conference.meet.test/${nick}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }), ...children));
}

function presenceFrom(c: Client, room: string, nick: string): Promise<Element> {
  return nextStanza(c, (s) => s.name === 'presence' && s.attrs['from'] === `${room}@conference.meet.test/${nick}` && s.attrs['type'] === undefined);
}

describe('login', () => {
  it('a valid token logs in with SASL PLAIN (username = context.user.id) over TCP', async () => {
    const jwt = await mint({ room: 'r1', user: { id: 'alice', name: 'Alice' } });
    const alice = await plainLogin(stack, 'alice', jwt);
    expect(alice.jid?.toString()).toMatch(/^alice@meet\.test\//);
  });

  it('a valid token logs in with ?token= on the WebSocket URL and SASL ANONYMOUS, as lib-jitsi-meet does', async () => {
    const jwt = await mint({ room: 'r1', user: { id: 'bob', name: 'Bob' } });
    const bob = await urlTokenLogin(stack, jwt);
    expect(bob.jid?.domain).toBe('meet.test');
    expect(bob.jid?.local).toMatch(/^[a-z0-9_-]+$/);
  });

  it('a valid token logs in with ?token= on the BOSH URL and SASL ANONYMOUS; a bad one is refused', async () => {
    const bosh = `http://127.0.0.1:${stack.prosody.ports.http}/http-bind`;
    const post = async (url: string, body: string): Promise<string> => {
      const reply = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body });
      return reply.text();
    };
    const attempt = async (jwt: string): Promise<string> => {
      const url = `${bosh}?room=r1&token=${encodeURIComponent(jwt)}`;
      // BOSH request ids must be consecutive (XEP-0124 §14.1).
      let rid = 1_000_000 + Math.floor(Math.random() * 1_000_000);
      const created = await post(url, `<body rid='${rid++}' to='meet.test' xml:lang='en' wait='10' hold='1' ver='1.6' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'/>`);
      const sid = /sid=['"]([^'"]+)['"]/.exec(created)?.[1];
      expect(sid).toBeDefined();
      let features = created;
      if (!features.includes('<mechanisms')) features = await post(bosh, `<body rid='${rid++}' sid='${sid}' xmlns='http://jabber.org/protocol/httpbind'/>`);
      expect(features).toContain('<mechanism>ANONYMOUS</mechanism>');
      const auth = `<body rid='${rid++}' sid='${sid}' xmlns='http://jabber.org/protocol/httpbind'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/></body>`;
      const answer = await post(bosh, auth);
      await post(bosh, `<body rid='${rid++}' sid='${sid}' type='terminate' xmlns='http://jabber.org/protocol/httpbind'/>`).catch(() => '');
      return answer;
    };
    expect(await attempt(await mint({ room: 'r1', user: { id: 'dave' } }))).toContain('<success');
    const from = stack.logLines.length;
    const refused = await attempt(await signHs(stack.keys, claims({ exp: nowSeconds() - 3600, nbf: nowSeconds() - 7200, iat: nowSeconds() - 7200 })));
    expect(refused).toContain('<not-authorized/>');
    expect(refused).toContain('token rejected: expired');
    expect(rejections(from).map((r) => r.reason)).toEqual(['expired']);
  });

  it('without a token nobody gets in on the token host: ANONYMOUS is not offered, and a token-less WebSocket login fails', async () => {
    const features = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: stack.prosody.ports.c2s });
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (received.includes('</stream:features>')) {
          socket.end('</stream:stream>');
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.write("<?xml version='1.0'?><stream:stream to='meet.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    });
    expect(features).toContain('<mechanism>PLAIN</mechanism>');
    expect(features).not.toContain('ANONYMOUS');
    await expect(login({ service: `ws://127.0.0.1:${stack.prosody.ports.http}/xmpp-websocket`, domain: 'meet.test' })).rejects.toThrow();
  });

  it("alice's token does not log in as mallory (PLAIN username bound to the token)", async () => {
    const jwt = await mint({ room: 'r1', user: { id: 'alice' } });
    const from = stack.logLines.length;
    await expect(plainLogin(stack, 'mallory', jwt)).rejects.toThrow(/not-authorized/);
    expect(rejections(from).map((r) => r.reason)).toEqual(['username_mismatch']);
  });

  const now = nowSeconds();
  const refused: [string, string, (s: TokenStack) => Promise<string> | string][] = [
    ['expired', 'expired', (s) => signHs(s.keys, claims({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 }))],
    ['wrong aud', 'wrong_aud', (s) => signHs(s.keys, claims({ aud: 'someone-else' }))],
    ['wrong iss', 'wrong_iss', (s) => signHs(s.keys, claims({ iss: 'evil-app' }))],
    ['tampered', 'bad_signature', async (s) => tamper(await signHs(s.keys))],
    ['alg none', 'alg_not_allowed', () => unsecured()],
    ['HS/RS confused', 'alg_not_allowed', (s) => rsConfused(s.keys)],
  ];
  for (const [name, reason, make] of refused) {
    it(`refuses a ${name} token on both paths; the token service logs "${reason}" and never the token`, async () => {
      const jwt = await make(stack);
      const from = stack.logLines.length;
      await expect(urlTokenLogin(stack, jwt)).rejects.toThrow(new RegExp(`not-authorized - token rejected: ${reason}`));
      await expect(plainLogin(stack, 'alice', jwt)).rejects.toThrow(/not-authorized/);
      expect(rejections(from).map((r) => r.reason)).toEqual([reason, reason]);
      expect(rejections(from)[0]?.host).toBe('meet.test');
      const logged = stack.logLines.slice(from).join('\n') + stack.prosody.log();
      expect(logged).not.toContain(jwt);
      expect(logged).not.toContain(stack.keys.apiKey);
      // Not even the signature part alone.
      const signature = jwt.split('.')[2] as string;
      if (signature.length > 0) expect(logged).not.toContain(signature);
    });
  }

  it('refuses an oversized token (larger than jwt.maxTokenBytes, here 4096) on both paths, logged as too_large', async () => {
    const jwt = await signHs(stack.keys, claims({ context: { user: { id: 'alice', name: 'A'.repeat(3_000) } } }));
    expect(jwt.length).toBeGreaterThan(4096);
    const from = stack.logLines.length;
    await expect(urlTokenLogin(stack, jwt)).rejects.toThrow(/token rejected: too_large/);
    await expect(plainLogin(stack, 'alice', jwt)).rejects.toThrow(/token rejected: too_large/);
    expect(rejections(from).map((r) => r.reason)).toEqual(['too_large', 'too_large']);
    expect(stack.logLines.slice(from).join('\n') + stack.prosody.log()).not.toContain(jwt.split('.')[2]);
  });

  it('a wrong-room token logs in but cannot join another room (not-allowed), logged as room_mismatch', async () => {
    const jwt = await mint({ room: 'allowed-room', user: { id: 'carol' } });
    const carol = await urlTokenLogin(stack, jwt);
    const from = stack.logLines.length;
    const error = nextStanza(carol, (s) => s.name === 'presence' && s.attrs['type'] === 'error');
    await join(carol, 'other-room', 'carol');
    const stanza = await error;
    expect(stanza.getChild('error')?.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    expect(rejections(from)).toEqual([expect.objectContaining({ reason: 'room_mismatch', room: 'other-room' })]);
    // The room the token names works, whatever its case in the token (docs/jwt.md room rules).
    const self = presenceFrom(carol, 'allowed-room', 'carol');
    await join(carol, 'Allowed-Room', 'carol');
    expect((await self).getChild(CLAIMS_ELEMENT.name, CLAIMS_ELEMENT.xmlns)?.attrs['room']).toBe('allowed-room');
  });
});

describe('claims in presence', () => {
  it('stamps verified claims, strips forged ones from a guest and from a token user', async () => {
    const room = 'stamped';
    const alice = await urlTokenLogin(stack, await mint({ room, user: { id: 'alice', name: 'Alice', avatar: 'https://a/x.png', email: 'a@x' }, moderator: true }));
    const bob = await plainLogin(stack, 'bob', await mint({ room: '*', user: { id: 'bob', name: 'Bob' }, moderator: false }));
    const guest = await guestLogin(stack);
    expect(guest.jid?.domain).toBe('guest.meet.test');

    const forged = (): Element => xml(CLAIMS_ELEMENT.name, { xmlns: CLAIMS_ELEMENT.xmlns, moderator: 'true', room: '*', name: 'Boss' });
    const aliceSelf = presenceFrom(alice, room, 'alice');
    await join(alice, room, 'alice', forged());
    const own = (await aliceSelf).getChildren(CLAIMS_ELEMENT.name, CLAIMS_ELEMENT.xmlns);
    expect(own).toHaveLength(1);
    expect(own[0]?.attrs).toMatchObject({ moderator: 'true', room, name: 'Alice', id: 'alice', avatar: 'https://a/x.png', sub: '*' });
    expect(own[0]?.attrs['email']).toBeUndefined();

    const bobSeen = presenceFrom(alice, room, 'bob');
    await join(bob, room, 'bob', forged());
    const bobClaims = (await bobSeen).getChildren(CLAIMS_ELEMENT.name, CLAIMS_ELEMENT.xmlns);
    expect(bobClaims).toHaveLength(1);
    expect(bobClaims[0]?.attrs).toMatchObject({ moderator: 'false', name: 'Bob', room: '*' });

    const guestSeen = presenceFrom(alice, room, 'guest');
    await join(guest, room, 'guest', forged());
    const guestPresence = await guestSeen;
    expect(guestPresence.getChildren(CLAIMS_ELEMENT.name, CLAIMS_ELEMENT.xmlns)).toHaveLength(0);
    // The guest is in the room (its presence arrived) — guests keep working on the guest host.
    expect(guestPresence.getChild('x', 'http://jabber.org/protocol/muc#user')).toBeDefined();

    // A later presence update (as ljm sends on mute) keeps exactly one, verified, copy.
    const update = presenceFrom(alice, room, 'bob');
    await bob.send(xml('presence', { to: `${room}@conference.meet.test/bob` }, forged(), xml('status', {}, 'muted')));
    expect((await update).getChildren(CLAIMS_ELEMENT.name, CLAIMS_ELEMENT.xmlns).map((e) => e.attrs['moderator'])).toEqual(['false']);
  });
});

describe('XEP-0215', () => {
  it('external services give TURN credentials that verify against the shared secret, as /v1/turn-credentials does', async () => {
    const alice = await urlTokenLogin(stack, await mint({ room: 'r1', user: { id: 'alice' } }));
    const reply = await alice.iqCaller.get(xml('services', { xmlns: 'urn:xmpp:extdisco:2' }), 'meet.test');
    const turn = reply.getChildren('service').filter((s) => s.attrs['type'] === 'turn' || s.attrs['type'] === 'turns');
    expect(turn.length).toBeGreaterThanOrEqual(3);
    for (const service of turn) {
      const { username, password } = service.attrs as { username: string; password: string };
      expect(Number(username.split(':')[0])).toBeGreaterThan(nowSeconds());
      expect(password).toBe(createHmac('sha1', stack.keys.turnSecret).update(username).digest('base64'));
    }
    const http = await stack.token.api.inject({ url: '/v1/turn-credentials?user=alice', headers: { authorization: `Bearer ${stack.keys.issueKey}` } });
    const creds = http.json<{ username: string; password: string }>();
    expect(creds.password).toBe(createHmac('sha1', stack.keys.turnSecret).update(creds.username).digest('base64'));
  });
});
