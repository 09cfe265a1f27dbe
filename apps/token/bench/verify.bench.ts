// pnpm bench: verify requests/s over HTTP next to a bare fastify route (same run, same machine,
// server in its own process), and jose verify ops/s per algorithm. Prints ratios; asserts nothing
// (rules: benchmarks print ratios, tests assert behaviour). Bounded: ~30 s in all.
import { fork } from 'node:child_process';
import { createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { importSPKI, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { APP_ID, makeKeys } from '../test/support/keys.js';
import { claims } from '../test/support/tokens.js';

const CONNECTIONS = 32;
const WARMUP_MS = 500;
const MEASURE_MS = 1_500;
const REPEATS = 3;

const keys = makeKeys();
const payload = claims({ exp: Math.floor(Date.now() / 1000) + 3_600 });
const tokens = {
  HS256: await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(createSecretKey(Buffer.from(keys.appSecret))),
  RS256: await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'rs-2026' }).sign(createPrivateKey(keys.rsa.privateKey)),
  ES256: await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'es-2026' }).sign(createPrivateKey(keys.ec.privateKey)),
  EdDSA: await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: 'ed-partner' }).sign(createPrivateKey(keys.ed.privateKey)),
};

// --- 1. jose alone, in this process: ops/s per algorithm (keys imported once as CryptoKey).
const spki = (privatePem: string): string => createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();
const verifyKeys: Record<keyof typeof tokens, CryptoKey> = {
  HS256: await crypto.subtle.importKey('raw', Buffer.from(keys.appSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
  RS256: await importSPKI(spki(keys.rsa.privateKey), 'RS256'),
  ES256: await importSPKI(spki(keys.ec.privateKey), 'ES256'),
  EdDSA: await importSPKI(keys.ed.publicKey, 'EdDSA'),
};

console.log('jose verify, one process, keys imported once (ops/s):');
const joseRates: Record<string, number> = {};
for (const alg of Object.keys(tokens) as (keyof typeof tokens)[]) {
  const key = verifyKeys[alg];
  const options = { algorithms: [alg], issuer: APP_ID, audience: 'jitsi' };
  for (let i = 0; i < 200; i++) await jwtVerify(tokens[alg], key, options);
  let n = 0;
  const end = performance.now() + 1_000;
  const t0 = performance.now();
  while (performance.now() < end) {
    await jwtVerify(tokens[alg], key, options);
    n++;
  }
  joseRates[alg] = n / ((performance.now() - t0) / 1000);
  console.log(`  ${alg.padEnd(6)} ${Math.round(joseRates[alg]).toString().padStart(8)}  (ratio to HS256 ${(joseRates[alg] / (joseRates['HS256'] ?? 1)).toFixed(2)})`);
}

// --- 1b. The service's whole verify (header checks, key lookup, jose, claim schema), in process.
{
  const { buildComponents } = await import('../src/index.js');
  const { keyEnv, testConfig } = await import('../test/support/keys.js');
  const { verifier } = await buildComponents(testConfig(), keyEnv(keys));
  console.log('TokenVerifier.verify (every check), one process (ops/s):');
  for (const alg of Object.keys(tokens) as (keyof typeof tokens)[]) {
    for (let i = 0; i < 200; i++) await verifier.verify(tokens[alg], { room: 'r1' });
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1_000) {
      await verifier.verify(tokens[alg], { room: 'r1' });
      n++;
    }
    const rate = n / ((performance.now() - t0) / 1000);
    console.log(`  ${alg.padEnd(6)} ${Math.round(rate).toString().padStart(8)}  (ratio to bare jose ${(rate / (joseRates[alg] ?? 1)).toFixed(2)})`);
  }
}

// --- 2. Over HTTP: the server in its own process, this process generates load.
const child = fork(fileURLToPath(new URL('./server.ts', import.meta.url)), [], {
  env: { ...process.env, HB_BENCH_KEYS: JSON.stringify(keys) },
  execArgv: ['--import', 'tsx', '--conditions', 'hummingbird-source', ...(process.env['HB_BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=' + process.env['HB_BENCH_CPU_PROF']] : [])],
});
const [{ apiAddress, bareAddress }] = (await once(child, 'message')) as [{ apiAddress: string; bareAddress: string }];

interface Case {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}
const verifyCase = (alg: keyof typeof tokens): Case => ({
  name: `POST /v1/verify ${alg}`,
  url: `${apiAddress}/v1/verify`,
  method: 'POST',
  body: JSON.stringify({ token: tokens[alg], room: 'r1', host: 'meet.test', ip: '192.0.2.1' }),
  headers: { authorization: `Bearer ${keys.apiKey}` },
});
const bareVerifyCase = (alg: keyof typeof tokens): Case => ({
  name: `bare jose verify ${alg}`,
  url: `${bareAddress}/jose-verify/${alg}`,
  method: 'POST',
  body: verifyCase(alg).body,
});
const ALGS = Object.keys(tokens) as (keyof typeof tokens)[];
const cases: Case[] = [
  { name: 'bare GET / (hello)', url: `${bareAddress}/`, method: 'GET' },
  { name: 'bare POST /echo (same body)', url: `${bareAddress}/echo`, method: 'POST', body: verifyCase('HS256').body },
  ...ALGS.flatMap((alg) => [bareVerifyCase(alg), verifyCase(alg)]),
];

async function load(c: Case, durationMs: number): Promise<{ rate: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const url = new URL(c.url);
  const headers = { 'content-type': 'application/json', ...(c.headers ?? {}), ...(c.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(c.body)) }) };
  let done = 0;
  let errors = 0;
  const end = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await new Promise<void>((resolve) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: c.method, agent, headers: c.method === 'GET' ? {} : headers }, (res) => {
          if (res.statusCode !== 200) errors++;
          res.resume();
          res.on('end', () => {
            done++;
            resolve();
          });
        });
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end(c.body);
      });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const rate = done / ((performance.now() - t0) / 1000);
  agent.destroy();
  return { rate, errors };
}

const results = new Map<string, number[]>();
for (let r = 0; r < REPEATS; r++) {
  for (const c of cases) {
    await load(c, WARMUP_MS);
    const { rate, errors } = await load(c, MEASURE_MS);
    if (errors > 0) console.log(`  ! ${c.name}: ${errors} non-200 answers`);
    results.set(c.name, [...(results.get(c.name) ?? []), rate]);
  }
}
child.disconnect();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const hello = median(results.get(cases[0]?.name ?? '') ?? [1]);
const echo = median(results.get(cases[1]?.name ?? '') ?? [1]);
console.log(`\nHTTP, ${CONNECTIONS} keep-alive connections, ${MEASURE_MS} ms x ${REPEATS} interleaved, median req/s (load generator shares the cores):`);
console.log(`  ${'case'.padEnd(30)} ${'req/s'.padStart(8)}  ratio to bare echo  ratio to bare hello`);
for (const c of cases) {
  const rate = median(results.get(c.name) ?? [0]);
  console.log(`  ${c.name.padEnd(30)} ${Math.round(rate).toString().padStart(8)}  ${(rate / echo).toFixed(2).padStart(18)}  ${(rate / hello).toFixed(2).padStart(19)}`);
}
console.log('\n/v1/verify next to a bare fastify route doing only jose jwtVerify (same body, same key):');
for (const alg of ALGS) {
  const ours = median(results.get(verifyCase(alg).name) ?? [0]);
  const bareRate = median(results.get(bareVerifyCase(alg).name) ?? [1]);
  console.log(`  ${alg.padEnd(6)} ratio ${(ours / bareRate).toFixed(2)} (goal >= 0.8)`);
}
