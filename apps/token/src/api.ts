import { hash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@hummingbird/service';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiScope, TokenConfig } from './config.js';
import { TOKEN_ERRORS, TokenRejectedError, type TokenErrorCode } from './errors.js';
import type { TokenIssuer } from './issuer.js';
import type { KeyStore } from './keys.js';
import type { TokenMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { lazyRequestLogger } from './request-logger.js';
import { turnCredentials } from './turn.js';
import type { TokenVerifier } from './verifier.js';

/** Hard cap on any request body; the token itself is capped lower by `jwt.maxTokenBytes`. */
const BODY_LIMIT_BYTES = 128 * 1024;
const MAX_TOKEN_FIELD = 65_536;

// One zod source per body: the TS type and the fastify (JSON Schema) validator come from it.
export const verifyBody = z
  .object({
    token: z.string().min(1).max(MAX_TOKEN_FIELD),
    room: z.string().min(1).max(1024).optional(),
    username: z.string().min(1).max(1024).optional(),
    host: z.string().max(1024).optional(),
    ip: z.string().max(64).optional(),
  })
  .strict();
export type VerifyBody = z.output<typeof verifyBody>;

const userSchema = z
  .object({
    id: z.string().max(1024).optional(),
    name: z.string().max(1024).optional(),
    email: z.string().max(1024).optional(),
    avatar: z.string().max(1024).optional(),
  })
  .strict();

export const mintBody = z
  .object({
    room: z.string().min(1).max(256),
    user: userSchema.optional(),
    moderator: z.boolean().optional(),
    affiliation: z.enum(['owner', 'moderator', 'member', 'none']).optional(),
    ttlSeconds: z.number().int().min(1).optional(),
    sub: z.string().min(1).max(256).optional(),
    group: z.string().max(1024).optional(),
    features: z.record(z.string().max(64), z.union([z.boolean(), z.string().max(64)])).optional(),
  })
  .strict();
export type MintBody = z.output<typeof mintBody>;

const turnQuery = z.object({ user: z.string().max(256).optional() }).strict();

const errorBody = z.object({ code: z.string(), message: z.string(), reason: z.string().optional() });
const claimsBody = z.object({
  iss: z.string(),
  aud: z.array(z.string()),
  sub: z.string().optional(),
  room: z.string(),
  exp: z.number(),
  nbf: z.number().optional(),
  user: userSchema,
  moderator: z.boolean(),
  affiliation: z.string().optional(),
  group: z.string().optional(),
  features: z.record(z.string(), z.union([z.boolean(), z.string()])).optional(),
  kid: z.string().optional(),
  alg: z.string(),
});
const verifyOk = z.object({ valid: z.literal(true), claims: claimsBody });
const mintOk = z.object({ token: z.string(), expiresAt: z.number(), kid: z.string().optional(), alg: z.string() });
const turnOk = z.object({ username: z.string(), password: z.string(), ttl: z.number(), expiresAt: z.number(), uris: z.array(z.string()) });

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // fastify speaks draft-07 and does not want the `$schema` marker.
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
  return rest;
}

export interface ApiKey {
  id: string;
  digest: Buffer;
  scopes: ReadonlySet<ApiScope>;
}

export function apiKeyDigest(key: string): Buffer {
  // One-shot hash (Node >= 20.12): no Hash object per request, same SHA-256 digest.
  return hash('sha256', key, 'buffer');
}

export interface TokenApiOptions {
  config: TokenConfig;
  keys: KeyStore;
  verifier: TokenVerifier;
  issuer: TokenIssuer | undefined;
  apiKeys: readonly ApiKey[];
  turnSecret: string | undefined;
  metrics: TokenMetrics;
  logger: Logger;
}

class ApiError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(reply: FastifyReply, code: TokenErrorCode, message: string, extra: Record<string, string> = {}): FastifyReply {
  return reply.code(TOKEN_ERRORS[code].httpStatus).send({ code, message, ...extra });
}

/**
 * The token API as a fastify instance (STYLE.md: schema first, `HB_ERR_*` codes, `inject()` in
 * tests). It logs every refusal with its reason and caller, never the token or a key.
 */
export function buildTokenApi(options: TokenApiOptions): FastifyInstance {
  const { config, metrics, logger } = options;
  const loggerInstance: FastifyBaseLogger = logger.child({ component: 'api' });
  const app = fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.http.trustProxy,
    // Unknown fields and wrong types are errors, not silently dropped or coerced (fastify's defaults).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Request lines are not logged: the verify route sees thousands per minute, and the outcome
    // lines below say what matters.
    logController: new LogController({ disableRequestLogging: true }),
    // The per-request child logger is built on the first line a request logs, not on every request.
    childLoggerFactory: lazyRequestLogger,
  });
  const windowMs = config.rateLimit.windowSeconds * 1000;
  const perKey = new RateLimiter({ limit: config.rateLimit.perApiKey, windowMs });
  const perIp = new RateLimiter({ limit: config.rateLimit.verifyPerIp, windowMs });
  // Guessing API keys: failed authentications count per TCP peer, with the verify-per-address budget.
  const authFailuresPerPeer = new RateLimiter({ limit: config.rateLimit.verifyPerIp, windowMs });

  function authenticate(request: FastifyRequest, scope: ApiScope): ApiKey {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    if (match === null) throw new ApiError('HB_ERR_TOKEN_UNAUTHENTICATED', 'send the API key as Authorization: Bearer <key>');
    const digest = apiKeyDigest(match[1] as string);
    // Compare against every key in constant time per key, so timing says nothing about which matched.
    let found: ApiKey | undefined;
    for (const key of options.apiKeys) if (timingSafeEqual(key.digest, digest)) found = key;
    if (found === undefined) {
      if (authFailuresPerPeer.hit(request.ip) > 0) {
        metrics.rateLimited.inc({ scope: 'auth_failures' });
        throw new ApiError('HB_ERR_TOKEN_RATE_LIMITED', 'too many failed authentications from this address', { 'retry-after': String(config.rateLimit.windowSeconds) });
      }
      throw new ApiError('HB_ERR_TOKEN_UNAUTHENTICATED', 'unknown API key');
    }
    if (!found.scopes.has(scope)) throw new ApiError('HB_ERR_TOKEN_FORBIDDEN', `API key ${found.id} lacks scope ${scope}`);
    const retryAfter = perKey.hit(found.id);
    if (retryAfter > 0) {
      metrics.rateLimited.inc({ scope: 'api_key' });
      throw new ApiError('HB_ERR_TOKEN_RATE_LIMITED', `rate limit of API key ${found.id} reached`, { 'retry-after': String(retryAfter) });
    }
    return found;
  }

  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof ApiError) {
      if (error.code !== 'HB_ERR_TOKEN_RATE_LIMITED') request.log.info({ code: error.code, ip: request.ip, url: request.routeOptions.url }, error.message);
      return send(reply.headers(error.headers), error.code, error.message);
    }
    const fastifyError = error as { validation?: unknown; statusCode?: number; message?: string; code?: string };
    if (fastifyError.validation !== undefined || fastifyError.statusCode === 400 || fastifyError.statusCode === 415) {
      return send(reply, 'HB_ERR_TOKEN_BAD_REQUEST', fastifyError.message ?? 'bad request');
    }
    if (fastifyError.statusCode === 413) return reply.code(413).send({ code: 'HB_ERR_TOKEN_BAD_REQUEST', message: 'request body too large' });
    request.log.error({ err: error }, 'token api: unexpected error');
    return send(reply, 'HB_ERR_TOKEN_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((_request, reply) => send(reply, 'HB_ERR_TOKEN_NOT_FOUND', 'not found'));

  const errors = { 400: jsonSchema(errorBody), 401: jsonSchema(errorBody), 403: jsonSchema(errorBody), 404: jsonSchema(errorBody), 429: jsonSchema(errorBody), 503: jsonSchema(errorBody) };

  app.post('/v1/verify', { schema: { body: jsonSchema(verifyBody), response: { 200: jsonSchema(verifyOk), ...errors } } }, async (request, reply) => {
    const caller = authenticate(request, 'verify');
    const body = request.body as VerifyBody;
    // Per end-user address when Prosody reports it (a brute force through Prosody comes from one
    // user, not from Prosody), else per TCP peer.
    const ip = body.ip ?? request.ip;
    const retryAfter = perIp.hit(ip);
    if (retryAfter > 0) {
      metrics.rateLimited.inc({ scope: 'verify_ip' });
      throw new ApiError('HB_ERR_TOKEN_RATE_LIMITED', 'verify rate limit for this client address reached', { 'retry-after': String(retryAfter) });
    }
    try {
      const claims = await options.verifier.verify(body.token, { room: body.room, username: body.username });
      metrics.verified.inc({ alg: claims.alg });
      return { valid: true, claims };
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      metrics.rejected.inc({ reason: error.reason });
      // The reason, the caller and where it came from; never the token (prosody.md §4.4: tokens leak through logs).
      request.log.warn(
        { reason: error.reason, caller: caller.id, ip, ...(body.host === undefined ? {} : { host: body.host }), ...(body.room === undefined ? {} : { room: body.room }) },
        `token rejected: ${error.reason}`,
      );
      return send(reply, 'HB_ERR_TOKEN_REJECTED', error.message, { reason: error.reason });
    }
  });

  app.post('/v1/tokens', { schema: { body: jsonSchema(mintBody), response: { 200: jsonSchema(mintOk), ...errors } } }, async (request) => {
    const caller = authenticate(request, 'issue');
    if (options.issuer === undefined) throw new ApiError('HB_ERR_TOKEN_NO_SIGNING_KEY', 'no signing key configured (jwt.appSecretRef or jwt.signingKid)');
    const body = request.body as MintBody;
    const minted = await options.issuer.mint(body);
    metrics.issued.inc({ alg: minted.alg });
    request.log.info({ caller: caller.id, room: body.room, moderator: body.moderator ?? false, kid: minted.kid, expiresAt: minted.expiresAt }, 'token issued');
    return minted;
  });

  app.get('/v1/turn-credentials', { schema: { querystring: jsonSchema(turnQuery), response: { 200: jsonSchema(turnOk), ...errors } } }, async (request) => {
    const turn = config.turn;
    if (turn.host === undefined || options.turnSecret === undefined) throw new ApiError('HB_ERR_TOKEN_TURN_DISABLED', 'TURN credentials are not configured');
    const query = request.query as z.output<typeof turnQuery>;
    let user: string;
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && bearer.split('.').length === 3) {
      // A client that holds a meeting JWT may fetch credentials for itself.
      try {
        const claims = await options.verifier.verify(bearer);
        user = claims.user.id ?? claims.sub ?? '';
      } catch (error) {
        if (!(error instanceof TokenRejectedError)) throw error;
        metrics.rejected.inc({ reason: error.reason });
        request.log.warn({ reason: error.reason, ip: request.ip, route: 'turn-credentials' }, `token rejected: ${error.reason}`);
        throw new ApiError('HB_ERR_TOKEN_UNAUTHENTICATED', `token rejected: ${error.reason}`);
      }
    } else {
      authenticate(request, 'turn');
      user = query.user ?? '';
    }
    metrics.turnCredentials.inc();
    return turnCredentials(options.turnSecret, { host: turn.host, port: turn.port, tlsPort: turn.tlsPort, ttlSeconds: turn.ttlSeconds }, user);
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    await reply.header('cache-control', 'max-age=300').send(options.keys.jwks(Date.now()));
  });

  // Jitsi's ASAP key server layout: GET <asap_key_server>/<sha256 hex of kid>.pem
  app.get('/:file', async (request, reply) => {
    const file = (request.params as { file: string }).file;
    const name = /^([0-9a-f]{64})\.pem$/.exec(file)?.[1];
    const pem = name === undefined ? undefined : options.keys.pemByAsapName(name, Date.now());
    if (pem === undefined) return send(reply, 'HB_ERR_TOKEN_NOT_FOUND', 'no such key');
    return reply.type('application/x-pem-file').header('cache-control', 'max-age=300').send(pem);
  });

  return app;
}
