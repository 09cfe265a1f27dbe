import { HbError } from '@hummingbird/service';

/**
 * The token API's stable error codes (STYLE.md: fastify's `FST_ERR_*` registry), each with the
 * HTTP status it answers with. Like `HB_ERRORS` in @hummingbird/service: never renamed, never
 * reused for another meaning.
 */
export const TOKEN_ERRORS = {
  HB_ERR_TOKEN_REJECTED: { httpStatus: 401, description: 'the token failed verification; `reason` says which check' },
  HB_ERR_TOKEN_UNAUTHENTICATED: { httpStatus: 401, description: 'no valid API key in Authorization: Bearer' },
  HB_ERR_TOKEN_FORBIDDEN: { httpStatus: 403, description: 'the API key lacks the scope this route needs' },
  HB_ERR_TOKEN_BAD_REQUEST: { httpStatus: 400, description: 'the request body or query does not match the schema' },
  HB_ERR_TOKEN_RATE_LIMITED: { httpStatus: 429, description: 'too many requests for this API key or client address' },
  HB_ERR_TOKEN_NO_SIGNING_KEY: { httpStatus: 503, description: 'no key is configured for minting' },
  HB_ERR_TOKEN_TURN_DISABLED: { httpStatus: 404, description: 'TURN credentials are not configured (no `turn` section)' },
  HB_ERR_TOKEN_NOT_FOUND: { httpStatus: 404, description: 'no such key or route' },
  HB_ERR_TOKEN_INTERNAL: { httpStatus: 500, description: 'an unexpected error; the log has the details' },
} as const satisfies Record<string, { httpStatus: number; description: string }>;

export type TokenErrorCode = keyof typeof TOKEN_ERRORS;

/**
 * Why a token was refused: machine-readable, stable, and safe to log and to return (it never
 * contains the token or a claim value). jicofo-jvb.md §6 pain point 1: say *which* check failed.
 */
export const REJECT_REASONS = [
  'too_large',
  'malformed',
  'unsupported_header',
  'alg_not_allowed',
  'unknown_kid',
  'key_retired',
  'bad_signature',
  'expired',
  'exp_missing',
  'not_yet_valid',
  'iat_in_future',
  'wrong_iss',
  'wrong_aud',
  'wrong_sub',
  'room_missing',
  'room_mismatch',
  'username_mismatch',
  'invalid_claims',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Thrown by the verifier; the API turns it into `401 {code, reason}`. */
export class TokenRejectedError extends Error {
  readonly code = 'HB_ERR_TOKEN_REJECTED';
  readonly reason: RejectReason;

  constructor(reason: RejectReason, message: string) {
    super(message);
    this.name = 'TokenRejectedError';
    this.reason = reason;
  }
}

/** Key material that cannot be loaded: a configuration problem, reported at start. */
export class KeyConfigError extends HbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HB_ERR_CONFIG', message, options);
    this.name = 'KeyConfigError';
  }
}
