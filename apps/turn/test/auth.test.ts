import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { mintRestCredentials, RestAuthenticator, restPassword } from '../src/auth.js';
import { decodeStun, encodeStun, longTermKey } from '../src/stun/codec.js';
import { Attr, MessageClass, Method } from '../src/stun/constants.js';
import type { TurnServerHandle, TurnServerOptions } from '../src/server.js';
import { TurnTestClient } from './helpers/client.js';
import { REALM, SECRET, startTestServer } from './helpers/server.js';

/** spec/turn.md §5 auth matrix: expired, wrong HMAC, prototype-key usernames, stale nonce → 401/438; quotas → 486. */

let server: TurnServerHandle | undefined;
const clients: TurnTestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<TurnServerOptions> = {}): Promise<TurnServerHandle> {
  server = await startTestServer(overrides);
  return server;
}

async function udpClient(s: TurnServerHandle): Promise<TurnTestClient> {
  const client = await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: s.ports.udp });
  clients.push(client);
  return client;
}

describe('the 401 challenge', () => {
  it('an Allocate without MESSAGE-INTEGRITY gets 401 with REALM and a NONCE, and no integrity of its own', async () => {
    const s = await start();
    const client = await udpClient(s);
    const response = await client.request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]], { auth: false });
    expect(response.error?.code).toBe(401);
    expect(response.message.attributes.get(Attr.Realm)?.toString()).toBe(REALM);
    expect(response.message.attributes.get(Attr.Nonce)?.length).toBeGreaterThan(16);
    expect(response.message.integrityOffset).toBe(-1);
    expect(response.message.hasFingerprint).toBe(true);
  });
});

describe('auth matrix (every case is refused, none allocates)', () => {
  const cases: Array<[string, (c: TurnTestClient) => void, number]> = [
    ['expired credentials', (c) => Object.assign(c, mintRestCredentials(SECRET, 'alice', -10)), 401],
    ['wrong HMAC (other secret)', (c) => Object.assign(c, mintRestCredentials('another-secret-0123456789', 'alice', 3600)), 401],
    ['wrong HMAC (password of another username)', (c) => {
      const other = mintRestCredentials(SECRET, 'bob', 3600);
      Object.assign(c, { username: mintRestCredentials(SECRET, 'alice', 3600).username, password: other.password });
    }, 401],
    ['username __proto__, password [object Object]', (c) => Object.assign(c, { username: '__proto__', password: '[object Object]' }), 401],
    ['username constructor, password function Object() { [native code] }', (c) => Object.assign(c, { username: 'constructor', password: 'function Object() { [native code] }' }), 401],
    ['username toString', (c) => Object.assign(c, { username: 'toString', password: 'function toString() { [native code] }' }), 401],
    ['username hasOwnProperty', (c) => Object.assign(c, { username: 'hasOwnProperty', password: '' }), 401],
    ['username <expiry>:__proto__ signed with a wrong secret', (c) => Object.assign(c, { username: `${Math.floor(Date.now() / 1000) + 60}:__proto__`, password: '[object Object]' }), 401],
    ['username without expiry', (c) => Object.assign(c, { username: 'alice', password: restPassword(SECRET, 'alice') }), 401],
    ['empty username', (c) => Object.assign(c, { username: '', password: '' }), 401],
    ['over-long username', (c) => {
      const username = `${Math.floor(Date.now() / 1000) + 60}:${'x'.repeat(600)}`;
      Object.assign(c, { username, password: restPassword(SECRET, username) });
    }, 401],
  ];

  it.each(cases)('%s → %i', async (_name, setup, code) => {
    const s = await start();
    const client = await udpClient(s);
    setup(client);
    const response = await client.allocate();
    expect(response.error?.code).toBe(code);
    expect(s.metrics.allocations).toBe(0);
    expect(s.metrics.refusals.unauthorized).toBeGreaterThanOrEqual(2);
  });

  it('a forged nonce → 438 with a fresh nonce; a stale one (nonce lifetime 1 s) → 438; then the client recovers', async () => {
    const s = await start({ lifetimes: { nonceSec: 1 } });
    const client = (await udpClient(s)).withCredentials(SECRET);
    client.realm = REALM;
    client.nonce = `0000000000${'0'.repeat(32)}`;
    const tid = randomBytes(12);
    const raw = encodeStun(Method.Allocate, MessageClass.Request, tid, [
      [Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])],
      [Attr.Username, Buffer.from(client.username!)],
      [Attr.Realm, Buffer.from(REALM)],
      [Attr.Nonce, Buffer.from(client.nonce)],
    ], { integrityKey: client.key });
    const forged = decodeStun(await client.transact(raw, tid));
    if (!forged.ok) throw new Error('bad response');
    expect(forged.message.attributes.get(Attr.ErrorCode)?.[3]).toBe(38);
    expect(forged.message.attributes.get(Attr.ErrorCode)?.[2]).toBe(4);
    const freshNonce = forged.message.attributes.get(Attr.Nonce)?.toString('latin1');
    expect(freshNonce).toMatch(/^[0-9a-f]{42}$/);

    // Use the nonce once (success), let it go stale, replay it.
    client.nonce = freshNonce;
    expect((await client.request(Method.Binding, [], { auth: false })).cls).toBe(2);
    await new Promise((r) => setTimeout(r, 2_100));
    const staleTid = randomBytes(12);
    const stale = decodeStun(await client.transact(encodeStun(Method.Allocate, MessageClass.Request, staleTid, [
      [Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])],
      [Attr.Username, Buffer.from(client.username!)],
      [Attr.Realm, Buffer.from(REALM)],
      [Attr.Nonce, Buffer.from(freshNonce!)],
    ], { integrityKey: client.key }), staleTid));
    if (!stale.ok) throw new Error('bad response');
    expect(stale.message.attributes.get(Attr.ErrorCode)?.[3]).toBe(38);
    expect(s.metrics.refusals['stale-nonce']).toBe(2);
    expect(s.metrics.allocations).toBe(0);
    // The standard client path takes the new nonce and succeeds.
    expect((await client.allocate()).cls).toBe(2);
  });

  it('a wrong REALM → 401', async () => {
    const s = await start();
    const client = (await udpClient(s)).withCredentials(SECRET);
    client.realm = 'evil.example';
    const first = await client.allocate(); // 401 → takes the nonce, keeps its own realm
    expect(first.error?.code).toBe(401);
  });
});

describe('secret rotation', () => {
  it('credentials signed with any configured secret work; a removed secret does not', async () => {
    const OLD = 'old-secret-0123456789abcdef';
    const s = await start({ secrets: [SECRET, OLD] });
    for (const secret of [SECRET, OLD]) {
      const client = (await udpClient(s)).withCredentials(secret, `user-${secret.slice(0, 3)}`);
      const response = await client.allocate();
      expect(response.cls).toBe(2);
      expect(response.integrityOk).toBe(true);
    }
    await s.close();
    const rotated = await start({ secrets: [SECRET] });
    const client = (await udpClient(rotated)).withCredentials(OLD);
    expect((await client.allocate()).error?.code).toBe(401);
  });

  it('Prosody-style usernames without a user part ("<expiry>") are accepted', async () => {
    const s = await start();
    const client = (await udpClient(s)).withCredentials(SECRET, null);
    expect(client.username).toMatch(/^\d+$/);
    expect((await client.allocate()).cls).toBe(2);
  });
});

describe('quotas', () => {
  it('allocations per user: the excess gets 486 (with integrity); other users are unaffected', async () => {
    const s = await start({ quotas: { allocationsPerUser: 3 } });
    const username = mintRestCredentials(SECRET, 'carol', 3600);
    const results: number[] = [];
    for (let i = 0; i < 5; i++) {
      const client = await udpClient(s);
      Object.assign(client, username);
      const response = await client.allocate();
      results.push(response.error?.code ?? 200);
      if (response.error !== undefined) expect(response.integrityOk).toBe(true);
    }
    expect(results).toEqual([200, 200, 200, 486, 486]);
    const other = (await udpClient(s)).withCredentials(SECRET, 'dave');
    expect((await other.allocate()).cls).toBe(2);
    expect(s.metrics.refusals['quota-user']).toBe(2);
  });

  it('allocations in total: 486 once the process is full; a Refresh(0) frees a slot', async () => {
    const s = await start({ quotas: { allocationsTotal: 2 } });
    const a = (await udpClient(s)).withCredentials(SECRET, 'u1');
    const b = (await udpClient(s)).withCredentials(SECRET, 'u2');
    const c = (await udpClient(s)).withCredentials(SECRET, 'u3');
    expect((await a.allocate()).cls).toBe(2);
    expect((await b.allocate()).cls).toBe(2);
    expect((await c.allocate()).error?.code).toBe(486);
    expect((await a.refresh(0)).cls).toBe(2);
    expect((await c.allocate()).cls).toBe(2);
    expect(s.metrics.refusals['quota-total']).toBe(1);
  });

  it('unauthenticated requests are rate-limited per source IP: the excess is dropped and counted', async () => {
    const s = await start({ quotas: { unauthenticatedPerSecond: 0.1, unauthenticatedBurst: 5 } });
    const client = await udpClient(s);
    // All at once; each waits 3 s (its UDP retransmissions are refused by the empty bucket too).
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => {
        const tid = randomBytes(12);
        const raw = encodeStun(Method.Binding, MessageClass.Request, tid, []);
        return Promise.race([client.transact(raw, tid), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3_000))]);
      }),
    );
    const answered = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(answered).toBe(5);
    expect(s.metrics.drops['rate-limited']).toBeGreaterThanOrEqual(3);
  });

  it('another username on an existing allocation → 441 for Refresh, CreatePermission and ChannelBind', async () => {
    const s = await start();
    const client = (await udpClient(s)).withCredentials(SECRET, 'erin');
    expect((await client.allocate()).cls).toBe(2);
    client.withCredentials(SECRET, 'mallory');
    const response = await client.refresh(600);
    expect(response.error?.code).toBe(441);
    expect(response.integrityOk).toBe(true);
    expect((await client.createPermission({ family: 4, address: '8.8.8.8', port: 1 })).error?.code).toBe(441);
    expect((await client.channelBind(0x4000, { family: 4, address: '8.8.8.8', port: 1 })).error?.code).toBe(441);
  });

  it('an Allocate on a 5-tuple that has an allocation → 437 whatever the username (RFC 8656 §7.2)', async () => {
    const s = await start();
    const client = (await udpClient(s)).withCredentials(SECRET, 'erin');
    const tid = randomBytes(12);
    expect((await client.allocate({ transactionId: tid })).cls).toBe(2);
    expect((await client.allocate()).error?.code).toBe(437);
    client.withCredentials(SECRET, 'mallory');
    const other = await client.allocate();
    expect(other.error?.code).toBe(437);
    expect(other.integrityOk).toBe(true);
    // Even a replayed transaction ID gets no copy of erin's Allocate answer under another name.
    expect((await client.allocate({ transactionId: tid })).error?.code).toBe(437);
    expect(s.metrics.allocations).toBe(1);
  });
});

describe('RestAuthenticator (unit)', () => {
  it('nonces are bound to the client IP, expire, and reject tampering', () => {
    let now = 1_700_000_000_000;
    const auth = new RestAuthenticator({ realm: 'r', secrets: [SECRET], nonceLifetimeSec: 10, now: () => now });
    const nonce = auth.makeNonce('192.0.2.1');
    expect(auth.checkNonce(nonce, '192.0.2.1')).toBe('ok');
    expect(auth.checkNonce(nonce, '192.0.2.2')).toBe('invalid');
    expect(auth.checkNonce(nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0'), '192.0.2.1')).toBe('invalid');
    expect(auth.checkNonce(`${nonce}0`, '192.0.2.1')).toBe('invalid');
    expect(auth.checkNonce('ZZ' + nonce.slice(2), '192.0.2.1')).toBe('invalid');
    now += 11_000;
    expect(auth.checkNonce(nonce, '192.0.2.1')).toBe('stale');
  });

  it('parses REST usernames strictly and derives one key per secret', () => {
    const now = 1_700_000_000_000;
    const auth = new RestAuthenticator({ realm: 'r', secrets: [SECRET, 'second-secret-0123456789'], nonceLifetimeSec: 10, now: () => now });
    const good = auth.credentials('1700000100:alice');
    expect(good.ok && good.keys.length).toBe(2);
    if (good.ok) expect(good.keys[0]).toEqual(longTermKey('1700000100:alice', 'r', restPassword(SECRET, '1700000100:alice')));
    expect(auth.credentials('1699999999:alice')).toEqual({ ok: false, reason: 'expired' });
    for (const bad of ['__proto__', 'constructor', 'alice:1700000100', ':alice', '1700000100:', '1700000100:a\nb', '-1:alice', '1e10:alice']) {
      expect(auth.credentials(bad), bad).toEqual({ ok: false, reason: 'malformed-username' });
    }
    expect(() => new RestAuthenticator({ realm: 'r', secrets: [], nonceLifetimeSec: 1 })).toThrow(TypeError);
    expect(() => new RestAuthenticator({ realm: 'r', secrets: ['short'], nonceLifetimeSec: 1 })).toThrow(TypeError);
  });
});
