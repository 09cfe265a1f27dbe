// The bench's server process (bench/verify.bench.ts starts it): the real token API and a bare
// fastify app side by side, so both are measured under the same conditions in the same run.
import { createLogger } from '@hummingbird/service';
import { fastify } from 'fastify';
import { Registry } from 'prom-client';
import { buildComponents, buildTokenApi } from '../src/index.js';
import { TokenMetrics } from '../src/metrics.js';
import { keyEnv, testConfig, type TestKeys } from '../test/support/keys.js';

const keys = JSON.parse(process.env['HB_BENCH_KEYS'] ?? '{}') as TestKeys;
// Limits high enough never to trigger: the bench measures verification, not the limiter.
const config = testConfig({ rateLimit: { perApiKey: 1e9, verifyPerIp: 1e9 } });
const components = await buildComponents(config, keyEnv(keys));
const api = buildTokenApi({ config, metrics: new TokenMetrics(new Registry()), logger: createLogger({ name: 'token', level: 'silent' }), ...components });

const bare = fastify({ logger: false });
bare.get('/', () => ({ hello: 'world' }));
// The control for body parsing: the same JSON body as /v1/verify, parsed and answered, no crypto.
bare.post('/echo', (request) => ({ valid: true, size: JSON.stringify(request.body).length }));

const apiAddress = await api.listen({ host: '127.0.0.1', port: 0 });
const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ apiAddress, bareAddress });
process.on('disconnect', () => {
  void Promise.all([api.close(), bare.close()]).then(() => process.exit(0));
});
