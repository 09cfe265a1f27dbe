import { createPrivateKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { createLogger } from '@hummingbird/service';
import { exportJWK, SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildComponents, buildTokenApi, REJECT_REASONS, type RejectReason } from '../src/index.js';
import { TokenMetrics } from '../src/metrics.js';
import { keyEnv, makeKeys, testConfig, type TestKeys } from './support/keys.js';
import { b64json, claims, nowSeconds, rsConfused, signHs, signRawHs, signRs, tamper, unsecured } from './support/tokens.js';

// The JWT attack matrix (issue 4 acceptance), with RFC 8725 ("JWT Best Current Practices") §2–3 as
// the checklist. Every case goes through POST /v1/verify as Prosody calls it and must come back
// 401 HB_ERR_TOKEN_REJECTED with the expected machine-readable reason.

let keys: TestKeys;
let api: ReturnType<typeof buildTokenApi>;
beforeAll(async () => {
  keys = makeKeys();
  const config = testConfig({ jwt: { subjects: ['tenant-a'], maxTokenBytes: 4096 } });
  const components = await buildComponents(config, keyEnv(keys));
  api = buildTokenApi({ config, metrics: new TokenMetrics(new Registry()), logger: createLogger({ name: 'token', level: 'silent' }), ...components });
});

const now = nowSeconds();
const ok = (o: Record<string, unknown> = {}) => claims({ sub: 'tenant-a', ...o });
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

interface Case {
  /** RFC 8725 section the case exercises. */
  rfc: string;
  name: string;
  reason: RejectReason;
  token: () => Promise<string> | string;
  room?: string;
  username?: string;
}

const cases: Case[] = [
  { rfc: '§2.1 / §3.1', name: 'alg "none", no signature', reason: 'alg_not_allowed', token: () => unsecured(ok()) },
  { rfc: '§2.1 / §3.1', name: 'alg "None" (case variant), no signature', reason: 'alg_not_allowed', token: () => unsecured(ok(), { alg: 'None' }) },
  { rfc: '§2.1 / §3.1', name: 'alg "none" with a kid of an RS256 key', reason: 'alg_not_allowed', token: () => unsecured(ok(), { alg: 'none', kid: 'rs-2026' }) },
  { rfc: '§2.1 / §3.1', name: 'alg "none" with the HS256 signature left on', reason: 'alg_not_allowed', token: async () => {
    const [, p, s] = (await signHs(keys, ok())).split('.');
    return `${b64json({ alg: 'none' })}.${p}.${s}`;
  } },
  { rfc: '§2.1 / §3.1', name: 'HS256 with the RSA public key as HMAC secret (kid of the RS key)', reason: 'alg_not_allowed', token: () => rsConfused(keys, ok()) },
  { rfc: '§2.1 / §3.1', name: 'RS256 signed by an attacker key, no kid (app secret is HS256)', reason: 'alg_not_allowed', token: () =>
    new SignJWT(ok()).setProtectedHeader({ alg: 'RS256' }).sign(attacker.privateKey) },
  { rfc: '§2.1 / §3.1', name: 'ES256 header on the RS256 key id', reason: 'alg_not_allowed', token: () =>
    new SignJWT(ok()).setProtectedHeader({ alg: 'ES256', kid: 'rs-2026' }).sign(createPrivateKey(keys.ec.privateKey)) },
  { rfc: '§2.1 / §3.1', name: 'HS384 with the app secret (only HS256 is pinned)', reason: 'alg_not_allowed', token: () =>
    new SignJWT(ok()).setProtectedHeader({ alg: 'HS384' }).sign(createSecretKey(Buffer.from(keys.appSecret))) },
  { rfc: '§2.1', name: 'RS256 by an attacker key under our kid', reason: 'bad_signature', token: () =>
    new SignJWT(ok()).setProtectedHeader({ alg: 'RS256', kid: 'rs-2026' }).sign(attacker.privateKey) },
  { rfc: '§2.1', name: 'payload tampered after signing', reason: 'bad_signature', token: async () => tamper(await signHs(keys, ok())) },
  { rfc: '§2.1', name: 'signature stripped (empty third part)', reason: 'bad_signature', token: async () => `${(await signHs(keys, ok())).split('.').slice(0, 2).join('.')}.` },
  { rfc: '§2.1', name: 'HS256 with a guessed weak secret', reason: 'bad_signature', token: () => signHs(keys, ok(), {}, 'secret') },
  { rfc: '§2.6 / §3.10', name: 'embedded "jwk" header carrying the attacker key', reason: 'unsupported_header', token: async () =>
    new SignJWT(ok()).setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(attacker.publicKey) }).sign(attacker.privateKey) },
  { rfc: '§2.6 / §3.10', name: '"jku" header pointing at an attacker JWKS', reason: 'unsupported_header', token: () => signHs(keys, ok(), { jku: 'https://evil.example/jwks.json' }) },
  { rfc: '§2.6 / §3.10', name: '"x5u" header pointing at an attacker certificate', reason: 'unsupported_header', token: () => signHs(keys, ok(), { x5u: 'https://evil.example/cert.pem' }) },
  { rfc: '§2.6', name: 'kid with path traversal', reason: 'unknown_kid', token: () => signHs(keys, ok(), { kid: '../../../../etc/passwd' }) },
  { rfc: '§2.6', name: 'kid with SQL injection', reason: 'unknown_kid', token: () => signHs(keys, ok(), { kid: "x' OR '1'='1" }) },
  { rfc: '§2.6', name: 'kid that is not a string', reason: 'malformed', token: () => signHs(keys, ok(), { kid: 7 as unknown as string }) },
  { rfc: '§2.8 / §3.11', name: 'nested JWT ("cty": "JWT")', reason: 'unsupported_header', token: () => signHs(keys, ok(), { cty: 'JWT' }) },
  { rfc: '§3.11', name: 'explicit "typ" of another token kind', reason: 'unsupported_header', token: () => signHs(keys, ok(), { typ: 'secevent+jwt' }) },
  { rfc: '§2.7 / RFC 7515 §4.1.11', name: 'unknown critical header', reason: 'unsupported_header', token: () => signRawHs(keys.appSecret, { alg: 'HS256', crit: ['exp-ext'], 'exp-ext': 1 }, ok()) },
  { rfc: '§2.7', name: 'unencoded payload option (b64: false)', reason: 'unsupported_header', token: () => signRawHs(keys.appSecret, { alg: 'HS256', b64: false, crit: ['b64'] }, ok()) },
  { rfc: '§3.9', name: 'audience of another service', reason: 'wrong_aud', token: () => signHs(keys, ok({ aud: 'other-service' })) },
  { rfc: '§3.9', name: 'audience missing', reason: 'wrong_aud', token: () => signHs(keys, ok({ aud: undefined })) },
  { rfc: '§3.8', name: 'issuer of another app', reason: 'wrong_iss', token: () => signHs(keys, ok({ iss: 'other-app' })) },
  { rfc: '§3.8', name: 'issuer missing', reason: 'wrong_iss', token: () => signHs(keys, ok({ iss: undefined })) },
  { rfc: '§3.10 (claims)', name: 'subject of another tenant', reason: 'wrong_sub', token: () => signHs(keys, ok({ sub: 'tenant-b' })) },
  { rfc: 'RFC 7519 §4.1.4', name: 'expired beyond the clock skew', reason: 'expired', token: () => signHs(keys, ok({ exp: now - 120, nbf: now - 600, iat: now - 600 })) },
  { rfc: 'RFC 7519 §4.1.4', name: 'no "exp" (never expires)', reason: 'exp_missing', token: () => signHs(keys, ok({ exp: undefined })) },
  { rfc: 'RFC 7519 §4.1.4', name: '"exp" as a string', reason: 'invalid_claims', token: () => signHs(keys, ok({ exp: String(now + 600) })) },
  { rfc: 'RFC 7519 §4.1.5', name: 'not valid before the future', reason: 'not_yet_valid', token: () => signHs(keys, ok({ nbf: now + 600 })) },
  { rfc: 'RFC 7519 §4.1.6', name: 'issued in the future', reason: 'iat_in_future', token: () => signHs(keys, ok({ iat: now + 600 })) },
  { rfc: '§3.10 (claims)', name: 'room of another meeting', reason: 'room_mismatch', room: 'secret-board-meeting', token: () => signHs(keys, ok({ room: 'lunch' })) },
  { rfc: '§3.10 (claims)', name: 'room claim missing', reason: 'room_missing', token: () => signHs(keys, ok({ room: undefined })) },
  { rfc: '§3.10 (claims)', name: 'room claim prefix is not a wildcard', reason: 'room_mismatch', room: 'board-secret', token: () => signHs(keys, ok({ room: 'board' })) },
  { rfc: '§3.10 (claims)', name: 'moderator claim of the wrong type', reason: 'invalid_claims', token: () => signHs(keys, ok({ moderator: { admin: true } })) },
  { rfc: '§2.1 (substitution)', name: "alice's token used as username mallory", reason: 'username_mismatch', username: 'mallory', token: () => signHs(keys, ok()) },
  { rfc: '§3.1', name: 'token signed by a retired / unknown kid', reason: 'unknown_kid', token: () => signRs(keys, ok(), { kid: 'rs-2019' }) },
  { rfc: '§2.5 (parsing)', name: 'oversized token (DoS)', reason: 'too_large', token: () => signHs(keys, ok({ pad: 'x'.repeat(5_000) })) },
  { rfc: '§2.5 (parsing)', name: 'JWE compact form (five parts)', reason: 'malformed', token: () => 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d' },
  { rfc: '§2.5 (parsing)', name: 'header is not JSON', reason: 'malformed', token: async () => `${Buffer.from('{alg:HS256').toString('base64url')}.${(await signHs(keys, ok())).split('.').slice(1).join('.')}` },
  { rfc: '§2.5 (parsing)', name: 'payload is not JSON', reason: 'bad_signature', token: async () => {
    const [h, , s] = (await signHs(keys, ok())).split('.');
    return `${h}.${Buffer.from('not json').toString('base64url')}.${s}`;
  } },
  { rfc: '§2.5 (parsing)', name: 'characters outside base64url', reason: 'malformed', token: async () => (await signHs(keys, ok())).replace('.', '.+/=') },
  { rfc: '§2.5 (parsing)', name: 'whitespace padding around the token', reason: 'malformed', token: async () => ` ${await signHs(keys, ok())} ` },
];

describe('JWT attack matrix (RFC 8725 §2–3)', () => {
  it('has at least 25 cases and covers every reject reason but key_retired (tested with rotation in api.test.ts)', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    const covered = new Set(cases.map((c) => c.reason));
    expect(REJECT_REASONS.filter((r) => !covered.has(r))).toEqual(['key_retired']);
  });

  it('the baseline token passes (so each refusal below is caused by its one change)', async () => {
    const reply = await api.inject({ method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer ${keys.apiKey}` }, payload: { token: await signHs(keys, ok()), room: 'r1', username: 'alice' } });
    expect(reply.statusCode).toBe(200);
  });

  for (const c of cases) {
    it(`${c.rfc}: refuses ${c.name} → ${c.reason}`, async () => {
      const token = await c.token();
      const reply = await api.inject({
        method: 'POST',
        url: '/v1/verify',
        headers: { authorization: `Bearer ${keys.apiKey}` },
        payload: { token, room: c.room ?? 'r1', ...(c.username === undefined ? {} : { username: c.username }) },
      });
      expect(reply.statusCode).toBe(401);
      expect(reply.json()).toMatchObject({ code: 'HB_ERR_TOKEN_REJECTED', reason: c.reason });
    });
  }
});
