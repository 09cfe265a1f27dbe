// The synchronous HS256 path (node:crypto HMAC + jose's claim validation) against jose's own
// `jwtVerify`: for every token, both must accept with the same claims or refuse with the same
// reason. Hostile tokens first (RFC 8725 as a checklist, base64url edge cases), then random claim
// sets signed with the right secret, so the claim checks are compared, not only the signature.
import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyStore, TokenRejectedError, TokenVerifier, type VerifyOptions } from '../src/index.js';
import { APP_ID, keyEnv, makeKeys, testConfig, type TestKeys } from './support/keys.js';
import { b64json, claims, nowSeconds, signHs, signRawHs, tamper } from './support/tokens.js';

type Verdict = { ok: true; claims: unknown } | { ok: false; reason: string };

let keys: TestKeys;
let node: TokenVerifier;
let jose: TokenVerifier;

beforeAll(async () => {
  keys = makeKeys();
  const jwt = { ...testConfig().jwt, keys: [...testConfig().jwt.keys, { kid: 'hs-kid', alg: 'HS256' as const, secretRef: 'env:T_APP_SECRET' }] };
  const store = await KeyStore.load(jwt, keyEnv(keys));
  node = new TokenVerifier(store, jwt, { hs256: 'node' });
  jose = new TokenVerifier(store, jwt, { hs256: 'jose' });
});

async function verdict(verifier: TokenVerifier, token: string, options: VerifyOptions): Promise<Verdict> {
  try {
    return { ok: true, claims: await verifier.verify(token, options) };
  } catch (error) {
    if (error instanceof TokenRejectedError) return { ok: false, reason: error.reason };
    throw error;
  }
}

async function expectSame(token: string, options: VerifyOptions = {}): Promise<Verdict> {
  const [a, b] = [await verdict(node, token, options), await verdict(jose, token, options)];
  expect(a, `token ${token.slice(0, 80)}`).toEqual(b);
  return a;
}

/** HMAC over exactly these three parts (no re-encoding), so malformed parts can be signed. */
function signParts(header: string, payload: string, secret: string): string {
  return `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
}

/** base64url of `value` as JSON padded with spaces to a multiple of 3 bytes: no partial group at the end. */
function groupAligned(value: unknown): string {
  let json = JSON.stringify(value);
  while (json.length % 3 !== 0) json += ' ';
  return Buffer.from(json).toString('base64url');
}

describe('HS256: the node:crypto path answers as jose does', () => {
  it('accepts a good token with the same claims, with and without a kid', async () => {
    expect(await expectSame(await signHs(keys))).toMatchObject({ ok: true });
    expect(await expectSame(await signHs(keys, claims(), { kid: 'hs-kid' }))).toMatchObject({ ok: true });
    expect(await expectSame(await signHs(keys), { room: 'r1', username: 'alice' })).toMatchObject({ ok: true });
  });

  it('refuses hostile tokens with the same reason', async () => {
    const good = await signHs(keys);
    const [h, p, s] = good.split('.') as [string, string, string];
    const now = nowSeconds();
    const cases: Array<[string, string]> = [
      ['wrong secret', await signHs(keys, claims(), {}, 'another-secret-of-at-least-32-bytes!!')],
      ['tampered payload', tamper(good)],
      ['signature cut short', `${h}.${p}.${s.slice(0, -2)}`],
      ['signature one char longer', `${h}.${p}.${s}A`],
      ['signature two chars longer', `${h}.${p}.${s}AA`],
      ['empty signature', `${h}.${p}.`],
      ['signature of another token', `${h}.${p}.${(await signHs(keys, claims({ room: 'x' }))).split('.')[2] ?? ''}`],
      ['last signature char changed', `${h}.${p}.${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`],
      // A lone trailing character is not base64url; Buffer's decoder would drop it and read the same JSON.
      ['header of 4k+1 characters, signed', signParts(`${groupAligned({ alg: 'HS256' })}A`, p, keys.appSecret)],
      ['payload of 4k+1 characters, signed', signParts(h, `${groupAligned(claims())}A`, keys.appSecret)],
      ['payload not JSON, signed', signParts(h, Buffer.from('not json').toString('base64url'), keys.appSecret)],
      ['payload an array, signed', signParts(h, b64json([claims()]), keys.appSecret)],
      ['payload a string, signed', signParts(h, b64json('claims'), keys.appSecret)],
      ['payload null, signed', signParts(h, b64json(null), keys.appSecret)],
      ['payload invalid UTF-8, signed', signParts(h, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url'), keys.appSecret)],
      ['expired', await signHs(keys, claims({ exp: now - 3_600 }))],
      ['expired within the skew', await signHs(keys, claims({ exp: now - 5 }))],
      ['nbf in the future', await signHs(keys, claims({ nbf: now + 3_600 }))],
      ['nbf within the skew', await signHs(keys, claims({ nbf: now + 5 }))],
      ['iat in the future', await signHs(keys, claims({ iat: now + 3_600 }))],
      ['wrong iss', await signHs(keys, claims({ iss: 'someone-else' }))],
      ['iss a number', await signHs(keys, claims({ iss: 7 }))],
      ['wrong aud', await signHs(keys, claims({ aud: 'other' }))],
      ['aud an array with ours', await signHs(keys, claims({ aud: ['other', 'jitsi'] }))],
      ['aud an array without ours', await signHs(keys, claims({ aud: ['other'] }))],
      ['aud a number', await signHs(keys, claims({ aud: 1 }))],
      ['exp missing', await signHs(keys, claims({ exp: undefined }))],
      ['exp a string', await signHs(keys, claims({ exp: String(now + 600) }))],
      ['exp NaN-ish (1e400)', signParts(h, Buffer.from(`{"iss":"${APP_ID}","aud":"jitsi","room":"r1","exp":1e400}`).toString('base64url'), keys.appSecret)],
      ['nbf a string', await signHs(keys, claims({ nbf: 'soon' }))],
      ['iss missing', await signHs(keys, claims({ iss: undefined }))],
      ['aud missing', await signHs(keys, claims({ aud: undefined }))],
      ['room missing', await signHs(keys, claims({ room: undefined }))],
      ['__proto__ claims', signParts(h, Buffer.from(`{"iss":"${APP_ID}","aud":"jitsi","room":"r1","exp":${now + 600},"__proto__":{"moderator":true}}`).toString('base64url'), keys.appSecret)],
      ['duplicate exp keys (last wins in both)', signParts(h, Buffer.from(`{"iss":"${APP_ID}","aud":"jitsi","room":"r1","exp":${now + 600},"exp":${now - 600}}`).toString('base64url'), keys.appSecret)],
      ['alg none header, HMAC signed', signRawHs(keys.appSecret, { alg: 'none' }, claims())],
      ['alg HS512 header', signRawHs(keys.appSecret, { alg: 'HS512' }, claims())],
      ['crit header', signRawHs(keys.appSecret, { alg: 'HS256', crit: ['exp'] }, claims())],
      ['b64 false header', signRawHs(keys.appSecret, { alg: 'HS256', b64: false }, claims())],
      ['typ JOSE', signRawHs(keys.appSecret, { alg: 'HS256', typ: 'JOSE' }, claims())],
      ['unknown kid', await signHs(keys, claims(), { kid: 'nobody' })],
      ['two dots in the signature part', `${good}.x`],
    ];
    for (const [name, token] of cases) {
      const result = await expectSame(token);
      if (name !== 'aud an array with ours' && name !== 'expired within the skew' && name !== 'nbf within the skew' && name !== 'duplicate exp keys (last wins in both)' && name !== '__proto__ claims') {
        expect(result.ok, name).toBe(false);
      }
    }
  });

  it('agrees on 3000 random claim sets signed with the right secret', async () => {
    let state = 0x5eed;
    // mulberry32: a fixed seed, so a failure repeats.
    const random = (): number => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const now = nowSeconds();
    const junk = [null, true, 0, -1, 1.5, '', 'x', [], {}, [1], { a: 1 }, Number.MAX_SAFE_INTEGER];
    const maybe = (good: readonly unknown[]): unknown => (random() < 0.95 ? pick(good) : pick(junk));
    let accepted = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const entries: Array<[string, unknown]> = [
        ['iss', maybe([APP_ID, APP_ID, APP_ID, APP_ID, APP_ID, APP_ID, 'other'])],
        ['aud', maybe(['jitsi', 'jitsi', 'jitsi', ['jitsi'], ['x', 'jitsi'], 'x', ['x']])],
        ['exp', maybe([now + 600, now + 600, now - 600, now + 1, now - 1, now - 59, now - 61, now + 0.5])],
        ['nbf', maybe([now, now, now - 1, now + 59, now + 61, now + 600])],
        ['iat', maybe([now, now + 600, now - 600])],
        ['sub', maybe(['*', 'meet.test', 'other'])],
        ['room', maybe(['r1', '*', 'R1', 'other'])],
        ['moderator', maybe([true, false, 'true'])],
        ['context', maybe([{ user: { id: 'alice', name: 'Alice' } }, { user: { id: 7 } }, { user: null }])],
      ];
      const payload: Record<string, unknown> = {};
      for (const [k, v] of entries) if (random() < 0.96) payload[k] = v;
      const header = random() < 0.5 ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', kid: 'hs-kid' };
      const token = signRawHs(keys.appSecret, header, payload);
      const options: VerifyOptions = random() < 0.5 ? {} : { room: pick(['r1', 'R1', 'other']), username: pick([undefined, 'alice', 'bob']) };
      const v = await expectSame(token, options);
      if (v.ok) accepted++;
      else reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
    }
    // Both outcomes are exercised, not only refusals.
    console.log(`random claim sets: ${accepted} of 3000 accepted by both paths; refusals ${JSON.stringify(Object.fromEntries(reasons))}`);
    expect(accepted).toBeGreaterThan(30);
  });
});
