import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { TokenConfig } from './config.js';
import type { SigningKey } from './keys.js';

export interface MintRequest {
  room: string;
  user?: { id?: string | undefined; name?: string | undefined; email?: string | undefined; avatar?: string | undefined } | undefined;
  moderator?: boolean | undefined;
  affiliation?: 'owner' | 'moderator' | 'member' | 'none' | undefined;
  ttlSeconds?: number | undefined;
  sub?: string | undefined;
  group?: string | undefined;
  features?: Record<string, boolean | string> | undefined;
}

export interface MintedToken {
  token: string;
  expiresAt: number;
  kid: string | undefined;
  alg: string;
}

/**
 * Mints Jitsi-shaped tokens (the claim layout self-hosters' backends already produce): `iss`
 * app id, `aud`, `sub` tenant or `*`, `room` or `*`, `exp`/`nbf`/`iat`, `jti`, and
 * `context.user{…, moderator, affiliation}`.
 */
export class TokenIssuer {
  readonly #config: TokenConfig['jwt'];
  readonly #key: SigningKey;

  constructor(key: SigningKey, config: TokenConfig['jwt']) {
    this.#key = key;
    this.#config = config;
  }

  async mint(request: MintRequest, nowMs = Date.now()): Promise<MintedToken> {
    const ttl = Math.min(request.ttlSeconds ?? this.#config.defaultTtlSeconds, this.#config.maxTtlSeconds);
    const now = Math.floor(nowMs / 1000);
    const user: Record<string, string | boolean> = {};
    for (const field of ['id', 'name', 'email', 'avatar'] as const) {
      const value = request.user?.[field];
      if (value !== undefined) user[field] = value;
    }
    user['moderator'] = request.moderator ?? false;
    if (request.affiliation !== undefined) user['affiliation'] = request.affiliation;
    const context: Record<string, unknown> = { user };
    if (request.group !== undefined) context['group'] = request.group;
    if (request.features !== undefined) context['features'] = request.features;
    const token = await new SignJWT({ room: request.room, context })
      .setProtectedHeader({ alg: this.#key.alg, typ: 'JWT', ...(this.#key.kid === undefined ? {} : { kid: this.#key.kid }) })
      .setIssuer(this.#config.appId)
      .setAudience(this.#config.audience)
      .setSubject(request.sub ?? this.#config.subjects[0] ?? '*')
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(this.#key.key);
    return { token, expiresAt: now + ttl, kid: this.#key.kid, alg: this.#key.alg };
  }
}
