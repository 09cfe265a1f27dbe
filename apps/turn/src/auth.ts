import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { longTermKey } from './stun/codec.js';

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`, Prosody's
 * mod_external_services: spec/prosody.md §3.2): username `<expiry>` or `<expiry>:<user>`,
 * password base64(HMAC-SHA1(secret, username)). Nothing is looked up by a client-chosen key:
 * the username is parsed, never used as an object property (spec/turn.md §3: `__proto__`).
 */

/** RFC 8489 §14.3: USERNAME is < 513 bytes. */
export const MAX_USERNAME_BYTES = 512;

export type CredentialCheck = { ok: true; keys: Buffer[]; expiresAt: number } | { ok: false; reason: 'malformed-username' | 'expired' };

export interface RestAuthOptions {
  realm: string;
  /** Shared secrets, current first; every one is accepted (rotation overlap). */
  secrets: readonly string[];
  /** How long a nonce stays fresh (seconds); 438 after that. */
  nonceLifetimeSec: number;
  /** Key for the stateless nonces; random per process by default. */
  nonceKey?: Buffer;
  now?: () => number;
}

// The user part: 1..256 characters, no control characters (\p{Cc}).
const USERNAME_PATTERN = /^(\d{1,12})(?::[^\p{Cc}]{1,256})?$/u;

export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

export class RestAuthenticator {
  readonly realm: string;
  readonly #secrets: readonly string[];
  readonly #nonceLifetimeMs: number;
  readonly #nonceKey: Buffer;
  readonly #now: () => number;

  constructor(options: RestAuthOptions) {
    if (options.secrets.length === 0) throw new TypeError('at least one TURN shared secret is required');
    for (const secret of options.secrets) {
      if (secret.length < 16) throw new TypeError('TURN shared secrets must be at least 16 characters');
    }
    this.realm = options.realm;
    this.#secrets = [...options.secrets];
    this.#nonceLifetimeMs = options.nonceLifetimeSec * 1000;
    this.#nonceKey = options.nonceKey ?? randomBytes(32);
    this.#now = options.now ?? Date.now;
  }

  /**
   * A stateless nonce: issue time and an HMAC over it and the client's IP. Nothing is stored per
   * challenge, so an unauthenticated flood costs no memory (spec/turn.md §3: node-turn +77 MB).
   */
  makeNonce(clientIp: string): string {
    const issued = Math.floor(this.#now() / 1000).toString(16).padStart(10, '0');
    return issued + this.#nonceMac(issued, clientIp);
  }

  checkNonce(nonce: string, clientIp: string): 'ok' | 'stale' | 'invalid' {
    if (nonce.length !== 42 || !/^[0-9a-f]{42}$/.test(nonce)) return 'invalid';
    const issued = nonce.slice(0, 10);
    const expected = Buffer.from(this.#nonceMac(issued, clientIp), 'latin1');
    if (!timingSafeEqual(expected, Buffer.from(nonce.slice(10), 'latin1'))) return 'invalid';
    const ageMs = this.#now() - parseInt(issued, 16) * 1000;
    if (ageMs < -60_000) return 'invalid';
    return ageMs > this.#nonceLifetimeMs ? 'stale' : 'ok';
  }

  /** Parses the username and derives one long-term key per configured secret. */
  credentials(username: string): CredentialCheck {
    if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) return { ok: false, reason: 'malformed-username' };
    const match = USERNAME_PATTERN.exec(username);
    if (match === null) return { ok: false, reason: 'malformed-username' };
    const expiresAt = Number(match[1]) * 1000;
    if (expiresAt <= this.#now()) return { ok: false, reason: 'expired' };
    const keys = this.#secrets.map((secret) => longTermKey(username, this.realm, restPassword(secret, username)));
    return { ok: true, keys, expiresAt };
  }

  #nonceMac(issued: string, clientIp: string): string {
    return createHmac('sha256', this.#nonceKey).update(`${issued}|${clientIp}`).digest('hex').slice(0, 32);
  }
}

/** Mints TURN REST credentials (what Prosody and apps/token hand out); for tests and tools. */
export function mintRestCredentials(secret: string, user: string | undefined, ttlSec: number, nowMs = Date.now()): { username: string; password: string } {
  const expiry = Math.floor(nowMs / 1000) + ttlSec;
  const username = user === undefined ? String(expiry) : `${expiry}:${user}`;
  return { username, password: restPassword(secret, username) };
}
