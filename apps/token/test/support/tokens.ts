import { createHmac, createPrivateKey, createSecretKey } from 'node:crypto';
import { base64url, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { APP_ID, type TestKeys } from './keys.js';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A Jitsi-shaped claim set that the test config accepts; override any claim. */
export function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  return {
    iss: APP_ID,
    aud: 'jitsi',
    sub: '*',
    room: 'r1',
    iat: now,
    nbf: now,
    exp: now + 600,
    context: { user: { id: 'alice', name: 'Alice' } },
    ...overrides,
  };
}

type Header = Partial<JWTHeaderParameters> & Record<string, unknown>;

/** Signs with the app secret (HS256, no kid) unless told otherwise. */
export async function signHs(keys: TestKeys, payload: JWTPayload = claims(), header: Header = {}, secret: string | Uint8Array = keys.appSecret): Promise<string> {
  const key = typeof secret === 'string' ? createSecretKey(Buffer.from(secret, 'utf8')) : createSecretKey(secret);
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(key);
}

export async function signRs(keys: TestKeys, payload: JWTPayload = claims(), header: Header = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'rs-2026', ...header }).sign(createPrivateKey(keys.rsa.privateKey));
}

export function b64json(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** An unsigned token: `alg: none` (RFC 7519 §6). */
export function unsecured(payload: JWTPayload = claims(), header: Record<string, unknown> = { alg: 'none', typ: 'JWT' }): string {
  return `${b64json(header)}.${b64json(payload)}.`;
}

/** Flips one character of the payload, keeping the signature: a tampered token. */
export function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  payload['room'] = '*';
  return `${h}.${b64json(payload)}.${s}`;
}

/** The classic HS/RS confusion: HMAC over the token with the RSA *public* key as the secret. */
export function rsConfused(keys: TestKeys, payload: JWTPayload = claims()): Promise<string> {
  return signHs(keys, payload, { kid: 'rs-2026' }, new TextEncoder().encode(keys.rsa.publicKey));
}

/** HS256 over any header, built by hand: for headers jose refuses to produce (crit, b64). */
export function signRawHs(secret: string, header: Record<string, unknown>, payload: JWTPayload): string {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
