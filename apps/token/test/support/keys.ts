import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createLogger, type Logger } from '@hummingbird/service';
import { tokenConfig, type TokenConfig } from '../../src/index.js';

export interface PemPair {
  privateKey: string;
  publicKey: string;
}

function pair(type: 'rsa' | 'ec' | 'ed25519'): PemPair {
  const options = type === 'rsa' ? { modulusLength: 2048 } : type === 'ec' ? { namedCurve: 'P-256' } : {};
  const { privateKey, publicKey } = generateKeyPairSync(type as 'rsa', {
    ...(options as { modulusLength: number }),
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}

/** Fresh key material per test file; handed to the service only through env: references. */
export interface TestKeys {
  appSecret: string;
  rsa: PemPair;
  ec: PemPair;
  ed: PemPair;
  apiKey: string;
  issueKey: string;
  turnSecret: string;
}

export function makeKeys(): TestKeys {
  return {
    appSecret: randomBytes(32).toString('base64url'),
    rsa: pair('rsa'),
    ec: pair('ec'),
    ed: pair('ed25519'),
    apiKey: `prosody-${randomBytes(16).toString('hex')}`,
    issueKey: `backend-${randomBytes(16).toString('hex')}`,
    turnSecret: randomBytes(20).toString('hex'),
  };
}

export const APP_ID = 'hb-test-app';

export function keyEnv(keys: TestKeys): Record<string, string> {
  return {
    T_APP_SECRET: keys.appSecret,
    T_RSA_PRIVATE: keys.rsa.privateKey,
    T_EC_PRIVATE: keys.ec.privateKey,
    T_ED_PUBLIC: keys.ed.publicKey,
    T_API_KEY: keys.apiKey,
    T_ISSUE_KEY: keys.issueKey,
    T_TURN_SECRET: keys.turnSecret,
  };
}

/** A token config with every key type; `overrides` patch the jwt/rateLimit sections. */
export function testConfig(overrides: { jwt?: Partial<TokenConfig['jwt']>; rateLimit?: Partial<TokenConfig['rateLimit']> } = {}): TokenConfig {
  const base = tokenConfig.loadConfig({
    env: {
      HB_TOKEN_JWT__APP_ID: APP_ID,
      HB_TOKEN_JWT__APP_SECRET_REF: 'env:T_APP_SECRET',
      HB_TOKEN_OPS__PORT: '0',
      HB_TOKEN_HTTP__PORT: '0',
    },
  });
  return {
    ...base,
    jwt: {
      ...base.jwt,
      keys: [
        { kid: 'rs-2026', alg: 'RS256', privateKeyRef: 'env:T_RSA_PRIVATE' },
        { kid: 'es-2026', alg: 'ES256', privateKeyRef: 'env:T_EC_PRIVATE' },
        { kid: 'ed-partner', alg: 'EdDSA', publicKeyRef: 'env:T_ED_PUBLIC' },
      ],
      ...overrides.jwt,
    },
    apiKeys: [
      { id: 'prosody', keyRef: 'env:T_API_KEY', scopes: ['verify'] },
      { id: 'backend', keyRef: 'env:T_ISSUE_KEY', scopes: ['issue', 'turn'] },
    ],
    rateLimit: { ...base.rateLimit, ...overrides.rateLimit },
    turn: { ...base.turn, secretRef: 'env:T_TURN_SECRET', host: 'turn.meet.test' },
  };
}

/** A logger whose JSON lines are kept, to assert what was (and was not) logged. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ name: 'token', level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines };
}
