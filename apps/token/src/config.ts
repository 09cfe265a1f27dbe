import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { z } from 'zod';

/**
 * Where a secret lives, never the secret itself: `file:/etc/hummingbird/jwt.secret` or
 * `env:HB_TOKEN_APP_SECRET`. A config file is copied, diffed and pasted into bug reports; a
 * reference in it leaks nothing.
 */
export const secretRef = z
  .string()
  .regex(/^(file:.+|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be a reference, "file:<path>" or "env:<VARIABLE>", not the secret itself');

export const SIGNING_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const API_SCOPES = ['issue', 'verify', 'turn'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

const keySchema = z
  .object({
    kid: z.string().min(1).max(128).describe('Key id: the "kid" header of tokens signed with this key.'),
    alg: z.enum(SIGNING_ALGORITHMS).describe('The one algorithm this key verifies (pinned: the token header never chooses).'),
    secretRef: secretRef.optional().describe('HS256 only: reference to the shared secret (at least 32 bytes).'),
    privateKeyRef: secretRef
      .optional()
      .describe('RS256/ES256/EdDSA: reference to the PKCS#8 PEM private key (needed to mint; the public key is derived).'),
    publicKeyRef: secretRef
      .optional()
      .describe('RS256/ES256/EdDSA: reference to the SPKI PEM public key (verify-only keys, e.g. your backend signs).'),
    notAfter: z
      .string()
      .datetime({ offset: true })
      .optional()
      .describe('Rotation: after this instant the key no longer verifies and is no longer published.'),
  })
  .describe('One JWT key.');

export const tokenConfigSchema = z.object({
  ops: opsConfigSchema(8892),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  http: z
    .object({
      host: z
        .string()
        .min(1)
        .default('127.0.0.1')
        .describe('Address the token API binds. Loopback by default: Prosody calls it locally;\npublish it through a reverse proxy if clients must reach it.'),
      port: z.number().int().min(0).max(65_535).default(8890).describe('TCP port of the token API.'),
      trustProxy: z
        .boolean()
        .default(false)
        .describe('Take the client address from X-Forwarded-For (only behind your own reverse proxy).'),
    })
    .describe('The token API (JWT verification for Prosody, minting, TURN credentials over HTTP).'),
  jwt: z
    .object({
      appId: z
        .string()
        .min(1)
        .describe('Expected "iss" of the tokens (Jitsi\'s app_id).')
        .meta({ example: 'my-app' }),
      appSecretRef: secretRef
        .optional()
        .describe('Reference to the HS256 secret (Jitsi\'s app_secret): file:<path> or env:<VARIABLE>.\nTokens without "kid" are verified with it.')
        .meta({ example: 'file:/etc/hummingbird/jwt.secret' }),
      audience: z.string().min(1).default('jitsi').describe('Expected "aud" (a token may list several; this one must be among them).'),
      subjects: z
        .array(z.string().min(1))
        .default([])
        .describe('Accepted "sub" values (your tenants or the XMPP domain). Empty: any "sub". A token with\n"sub": "*" is valid for every tenant.'),
      clockSkewSeconds: z.number().int().min(0).max(300).default(30).describe('Tolerance for "exp", "nbf" and "iat" against this clock.'),
      maxTokenBytes: z.number().int().min(256).max(65_536).default(8_192).describe('Longer tokens are refused before they are parsed.'),
      maxTtlSeconds: z.number().int().min(60).default(86_400).describe('Upper bound of the lifetime POST /v1/tokens mints.'),
      defaultTtlSeconds: z.number().int().min(1).default(3_600).describe('Lifetime of a minted token when the request names none.'),
      keys: z.array(keySchema).default([]).describe('Keys with a "kid" (RS256/ES256/EdDSA, or more HS256 secrets), for minting and rotation.'),
      signingKid: z
        .string()
        .min(1)
        .optional()
        .describe('Which key mints tokens. Default: the HS256 app secret (tokens without "kid").'),
    })
    .describe('JWT verification and minting (Prosody mod_auth_token\'s app_id / app_secret).'),
  apiKeys: z
    .array(
      z.object({
        id: z.string().min(1).max(64).describe('Name of the caller (logged, never the key).'),
        keyRef: secretRef.describe('Reference to the API key (sent as "Authorization: Bearer <key>").'),
        scopes: z.array(z.enum(API_SCOPES)).min(1).describe('What the key may do: issue, verify, turn.'),
      }),
    )
    .default([])
    .describe('Callers of the token API: Prosody (verify), your backend (issue, turn).'),
  rateLimit: z
    .object({
      windowSeconds: z.number().int().min(1).default(60).describe('Length of one rate-limit window.'),
      perApiKey: z.number().int().min(1).default(60_000).describe('Requests per window per API key.'),
      verifyPerIp: z
        .number()
        .int()
        .min(1)
        .default(600)
        .describe('Verifications per window per client address (the end user\'s, as Prosody reports it).'),
    })
    .describe('Rate limits (HB_ERR_TOKEN_RATE_LIMITED, 429).'),
  turn: z
    .object({
      secretRef: secretRef
        .optional()
        .describe('TURN REST shared secret (the same as Prosody\'s external_service_secret). Unset: the\nroute answers HB_ERR_TOKEN_TURN_DISABLED.')
        .meta({ example: 'env:HB_TURN_SECRET' }),
      host: z.string().min(1).optional().describe('TURN server host name clients use (required with secretRef).').meta({ example: 'turn.example.org' }),
      port: z.number().int().min(1).max(65_535).default(3478).describe('TURN port (UDP and TCP).'),
      tlsPort: z.number().int().min(1).max(65_535).default(5349).describe('TURNS (TLS) port.'),
      ttlSeconds: z.number().int().min(60).max(604_800).default(86_400).describe('Credential lifetime.'),
    })
    .default({ port: 3478, tlsPort: 5349, ttlSeconds: 86_400 })
    .describe('TURN REST credentials over HTTP (GET /v1/turn-credentials).'),
});

export type TokenConfig = z.output<typeof tokenConfigSchema>;
export type KeyConfig = z.output<typeof keySchema>;

export const tokenConfig = defineConfig(tokenConfigSchema, { appName: 'token' });
