import { createHash, createPrivateKey, createPublicKey, createSecretKey, webcrypto, type KeyObject } from 'node:crypto';
import { importPKCS8, importSPKI, type JWK } from 'jose';
import type { KeyConfig, SigningAlgorithm, TokenConfig } from './config.js';
import { KeyConfigError, type RejectReason } from './errors.js';
import { resolveSecret } from './secrets.js';

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_HS256_SECRET_BYTES = 32;

/** A key that verifies tokens; `alg` is the only algorithm it accepts (RFC 8725 §3.1). */
export interface VerifyKey {
  /** `undefined` for the app secret, which verifies tokens that carry no `kid` (Jitsi's HS256 tokens). */
  readonly kid: string | undefined;
  readonly alg: SigningAlgorithm;
  /**
   * Imported once: jose 6 re-imports a Uint8Array or KeyObject through WebCrypto on every call
   * (benchmarks.md §2: half the throughput).
   */
  readonly key: webcrypto.CryptoKey;
  /**
   * HS256 only: the same secret as a node:crypto KeyObject, for the synchronous signature check
   * of {@link TokenVerifier} (no thread-pool round trip per token; benchmarks.md §2).
   */
  readonly secret: KeyObject | undefined;
  /** Epoch ms after which the key is retired (rotation overlap ends); undefined = no end. */
  readonly notAfter: number | undefined;
  /** SPKI public key of an asymmetric key, published at /<sha256(kid)>.pem and in the JWKS. */
  readonly publicKey: KeyObject | undefined;
}

export interface SigningKey {
  readonly kid: string | undefined;
  readonly alg: SigningAlgorithm;
  readonly key: webcrypto.CryptoKey;
}

/** `/<sha256(kid)>.pem`: Jitsi's ASAP key server naming (hex SHA-256 of the kid). */
export function asapKeyName(kid: string): string {
  return createHash('sha256').update(kid, 'utf8').digest('hex');
}

async function hmacKey(secret: string, key: string): Promise<{ key: webcrypto.CryptoKey; secret: KeyObject }> {
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < MIN_HS256_SECRET_BYTES) {
    throw new KeyConfigError(`${key}: an HS256 secret must be at least ${MIN_HS256_SECRET_BYTES} bytes (RFC 7518 §3.2), this one is ${bytes.length}`);
  }
  return { key: await webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']), secret: createSecretKey(bytes) };
}

interface LoadedKey {
  verify: VerifyKey;
  sign: SigningKey | undefined;
}

async function loadKey(config: KeyConfig, index: number, env: Readonly<Record<string, string | undefined>>): Promise<LoadedKey> {
  const where = `jwt.keys[${index}] (kid ${config.kid})`;
  const notAfter = config.notAfter === undefined ? undefined : Date.parse(config.notAfter);
  if (config.alg === 'HS256') {
    if (config.secretRef === undefined || config.privateKeyRef !== undefined || config.publicKeyRef !== undefined) {
      throw new KeyConfigError(`${where}: an HS256 key takes secretRef only`);
    }
    const { key, secret } = await hmacKey(resolveSecret(config.secretRef, `${where}.secretRef`, env), where);
    return { verify: { kid: config.kid, alg: 'HS256', key, secret, notAfter, publicKey: undefined }, sign: { kid: config.kid, alg: 'HS256', key } };
  }
  if (config.secretRef !== undefined) throw new KeyConfigError(`${where}: ${config.alg} takes privateKeyRef and/or publicKeyRef, not secretRef`);
  if (config.privateKeyRef === undefined && config.publicKeyRef === undefined) {
    throw new KeyConfigError(`${where}: ${config.alg} needs privateKeyRef (to mint) or publicKeyRef (to verify only)`);
  }
  try {
    let publicKey: KeyObject;
    let sign: SigningKey | undefined;
    if (config.privateKeyRef !== undefined) {
      const pem = resolveSecret(config.privateKeyRef, `${where}.privateKeyRef`, env);
      publicKey = createPublicKey(createPrivateKey(pem));
      sign = { kid: config.kid, alg: config.alg, key: await importPKCS8(pem, config.alg) };
    } else {
      publicKey = createPublicKey(resolveSecret(config.publicKeyRef as string, `${where}.publicKeyRef`, env));
    }
    checkKeyType(publicKey, config.alg, where);
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const key = await importSPKI(spki, config.alg);
    return { verify: { kid: config.kid, alg: config.alg, key, secret: undefined, notAfter, publicKey }, sign };
  } catch (error) {
    if (error instanceof KeyConfigError) throw error;
    throw new KeyConfigError(`${where}: cannot load the ${config.alg} key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function checkKeyType(key: KeyObject, alg: SigningAlgorithm, where: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (alg === 'RS256' && !(type === 'rsa' && (details?.modulusLength ?? 0) >= 2048)) {
    throw new KeyConfigError(`${where}: RS256 needs an RSA key of at least 2048 bits`);
  }
  if (alg === 'ES256' && !(type === 'ec' && details?.namedCurve === 'prime256v1')) throw new KeyConfigError(`${where}: ES256 needs a P-256 EC key`);
  if (alg === 'EdDSA' && type !== 'ed25519') throw new KeyConfigError(`${where}: EdDSA needs an Ed25519 key`);
}

/**
 * All keys of one token service: the app secret (tokens without `kid`), the keyed list with
 * rotation (`notAfter`), the one that mints, and the public halves for JWKS and ASAP.
 */
export class KeyStore {
  readonly #byKid = new Map<string, VerifyKey>();
  readonly #appKey: VerifyKey | undefined;
  readonly #signing: SigningKey | undefined;

  private constructor(keys: readonly VerifyKey[], appKey: VerifyKey | undefined, signing: SigningKey | undefined) {
    for (const key of keys) this.#byKid.set(key.kid as string, key);
    this.#appKey = appKey;
    this.#signing = signing;
  }

  static async load(config: TokenConfig['jwt'], env: Readonly<Record<string, string | undefined>> = process.env): Promise<KeyStore> {
    let appKey: VerifyKey | undefined;
    let appSigning: SigningKey | undefined;
    if (config.appSecretRef !== undefined) {
      const { key, secret } = await hmacKey(resolveSecret(config.appSecretRef, 'jwt.appSecretRef', env), 'jwt.appSecretRef');
      appKey = { kid: undefined, alg: 'HS256', key, secret, notAfter: undefined, publicKey: undefined };
      appSigning = { kid: undefined, alg: 'HS256', key };
    }
    const loaded: LoadedKey[] = [];
    const seen = new Set<string>();
    for (const [index, keyConfig] of config.keys.entries()) {
      if (seen.has(keyConfig.kid)) throw new KeyConfigError(`jwt.keys[${index}]: duplicate kid ${keyConfig.kid}`);
      seen.add(keyConfig.kid);
      loaded.push(await loadKey(keyConfig, index, env));
    }
    if (appKey === undefined && loaded.length === 0) throw new KeyConfigError('jwt: no key configured: set jwt.appSecretRef or jwt.keys');
    let signing: SigningKey | undefined = appSigning;
    if (config.signingKid !== undefined) {
      const match = loaded.find((k) => k.verify.kid === config.signingKid);
      if (match === undefined) throw new KeyConfigError(`jwt.signingKid: no key with kid ${config.signingKid} in jwt.keys`);
      if (match.sign === undefined) throw new KeyConfigError(`jwt.signingKid: key ${config.signingKid} has no private key (publicKeyRef only)`);
      signing = match.sign;
    }
    return new KeyStore(
      loaded.map((k) => k.verify),
      appKey,
      signing,
    );
  }

  /** The key for a token header's `kid`, or why there is none. Never looks at the header's `alg`. */
  verifyKey(kid: string | undefined, nowMs: number): VerifyKey | RejectReason {
    const key = kid === undefined ? this.#appKey : this.#byKid.get(kid);
    if (key === undefined) return 'unknown_kid';
    if (key.notAfter !== undefined && nowMs > key.notAfter) return 'key_retired';
    return key;
  }

  get signingKey(): SigningKey | undefined {
    return this.#signing;
  }

  #published(nowMs: number): VerifyKey[] {
    return [...this.#byKid.values()].filter((k) => k.publicKey !== undefined && (k.notAfter === undefined || nowMs <= k.notAfter));
  }

  /** RFC 7517 JWK Set of the asymmetric keys still in service (never an HS256 secret). */
  jwks(nowMs: number): { keys: JWK[] } {
    return {
      keys: this.#published(nowMs).map((k) => ({
        ...(k.publicKey as KeyObject).export({ format: 'jwk' }),
        kid: k.kid,
        alg: k.alg,
        use: 'sig',
      })),
    };
  }

  /** The SPKI PEM published as `/<sha256(kid)>.pem`, as Jitsi's `asap_key_server` expects. */
  pemByAsapName(name: string, nowMs: number): string | undefined {
    const key = this.#published(nowMs).find((k) => asapKeyName(k.kid as string) === name);
    return key?.publicKey?.export({ type: 'spki', format: 'pem' }).toString();
  }
}
