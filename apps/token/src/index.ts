import { createLogger, readPackageVersion, startService, type Logger, type RunningService } from '@hummingbird/service';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { apiKeyDigest, buildTokenApi, type ApiKey } from './api.js';
import type { TokenConfig } from './config.js';
import { TokenIssuer } from './issuer.js';
import { KeyConfigError } from './errors.js';
import { KeyStore } from './keys.js';
import { TokenMetrics } from './metrics.js';
import { resolveSecret } from './secrets.js';
import { TokenVerifier } from './verifier.js';

export { API_SCOPES, SIGNING_ALGORITHMS, secretRef, tokenConfig, tokenConfigSchema, type ApiScope, type SigningAlgorithm, type TokenConfig } from './config.js';
export { REJECT_REASONS, TOKEN_ERRORS, TokenRejectedError, KeyConfigError, type RejectReason, type TokenErrorCode } from './errors.js';
export { buildTokenApi, apiKeyDigest, type ApiKey, type TokenApiOptions } from './api.js';
export { roomMatches, normaliseRoom, type VerifiedClaims } from './claims.js';
export { TokenIssuer, type MintRequest, type MintedToken } from './issuer.js';
export { KeyStore, asapKeyName, MIN_HS256_SECRET_BYTES } from './keys.js';
export { RateLimiter } from './rate-limit.js';
export { resolveSecret } from './secrets.js';
export { turnCredentials, type TurnCredentials, type TurnServer } from './turn.js';
export { TokenVerifier, type VerifyOptions } from './verifier.js';

export const APP_NAME = 'hummingbird-token';

/**
 * The XML element Prosody's Hummingbird token plugin stamps into MUC presence (prosody.md §4.5
 * step 5) — deliberately not Jitsi's `identity`, so lib-jitsi-meet does not misread it. Mirrors
 * `hb_claims_ns` in infra/prosody/plugins; packages/xmpp should own the constant once it has MUC
 * presence models.
 */
export const CLAIMS_ELEMENT = { name: 'claims', xmlns: 'urn:hummingbird:token:claims:0' } as const;

/** A started token service: the shared ops surface plus the token API. */
export interface TokenService extends RunningService {
  readonly api: FastifyInstance;
  /** `http://127.0.0.1:<port>` of the token API. */
  readonly apiAddress: string;
  readonly metrics: TokenMetrics;
}

/** Everything the API needs, built from the config (keys and secrets resolved, so a bad reference fails here). */
export async function buildComponents(config: TokenConfig, env: Readonly<Record<string, string | undefined>> = process.env) {
  const keys = await KeyStore.load(config.jwt, env);
  const verifier = new TokenVerifier(keys, config.jwt);
  const issuer = keys.signingKey === undefined ? undefined : new TokenIssuer(keys.signingKey, config.jwt);
  const apiKeys: ApiKey[] = config.apiKeys.map((k, i) => ({
    id: k.id,
    digest: apiKeyDigest(resolveSecret(k.keyRef, `apiKeys[${i}].keyRef`, env)),
    scopes: new Set(k.scopes),
  }));
  const turnSecret = config.turn.secretRef === undefined ? undefined : resolveSecret(config.turn.secretRef, 'turn.secretRef', env);
  if (turnSecret !== undefined && config.turn.host === undefined) throw new KeyConfigError('turn.host: required when turn.secretRef is set');
  return { keys, verifier, issuer, apiKeys, turnSecret };
}

/** Starts the token app: ops server, then the token API. The caller owns the returned service. */
export async function start(
  config: TokenConfig,
  logger: Logger = createLogger({ name: 'token', level: config.log.level }),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<TokenService> {
  const components = await buildComponents(config, env);
  const registry = new Registry();
  const metrics = new TokenMetrics(registry);
  let api: FastifyInstance | undefined;
  let apiAddress: string | undefined;
  const service = await startService({
    name: APP_NAME,
    version: readPackageVersion(import.meta.url),
    logger,
    ops: config.ops,
    drainTimeoutMs: config.shutdown.drainTimeoutMs,
    registry,
    health: () => (apiAddress === undefined ? { status: 'unhealthy', reasons: ['token API not listening'] } : { status: 'ok' }),
  });
  try {
    api = buildTokenApi({ config, metrics, logger, ...components });
    const listening = api;
    service.lifecycle.onShutdown('token api', () => listening.close());
    apiAddress = await api.listen({ host: config.http.host, port: config.http.port });
  } catch (error) {
    await service.close('start failed');
    throw error;
  }
  logger.info(
    {
      apiAddress,
      signing: components.issuer === undefined ? null : { kid: components.keys.signingKey?.kid ?? null, alg: components.keys.signingKey?.alg },
      apiKeys: components.apiKeys.map((k) => ({ id: k.id, scopes: [...k.scopes] })),
      turn: components.turnSecret !== undefined,
    },
    'token api listening',
  );
  return { ...service, api, apiAddress, metrics };
}
