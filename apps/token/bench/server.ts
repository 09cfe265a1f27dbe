// A server process of the bench (bench/verify.bench.ts forks two: `api` and `bare`). Each side has
// its own process, heap and libuv thread pool (spec/benchmarks.md §2: server per case in its own
// process), so neither's garbage or crypto jobs slow the other, and a CPU profile of `api` shows
// only the token service.
import { createLogger } from '@hummingbird/service';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { fastify, type FastifyInstance } from 'fastify';
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { Registry } from 'prom-client';
import { buildComponents, buildTokenApi } from '../src/index.js';
import { TokenMetrics } from '../src/metrics.js';
import { APP_ID, keyEnv, testConfig, type TestKeys } from '../test/support/keys.js';

const BENCH_ALGS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
type BenchAlg = (typeof BENCH_ALGS)[number];

/** What a server child sends its parent once it listens (verify.bench.ts reads it). */
interface ServerReady {
  /** `api`: the one token API address (every algorithm). `bare`: one address per algorithm, plus `hello`/`echo`. */
  addresses: Record<string, string>;
}

async function api(keys: TestKeys): Promise<ServerReady> {
  // Limits high enough never to trigger: the bench measures verification, not the limiter. The
  // logger is the service's own (pino) at `silent`: fastify still builds its per-request child.
  const config = testConfig({ rateLimit: { perApiKey: 1e9, verifyPerIp: 1e9 } });
  const components = await buildComponents(config, keyEnv(keys));
  const app = buildTokenApi({ config, metrics: new TokenMetrics(new Registry()), logger: createLogger({ name: 'token', level: 'silent' }), ...components });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onDisconnect([app]);
  return { addresses: { api: address } };
}

// The minimal verify route of spec/benchmarks.md §2: jwtVerify with issuer, audience and the
// algorithm pinned, the key imported once as a CryptoKey (as the service does), nothing else (no
// API key, no limits, no header policy, no claim checks, no body schema, no logger). One fastify
// instance per algorithm, each answering the *same path* as the service, so the load generator
// sends byte-identical requests to both sides and only the port differs.
async function bare(keys: TestKeys): Promise<ServerReady> {
  const spki = (pem: string): string => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }).toString();
  const bareKeys: Record<BenchAlg, CryptoKey> = {
    HS256: await crypto.subtle.importKey('raw', Buffer.from(keys.appSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
    RS256: await importSPKI(spki(keys.rsa.privateKey), 'RS256'),
    ES256: await importSPKI(spki(keys.ec.privateKey), 'ES256'),
    EdDSA: await importSPKI(keys.ed.publicKey, 'EdDSA'),
  };
  const apps: FastifyInstance[] = [];
  const addresses: Record<string, string> = {};
  for (const alg of BENCH_ALGS) {
    const app = fastify({ logger: false });
    const key = bareKeys[alg];
    const options = { algorithms: [alg], issuer: APP_ID, audience: 'jitsi' };
    app.post('/v1/verify', async (request) => {
      const { token } = request.body as { token: string };
      const { payload } = await jwtVerify(token, key, options);
      return { valid: true, claims: payload };
    });
    addresses[alg] = await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
  }
  // Controls: fastify's floor (hello) and body parsing alone (the same JSON body, no crypto).
  const controls = fastify({ logger: false });
  controls.get('/', () => ({ hello: 'world' }));
  controls.post('/v1/verify', (request) => ({ valid: true, size: JSON.stringify(request.body).length }));
  const controlAddress = await controls.listen({ host: '127.0.0.1', port: 0 });
  apps.push(controls);
  addresses['hello'] = controlAddress;
  addresses['echo'] = controlAddress;
  onDisconnect(apps);
  return { addresses };
}

function onDisconnect(apps: FastifyInstance[]): void {
  process.on('disconnect', () => {
    void Promise.all(apps.map((a) => a.close())).then(() => process.exit(0));
  });
}

const keys = JSON.parse(process.env['HB_BENCH_KEYS'] ?? '{}') as TestKeys;
const role = process.argv[2];
if (role !== 'api' && role !== 'bare') throw new Error(`bench/server.ts: role must be api or bare, not ${String(role)}`);
process.send?.(role === 'api' ? await api(keys) : await bare(keys));
// The parent asks for this process's CPU time (all threads: the crypto jobs of the libuv pool
// included) before and after each slice, to report server CPU per request next to req/s.
process.on('message', (message) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  }
});
