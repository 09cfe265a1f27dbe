import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, createLogger } from '@hummingbird/service';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../src/cli.js';
import {
  asapKeyName,
  buildComponents,
  buildTokenApi,
  KeyConfigError,
  KeyStore,
  RateLimiter,
  resolveSecret,
  roomMatches,
  start,
  tokenConfig,
  TokenVerifier,
  type TokenConfig,
  type TokenService,
} from '../src/index.js';
import { TokenMetrics } from '../src/metrics.js';
import { APP_ID, capturingLogger, keyEnv, makeKeys, testConfig, type TestKeys } from './support/keys.js';
import { claims, nowSeconds, signHs } from './support/tokens.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const required = { HB_TOKEN_JWT__APP_ID: 'my-app', HB_TOKEN_JWT__APP_SECRET_REF: 'env:HB_TOKEN_APP_SECRET' };
const silent = createLogger({ name: 'token', level: 'silent' });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function api(config: TokenConfig, keys: TestKeys) {
  const components = await buildComponents(config, keyEnv(keys));
  return buildTokenApi({ config, metrics: new TokenMetrics(new Registry()), logger: silent, ...components });
}

describe('token config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(tokenConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults', () => {
    const config = tokenConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(tokenConfig.loadConfig({ env: required }));
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8890, trustProxy: false });
    expect(config.jwt).toMatchObject({ appId: 'my-app', appSecretRef: 'env:HB_TOKEN_APP_SECRET', audience: 'jitsi', clockSkewSeconds: 30, maxTokenBytes: 8192 });
  });

  it('without an app id, names it', () => {
    const error = configError(() => tokenConfig.loadConfig({ file: samplePath }));
    expect(error.issues.map((i) => i.key)).toEqual(['jwt.appId']);
  });

  it('refuses an inline secret where a reference is expected, without echoing it', () => {
    const error = configError(() => tokenConfig.loadConfig({ env: { ...required, HB_TOKEN_JWT__APP_SECRET_REF: 'hunter2' } }));
    expect(error.issues[0]?.key).toBe('jwt.appSecretRef (from HB_TOKEN_JWT__APP_SECRET_REF)');
    expect(error.message).toContain('not the secret itself');
    expect(error.message).not.toContain('hunter2');
  });

  it('clock skew is bounded (at most 300 s)', () => {
    const error = configError(() => tokenConfig.loadConfig({ env: { ...required, HB_TOKEN_JWT__CLOCK_SKEW_SECONDS: '3600' } }));
    expect(error.issues[0]?.key).toMatch(/^jwt\.clockSkewSeconds/);
  });
});

describe('secrets and keys', () => {
  it('resolves file: (trailing newline dropped) and env: references; errors name the key, not the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-token-'));
    writeFileSync(join(dir, 's'), 'sekrit-value\n');
    expect(resolveSecret(`file:${join(dir, 's')}`, 'k', {})).toBe('sekrit-value');
    expect(resolveSecret('env:X', 'k', { X: 'v' })).toBe('v');
    expect(() => resolveSecret('env:MISSING', 'jwt.appSecretRef', {})).toThrow(/jwt\.appSecretRef: environment variable MISSING/);
    expect(() => resolveSecret(`file:${join(dir, 'nope')}`, 'k', {})).toThrow(/ENOENT/);
  });

  it('refuses an HS256 secret shorter than 32 bytes, a key of the wrong type, no key at all, a signingKid without private key', async () => {
    const jwt = testConfig().jwt;
    await expect(KeyStore.load({ ...jwt, keys: [] }, { T_APP_SECRET: 'short' })).rejects.toThrow(/at least 32 bytes/);
    const keys = makeKeys();
    await expect(KeyStore.load({ ...jwt, keys: [{ kid: 'x', alg: 'RS256', privateKeyRef: 'env:T_EC_PRIVATE' }] }, keyEnv(keys))).rejects.toThrow(KeyConfigError);
    await expect(KeyStore.load({ ...jwt, appSecretRef: undefined, keys: [] }, keyEnv(keys))).rejects.toThrow(/no key configured/);
    await expect(KeyStore.load({ ...jwt, signingKid: 'ed-partner' }, keyEnv(keys))).rejects.toThrow(/no private key/);
  });
});

describe('room match rules', () => {
  it('"*" matches every room; otherwise equal after NFKC + lower-case; nothing else is a wildcard', () => {
    expect(roomMatches('*', 'anything')).toBe(true);
    expect(roomMatches('MyRoom', 'myroom')).toBe(true);
    expect(roomMatches('ｍｙroom', 'myroom')).toBe(true); // full-width letters fold under NFKC, as nodeprep does
    expect(roomMatches('my', 'myroom')).toBe(false);
    expect(roomMatches('my*', 'myroom')).toBe(false);
    expect(roomMatches('', 'myroom')).toBe(false);
  });
});

describe('token API', () => {
  let keys: TestKeys;
  beforeAll(() => {
    keys = makeKeys();
  });
  const issue = (k: TestKeys) => ({ authorization: `Bearer ${k.issueKey}` });
  const prosody = (k: TestKeys) => ({ authorization: `Bearer ${k.apiKey}` });

  it('mints HS256 tokens by default that /v1/verify accepts, with the claims Prosody needs', async () => {
    const app = await api(testConfig(), keys);
    const minted = await app.inject({ method: 'POST', url: '/v1/tokens', headers: issue(keys), payload: { room: 'Board', user: { id: 'alice', name: 'Alice', email: 'a@x' }, moderator: true, ttlSeconds: 120, features: { recording: true } } });
    expect(minted.statusCode).toBe(200);
    const body = minted.json<{ token: string; expiresAt: number; alg: string }>();
    expect(body.alg).toBe('HS256');
    expect(body.expiresAt - nowSeconds()).toBeGreaterThan(110);
    expect(decodeProtectedHeader(body.token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const verified = await app.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token: body.token, room: 'board', username: 'alice' } });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({
      valid: true,
      claims: expect.objectContaining({ iss: APP_ID, aud: ['jitsi'], sub: '*', room: 'Board', moderator: true, user: { id: 'alice', name: 'Alice', email: 'a@x' }, features: { recording: true }, alg: 'HS256' }) as unknown,
    });
  });

  it('clamps the minted lifetime to jwt.maxTtlSeconds', async () => {
    const app = await api(testConfig({ jwt: { maxTtlSeconds: 300 } }), keys);
    const minted = await app.inject({ method: 'POST', url: '/v1/tokens', headers: issue(keys), payload: { room: '*', ttlSeconds: 999_999 } });
    expect(minted.json<{ expiresAt: number }>().expiresAt - nowSeconds()).toBeLessThanOrEqual(300);
  });

  for (const [kid, alg] of [['rs-2026', 'RS256'], ['es-2026', 'ES256']] as const) {
    it(`mints ${alg} with jwt.signingKid, verifiable by anyone through the JWKS and the ASAP .pem`, async () => {
      const app = await api(testConfig({ jwt: { signingKid: kid } }), keys);
      const { token } = (await app.inject({ method: 'POST', url: '/v1/tokens', headers: issue(keys), payload: { room: 'r1' } })).json<{ token: string }>();
      expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid });
      expect((await app.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token } })).statusCode).toBe(200);
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const address = app.server.address() as { port: number };
        const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${address.port}/.well-known/jwks.json`));
        const { payload } = await jwtVerify(token, jwks, { issuer: APP_ID, audience: 'jitsi' });
        expect(payload['room']).toBe('r1');
        const pem = await fetch(`http://127.0.0.1:${address.port}/${asapKeyName(kid)}.pem`);
        expect(pem.headers.get('content-type')).toContain('application/x-pem-file');
        await jwtVerify(token, createPublicKey(await pem.text()), { algorithms: [alg] });
      } finally {
        await app.close();
      }
    });
  }

  it('publishes only asymmetric public keys: JWKS has no HS256 secret, unknown .pem is 404', async () => {
    const app = await api(testConfig(), keys);
    const jwks = (await app.inject('/.well-known/jwks.json')).json<{ keys: { kid: string; alg: string; d?: string; k?: string }[] }>();
    expect(jwks.keys.map((k) => [k.kid, k.alg])).toEqual([['rs-2026', 'RS256'], ['es-2026', 'ES256'], ['ed-partner', 'EdDSA']]);
    expect(jwks.keys.every((k) => k.d === undefined && k.k === undefined)).toBe(true);
    expect((await app.inject(`/${asapKeyName('nope')}.pem`)).statusCode).toBe(404);
    expect((await app.inject('/etc/passwd')).statusCode).toBe(404);
  });

  it('verifies tokens from a verify-only EdDSA key (publicKeyRef: the self-hoster\'s backend signs)', async () => {
    const app = await api(testConfig(), keys);
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA', kid: 'ed-partner' }).sign((await import('node:crypto')).createPrivateKey(keys.ed.privateKey));
    const reply = await app.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token } });
    expect(reply.json()).toMatchObject({ valid: true, claims: { alg: 'EdDSA', kid: 'ed-partner' } });
  });

  it('key rotation: the old kid verifies until its notAfter, then it is retired and unpublished', async () => {
    const old = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const env = { ...keyEnv(keys), OLD: old.privateKey };
    const notAfter = new Date(Date.now() + 3_600_000).toISOString();
    const jwt = { ...testConfig().jwt, signingKid: 'rs-2026', keys: [...testConfig().jwt.keys, { kid: 'rs-2025', alg: 'RS256' as const, privateKeyRef: 'env:OLD', notAfter }] };
    const store = await KeyStore.load(jwt, env);
    const verifier = new TokenVerifier(store, jwt);
    const oldToken = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'rs-2025' }).sign((await import('node:crypto')).createPrivateKey(old.privateKey));
    // During the overlap: both kids verify and both are published.
    await expect(verifier.verify(oldToken)).resolves.toMatchObject({ kid: 'rs-2025' });
    expect(store.jwks(Date.now()).keys.map((k) => k.kid)).toContain('rs-2025');
    // After notAfter: refused as key_retired (clock moved past notAfter, token still unexpired).
    const later = Date.parse(notAfter) + 1_000;
    await expect(verifier.verify(oldToken, { nowMs: later })).rejects.toMatchObject({ reason: 'key_retired' });
    expect(store.jwks(later).keys.map((k) => k.kid)).not.toContain('rs-2025');
    expect(store.pemByAsapName(asapKeyName('rs-2025'), later)).toBeUndefined();
  });

  it('clock skew: a token expired 20 s ago passes with 30 s skew, fails with 0', async () => {
    const token = await signHs(keys, claims({ exp: nowSeconds() - 20 }));
    expect((await (await api(testConfig(), keys)).inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token } })).statusCode).toBe(200);
    const strict = await api(testConfig({ jwt: { clockSkewSeconds: 0 } }), keys);
    expect((await strict.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token } })).json()).toMatchObject({ reason: 'expired' });
  });

  it('API keys: none → 401, unknown → 401, wrong scope → 403; codes are HB_ERR_TOKEN_*', async () => {
    const app = await api(testConfig(), keys);
    const payload = { room: 'r' };
    expect((await app.inject({ method: 'POST', url: '/v1/tokens', payload })).json()).toMatchObject({ code: 'HB_ERR_TOKEN_UNAUTHENTICATED' });
    expect((await app.inject({ method: 'POST', url: '/v1/tokens', payload, headers: { authorization: 'Bearer guess' } })).statusCode).toBe(401);
    const forbidden = await app.inject({ method: 'POST', url: '/v1/tokens', payload, headers: prosody(keys) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'HB_ERR_TOKEN_FORBIDDEN' });
    expect((await app.inject({ method: 'POST', url: '/v1/verify', payload: { token: 'x' }, headers: issue(keys) })).statusCode).toBe(403);
  });

  it('schema first: unknown fields, wrong types and oversized bodies are HB_ERR_TOKEN_BAD_REQUEST', async () => {
    const app = await api(testConfig(), keys);
    for (const payload of [{ token: 'a', admin: true }, { token: 5 }, {}, { room: 'x' }]) {
      const reply = await app.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload });
      expect(reply.statusCode).toBe(400);
      expect(reply.json()).toMatchObject({ code: 'HB_ERR_TOKEN_BAD_REQUEST' });
    }
    const huge = await app.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token: 'a'.repeat(200_000) } });
    expect(huge.statusCode).toBe(413);
    const notJson = await app.inject({ method: 'POST', url: '/v1/verify', headers: { ...prosody(keys), 'content-type': 'application/json' }, payload: '{"token":' });
    expect(notJson.statusCode).toBe(400);
  });

  it('rate limits: per API key, and per client address on verify (the address Prosody reports)', async () => {
    const perKey = await api(testConfig({ rateLimit: { perApiKey: 3 } }), keys);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await perKey.inject({ method: 'POST', url: '/v1/tokens', headers: issue(keys), payload: { room: 'r' } })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await perKey.inject({ method: 'POST', url: '/v1/tokens', headers: issue(keys), payload: { room: 'r' } });
    expect(limited.json()).toMatchObject({ code: 'HB_ERR_TOKEN_RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const perIp = await api(testConfig({ rateLimit: { verifyPerIp: 2 } }), keys);
    const token = await signHs(keys);
    const verify = (ip: string) => perIp.inject({ method: 'POST', url: '/v1/verify', headers: prosody(keys), payload: { token, ip } }).then((r) => r.statusCode);
    expect([await verify('192.0.2.1'), await verify('192.0.2.1'), await verify('192.0.2.1'), await verify('192.0.2.2')]).toEqual([200, 200, 429, 200]);

    // Guessing API keys: failed authentications are limited per TCP peer, before any key matches.
    const guesses: number[] = [];
    for (let i = 0; i < 3; i++) guesses.push((await perIp.inject({ method: 'POST', url: '/v1/verify', headers: { authorization: `Bearer guess-${i}` }, payload: { token } })).statusCode);
    expect(guesses).toEqual([401, 401, 429]);
  });

  it('RateLimiter: windows reset, and the key table is bounded', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1_000, maxKeys: 2 });
    expect(limiter.hit('a', 0)).toBe(0);
    expect(limiter.hit('a', 10)).toBe(1);
    expect(limiter.hit('a', 1_000)).toBe(0);
    expect(limiter.hit('b', 1_001)).toBe(0);
    // c and d share the overflow bucket once two keys are tracked.
    expect(limiter.hit('c', 1_002)).toBe(0);
    expect(limiter.hit('d', 1_003)).toBeGreaterThan(0);
  });

  it('TURN REST credentials: `expiry:user`, base64 HMAC-SHA1, ttl, udp/tcp/tls uris; by API key or by a meeting JWT', async () => {
    const app = await api(testConfig(), keys);
    const reply = await app.inject({ url: '/v1/turn-credentials?user=alice', headers: issue(keys) });
    const creds = reply.json<{ username: string; password: string; ttl: number; uris: string[] }>();
    expect(creds.username).toMatch(/^\d+:alice$/);
    expect(creds.password).toBe(createHmac('sha1', keys.turnSecret).update(creds.username).digest('base64'));
    expect(creds.ttl).toBe(86_400);
    expect(creds.uris).toEqual(['turn:turn.meet.test:3478?transport=udp', 'turn:turn.meet.test:3478?transport=tcp', 'turns:turn.meet.test:5349?transport=tcp']);
    const byJwt = await app.inject({ url: '/v1/turn-credentials', headers: { authorization: `Bearer ${await signHs(keys)}` } });
    expect(byJwt.json<{ username: string }>().username).toMatch(/^\d+:alice$/);
    const badJwt = await app.inject({ url: '/v1/turn-credentials', headers: { authorization: `Bearer ${await signHs(keys, claims({ exp: 1 }))}` } });
    expect(badJwt.json()).toMatchObject({ code: 'HB_ERR_TOKEN_UNAUTHENTICATED', message: 'token rejected: expired' });
    expect((await app.inject({ url: '/v1/turn-credentials', headers: prosody(keys) })).statusCode).toBe(403);
    const disabled = await api({ ...testConfig(), turn: { port: 3478, tlsPort: 5349, ttlSeconds: 60 } }, keys);
    expect((await disabled.inject({ url: '/v1/turn-credentials', headers: issue(keys) })).json()).toMatchObject({ code: 'HB_ERR_TOKEN_TURN_DISABLED' });
  });
});

describe('token service (ops)', () => {
  let service: TokenService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('health is ok once the API listens; /metrics counts issued, verified and rejected by reason; logs never hold a token', async () => {
    const keys = makeKeys();
    const { logger, lines } = capturingLogger();
    service = await start(testConfig(), logger, keyEnv(keys));
    expect((await service.ops.inject('/about/health')).json()).toEqual({ status: 'ok' });
    const issued = await fetch(`${service.apiAddress}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${keys.issueKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ room: 'r' }) });
    const { token } = (await issued.json()) as { token: string };
    const verify = (t: string) => fetch(`${service?.apiAddress ?? ''}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${keys.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ token: t }) });
    expect((await verify(token)).status).toBe(200);
    const expired = await signHs(keys, claims({ exp: 1, nbf: 1, iat: 1 }));
    expect((await verify(expired)).status).toBe(401);
    expect((await verify(`${token}x`)).status).toBe(401);
    const metrics = (await service.ops.inject('/metrics')).body;
    expect(metrics).toContain('hb_token_issued_total{alg="HS256"} 1');
    expect(metrics).toContain('hb_token_verified_total{alg="HS256"} 1');
    expect(metrics).toContain('hb_token_rejected_total{reason="expired"} 1');
    expect(metrics).toContain('hb_token_rejected_total{reason="bad_signature"} 1');
    const log = lines.join('');
    expect(log).toContain('token rejected: expired');
    // Request loggers are made on first use (src/request-logger.ts): each line a request writes still
    // carries its own reqId and the api component; the successful verify wrote no line at all.
    const requestLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['reqId'] !== undefined);
    expect(requestLines.map((l) => l['msg'])).toEqual(['token issued', 'token rejected: expired', 'token rejected: bad_signature']);
    expect(new Set(requestLines.map((l) => l['reqId'])).size).toBe(3);
    expect(requestLines[1]).toMatchObject({ level: 'warn', component: 'api', reason: 'expired', caller: 'prosody' });
    for (const secret of [token, expired, keys.apiKey, keys.issueKey, keys.appSecret, token.split('.')[2] as string]) expect(log).not.toContain(secret);
  });

  it('a bad key reference fails the start with HB_ERR_CONFIG naming the key', async () => {
    await expect(start(testConfig(), silent, {})).rejects.toMatchObject({ code: 'HB_ERR_CONFIG', message: expect.stringMatching(/jwt\.appSecretRef: environment variable T_APP_SECRET/) as string });
  });
});

describe('CLI', () => {
  it('hummingbird-token issue --room r --name n --moderator prints a token the service verifies', async () => {
    const keys = makeKeys();
    const out: string[] = [];
    const env = { ...keyEnv(keys), HB_TOKEN_JWT__APP_ID: APP_ID, HB_TOKEN_JWT__APP_SECRET_REF: 'env:T_APP_SECRET' };
    const code = await cli(['issue', '--room', 'r', '--name', 'n', '--moderator', '--id', 'admin'], env, (t) => out.push(t), () => undefined);
    expect(code).toBe(0);
    const token = (out.join('')).trim();
    const verifier = new TokenVerifier(await KeyStore.load(testConfig().jwt, keyEnv(keys)), testConfig().jwt);
    await expect(verifier.verify(token, { room: 'r' })).resolves.toMatchObject({ moderator: true, user: { name: 'n', id: 'admin' } });
  });

  it('usage errors exit 2 with a message; a config error exits 2 with HB_ERR_CONFIG', async () => {
    const err: string[] = [];
    expect(await cli(['issue'], {}, () => undefined, (t) => err.push(t))).toBe(2);
    expect(err.join('')).toContain('--room is required');
    expect(await cli(['issue', '--room', 'r', '--bogus'], {}, () => undefined, (t) => err.push(t))).toBe(2);
    expect(await cli(['issue', '--room', 'r'], {}, () => undefined, (t) => err.push(t))).toBe(2);
    expect(err.join('')).toContain('HB_ERR_CONFIG');
    expect(await cli(['frobnicate'], {}, () => undefined, () => undefined)).toBe(2);
  });
});

// Keep the JWTPayload import used for readers of this file: claims() returns one.
export type { JWTPayload };
