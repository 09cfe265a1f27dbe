import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, UnsecuredJWT, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose';
import type { TokenConfig } from './config.js';
import { claimTypeError, normaliseRoom, roomMatches, toVerifiedClaims, type RawClaims, type VerifiedClaims } from './claims.js';
import { TokenRejectedError, type RejectReason } from './errors.js';
import type { KeyStore, VerifyKey } from './keys.js';

export interface VerifyOptions {
  /** The room being joined (its JID localpart): the `room` claim must match it. */
  room?: string | undefined;
  /** SASL PLAIN username: must be `context.user.id` (or `sub` when there is no user id). */
  username?: string | undefined;
  /** Clock override for tests (epoch ms). */
  nowMs?: number;
}

/**
 * How HS256 signatures are checked. `node` (the default): node:crypto's HMAC, synchronously, then
 * jose's own claim validation. `jose`: jose's `jwtVerify`, which goes through WebCrypto and costs a
 * thread-pool round trip per token, about 40 µs of a 100 µs request (benchmarks.md §2). Both give
 * the same answer for every token; `jose` is kept as the reference the differential test compares
 * against (test/hs256.test.ts).
 */
export type Hs256Path = 'node' | 'jose';

// RFC 8725 §3.1/§2.5, RFC 7515 §4.1: headers that would let the token choose its own key, nest a
// token, compress or change the payload encoding. We never honour them, so we refuse them.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'zip', 'b64', 'cty', 'enc'] as const;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function reject(reason: RejectReason, message: string): never {
  throw new TokenRejectedError(reason, message);
}

/**
 * The token checks of apps/token (prosody.md §4.5 step 4), in the order that never lets an
 * unverified token influence the decision: size, shape, header, key (chosen by `kid` only),
 * algorithm pinned to that key, signature, then the claims.
 */
export class TokenVerifier {
  readonly #keys: KeyStore;
  readonly #config: TokenConfig['jwt'];
  readonly #subjects: Set<string>;
  /** jwtVerify's options per key, built once (the key's one algorithm, issuer, audience, skew). */
  readonly #joseOptions = new WeakMap<VerifyKey, JWTVerifyOptions>();

  readonly #hs256: Hs256Path;

  constructor(keys: KeyStore, config: TokenConfig['jwt'], options: { hs256?: Hs256Path } = {}) {
    this.#keys = keys;
    this.#config = config;
    this.#hs256 = options.hs256 ?? 'node';
    this.#subjects = new Set(config.subjects.map((s) => s.toLowerCase()));
  }

  #optionsFor(key: VerifyKey): JWTVerifyOptions {
    let options = this.#joseOptions.get(key);
    if (options === undefined) {
      options = {
        algorithms: [key.alg],
        issuer: this.#config.appId,
        audience: this.#config.audience,
        clockTolerance: this.#config.clockSkewSeconds,
        requiredClaims: ['exp', 'iss', 'aud'],
      };
      this.#joseOptions.set(key, options);
    }
    return options;
  }

  /** Verified claims, or throws {@link TokenRejectedError} with the reason. */
  async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedClaims> {
    const nowMs = options.nowMs ?? Date.now();
    if (Buffer.byteLength(token, 'utf8') > this.#config.maxTokenBytes) reject('too_large', `token longer than ${this.#config.maxTokenBytes} bytes`);
    if (!COMPACT_JWS.test(token)) reject('malformed', 'not a compact JWS (three base64url parts)');

    const header = decodeHeader(token);
    for (const name of FORBIDDEN_HEADERS) {
      if (Object.hasOwn(header, name)) reject('unsupported_header', `header parameter "${name}" is not accepted`);
    }
    if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
      reject('unsupported_header', 'header "typ" must be JWT when present');
    }
    if (typeof header.alg !== 'string') reject('malformed', 'header "alg" missing');
    if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128)) {
      reject('malformed', 'header "kid" must be a short string');
    }

    const key = this.#keys.verifyKey(header.kid, nowMs);
    if (typeof key === 'string') reject(key, key === 'unknown_kid' ? 'no key for this kid' : 'the key for this kid is retired');
    // RFC 8725 §3.1: the key decides the algorithm; `none` and HS/RS confusion end here.
    if (header.alg !== key.alg) reject('alg_not_allowed', `this key verifies ${key.alg} only`);

    let payload: unknown;
    try {
      // Without a clock override jose reads the clock itself (within the same millisecond or so).
      const joseOptions = this.#optionsFor(key);
      const verifyOptions = options.nowMs === undefined ? joseOptions : { ...joseOptions, currentDate: new Date(nowMs) };
      if (key.secret !== undefined && this.#hs256 === 'node') payload = verifyHs256(token, key.secret, verifyOptions);
      else ({ payload } = await jwtVerify(token, key.key, verifyOptions));
    } catch (error) {
      throw mapJoseError(error);
    }

    const badClaim = claimTypeError(payload);
    if (badClaim !== undefined) reject('invalid_claims', `claim ${badClaim} has the wrong type`);
    const raw = payload as RawClaims;
    const nowSeconds = nowMs / 1000;
    if (raw.iat !== undefined && raw.iat > nowSeconds + this.#config.clockSkewSeconds) reject('iat_in_future', '"iat" is in the future');
    if (this.#subjects.size > 0) {
      const sub = raw.sub?.toLowerCase();
      if (sub === undefined || (sub !== '*' && !this.#subjects.has(sub))) reject('wrong_sub', '"sub" is not an accepted tenant');
    }
    const room = raw.room;
    if (room === undefined || room === '') reject('room_missing', 'no "room" claim (use "*" for every room)');
    if (options.room !== undefined && !roomMatches(room, options.room)) reject('room_mismatch', 'the "room" claim does not name this room');
    if (options.username !== undefined) {
      const bound = raw.context?.user?.id ?? raw.sub;
      if (bound === undefined || normaliseRoom(bound) !== normaliseRoom(options.username)) {
        reject('username_mismatch', 'the login name is not the token\'s context.user.id (or sub)');
      }
    }
    return toVerifiedClaims(raw, room, key.kid, key.alg);
  }
}

// What jose's UnsecuredJWT.decode needs in front of a payload whose signature we checked ourselves.
const NONE_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

/**
 * An HS256 token whose header already passed {@link TokenVerifier.verify}'s checks (shape, no
 * forbidden parameters, `alg` pinned by the key): its HMAC checked with node:crypto in constant
 * time, then its claims by jose itself — the payload goes, unchanged, through
 * `UnsecuredJWT.decode`, which runs the same claim validation as `jwtVerify` (exp/nbf with the
 * skew, iss, aud, required claims, JSON object). The `none` header is built here, never taken from
 * a token. Throws jose's errors, so {@link mapJoseError} gives the same reasons as the jose path.
 */
function verifyHs256(token: string, secret: KeyObject, options: JWTVerifyOptions): unknown {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  // Lengths of 4k + 1 are not base64url (jose refuses them; Buffer would drop the odd character).
  if (first % 4 === 1 || (last - first - 1) % 4 === 1 || (token.length - last - 1) % 4 === 1) throw new joseErrors.JWSInvalid('not base64url');
  const signature = Buffer.from(token.slice(last + 1), 'base64url');
  const expected = createHmac('sha256', secret).update(token.slice(0, last)).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw new joseErrors.JWSSignatureVerificationFailed();
  return UnsecuredJWT.decode(`${NONE_HEADER}.${token.slice(first + 1, last)}.`, options).payload;
}

/**
 * The protected header of a token that already matched {@link COMPACT_JWS} (so the first part is
 * base64url characters only, which `Buffer`'s decoder handles exactly). Cheaper than jose's
 * `decodeProtectedHeader`, which re-checks the shape and decodes through `atob`; jose still parses
 * and checks the header itself inside `jwtVerify`.
 */
function decodeHeader(token: string): ProtectedHeaderParameters {
  const encoded = token.slice(0, token.indexOf('.'));
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    reject('malformed', 'the header is not base64url JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) reject('malformed', 'the header is not a JSON object');
  return header as ProtectedHeaderParameters;
}

function mapJoseError(error: unknown): TokenRejectedError {
  if (error instanceof joseErrors.JWTExpired) return new TokenRejectedError('expired', '"exp" has passed');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return new TokenRejectedError('not_yet_valid', '"nbf" is in the future');
      case 'iss':
        return new TokenRejectedError('wrong_iss', '"iss" is not the app id');
      case 'aud':
        return new TokenRejectedError('wrong_aud', '"aud" does not name this service');
      case 'exp':
        return new TokenRejectedError(error.reason === 'missing' ? 'exp_missing' : 'invalid_claims', '"exp" is missing or not a number');
      default:
        return new TokenRejectedError('invalid_claims', `claim "${error.claim}" is invalid`);
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenRejectedError('bad_signature', 'the signature does not verify');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new TokenRejectedError('alg_not_allowed', 'algorithm not allowed');
  if (error instanceof joseErrors.JOSENotSupported) return new TokenRejectedError('unsupported_header', 'unsupported token feature');
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return new TokenRejectedError('malformed', 'not a valid JWT');
  return new TokenRejectedError('malformed', 'not a valid JWT');
}
