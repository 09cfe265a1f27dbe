// The bench's server process (bench/verify.bench.ts starts it): the real token API and a bare
// fastify app side by side, so both are measured under the same conditions in the same run.
import { createLogger } from '@hummingbird/service';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { fastify } from 'fastify';
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { Registry } from 'prom-client';
import { buildComponents, buildTokenApi } from '../src/index.js';
import { TokenMetrics } from '../src/metrics.js';
import { APP_ID, keyEnv, testConfig, type TestKeys } from '../test/support/keys.js';

const keys = JSON.parse(process.env['HB_BENCH_KEYS'] ?? '{}') as TestKeys;
// Limits high enough never to trigger: the bench measures verification, not the limiter.
const config = testConfig({ rateLimit: { perApiKey: 1e9, verifyPerIp: 1e9 } });
const components = await buildComponents(config, keyEnv(keys));
const api = buildTokenApi({ config, metrics: new TokenMetrics(new Registry()), logger: createLogger({ name: 'token', level: 'silent' }), ...components });

const bare = fastify({ logger: false });
bare.get('/', () => ({ hello: 'world' }));
// The control for body parsing: the same JSON body as /v1/verify, parsed and answered, no crypto.
bare.post('/echo', (request) => ({ valid: true, size: JSON.stringify(request.body).length }));

// The minimal verify route of spec/benchmarks.md §2: jwtVerify with issuer, audience and the
// algorithm pinned, nothing else (no API key, no limits, no header policy, no claim schema). The
// ratio of /v1/verify to it is what the service's own request path costs.
const spki = (pem: string): string => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }).toString();
const bareKeys: Record<string, CryptoKey> = {
  HS256: await crypto.subtle.importKey('raw', Buffer.from(keys.appSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
  RS256: await importSPKI(spki(keys.rsa.privateKey), 'RS256'),
  ES256: await importSPKI(spki(keys.ec.privateKey), 'ES256'),
  EdDSA: await importSPKI(keys.ed.publicKey, 'EdDSA'),
};
bare.post('/jose-verify/:alg', async (request) => {
  const { alg } = request.params as { alg: string };
  const { token } = request.body as { token: string };
  const { payload } = await jwtVerify(token, bareKeys[alg] as CryptoKey, { algorithms: [alg], issuer: APP_ID, audience: 'jitsi' });
  return { valid: true, claims: payload };
});

const apiAddress = await api.listen({ host: '127.0.0.1', port: 0 });
const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ apiAddress, bareAddress });
process.on('disconnect', () => {
  void Promise.all([api.close(), bare.close()]).then(() => process.exit(0));
});
