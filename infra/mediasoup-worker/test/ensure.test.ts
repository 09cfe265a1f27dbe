// The worker cache: a second install reuses the build, a corrupt binary is never used, the key
// follows the recipe, and the lookup order is config > MEDIASOUP_WORKER_BIN > cache.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureWorker } from '../src/ensure.js';
import {
  cacheKey,
  cacheRoot,
  mediasoupPackageDir,
  mediasoupVersion,
  readBuildInfo,
  RECIPE_DIR,
  RECIPE_INPUTS,
  recipeHash,
  resolveWorkerBin,
  cachedWorkerDir,
  WorkerBinaryError,
} from '../src/index.js';

/** Writes an executable file and its checksum, as build.sh does. */
function writeFakeBuild(dir: string, content = '#!/bin/sh\nexit 0\n'): string {
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'mediasoup-worker');
  writeFileSync(bin, content, { mode: 0o755 });
  const sum = createHash('sha256').update(content).digest('hex');
  writeFileSync(`${bin}.sha256`, `${sum}  mediasoup-worker\n`);
  return bin;
}

describe('worker cache (unit, fake binaries)', () => {
  let root: string;
  const env = {} as NodeJS.ProcessEnv; // no MEDIASOUP_WORKER_BIN
  const lines: string[] = [];
  const log = (line: string): void => void lines.push(line);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'hb-worker-cache-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reuses a verified cached build and does not run the build', async () => {
    writeFakeBuild(join(root, cacheKey()));
    let builds = 0;
    const result = await ensureWorker({ env, cacheRoot: root, log, runBuild: () => Promise.resolve(void builds++) });
    expect(builds).toBe(0);
    expect(result.built).toBe(false);
    expect(lines.join('\n')).toContain('reusing cached build');
  });

  it('builds when nothing is cached, then reuses the result on the next call', async () => {
    let builds = 0;
    const runBuild = (outDir: string): Promise<void> => {
      builds++;
      writeFakeBuild(outDir);
      return Promise.resolve();
    };
    const first = await ensureWorker({ env, cacheRoot: root, log, runBuild });
    const second = await ensureWorker({ env, cacheRoot: root, log, runBuild });
    expect([first.built, second.built, builds]).toEqual([true, false, 1]);
  });

  it('rebuilds a cached binary whose checksum no longer matches', async () => {
    const bin = writeFakeBuild(join(root, cacheKey()));
    writeFileSync(bin, 'corrupted', { mode: 0o755 });
    let builds = 0;
    const result = await ensureWorker({
      env,
      cacheRoot: root,
      log,
      runBuild: (outDir) => Promise.resolve(void (builds++, writeFakeBuild(outDir))),
    });
    expect(builds).toBe(1);
    expect(result.built).toBe(true);
    expect(lines.join('\n')).toMatch(/unusable \(checksum mismatch/);
  });

  it('refuses a corrupt cached binary with a message that says how to fix it', () => {
    const dir = join(root, 'some-key');
    const bin = writeFakeBuild(dir);
    writeFileSync(bin, 'truncated', { mode: 0o755 });
    let error: unknown;
    try {
      resolveWorkerBin({ env, cacheDir: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WorkerBinaryError);
    expect((error as WorkerBinaryError).code).toBe('HB_ERR_WORKER_CORRUPT');
    expect((error as WorkerBinaryError).message).toMatch(/checksum mismatch.*npm run setup/);
  });

  it('reports a missing build in check mode instead of compiling', async () => {
    await expect(ensureWorker({ env, cacheRoot: root, log, build: false })).rejects.toMatchObject({
      code: 'HB_ERR_WORKER_NOT_BUILT',
    });
  });

  it('a failed build leaves nothing in the cache and surfaces the failure', async () => {
    await expect(
      ensureWorker({ env, cacheRoot: root, log, runBuild: () => Promise.reject(new Error('compiler exploded')) }),
    ).rejects.toThrow('compiler exploded');
    expect(() => resolveWorkerBin({ env, cacheDir: join(root, cacheKey()) })).toThrow(/not built yet/);
  });

  it('looks up the binary from config first, then MEDIASOUP_WORKER_BIN, then the cache', () => {
    const cached = writeFakeBuild(join(root, 'cached'));
    const fromEnv = writeFakeBuild(join(root, 'env'));
    const fromConfig = writeFakeBuild(join(root, 'config'));
    const withEnv = { MEDIASOUP_WORKER_BIN: fromEnv } as NodeJS.ProcessEnv;
    expect(resolveWorkerBin({ explicit: fromConfig, env: withEnv, cacheDir: join(root, 'cached') })).toEqual({
      path: fromConfig,
      source: 'explicit',
    });
    expect(resolveWorkerBin({ env: withEnv, cacheDir: join(root, 'cached') })).toEqual({ path: fromEnv, source: 'env' });
    expect(resolveWorkerBin({ env, cacheDir: join(root, 'cached') })).toEqual({ path: cached, source: 'cache' });
    expect(() => resolveWorkerBin({ env: { MEDIASOUP_WORKER_BIN: join(root, 'nope') } })).toThrow(
      /MEDIASOUP_WORKER_BIN=.*does not exist/,
    );
  });

  it('keys the cache by mediasoup version and a hash that changes with any recipe file', () => {
    const copy = join(root, 'recipe');
    for (const part of RECIPE_INPUTS) cpSync(join(RECIPE_DIR, part), join(copy, part), { recursive: true });
    expect(recipeHash(copy)).toBe(recipeHash());
    // The libsrtp2 recipe is part of the key (a new libsrtp build means a new worker).
    const srtpRecipe = join(copy, 'libsrtp.sh');
    writeFileSync(srtpRecipe, readFileSync(srtpRecipe, 'utf8') + '\n');
    expect(recipeHash(copy)).not.toBe(recipeHash());
    cpSync(join(RECIPE_DIR, 'libsrtp.sh'), srtpRecipe);
    expect(recipeHash(copy)).toBe(recipeHash());
    const patch = join(copy, 'patches', '0002-ice-accept-controlled-peer.patch');
    writeFileSync(patch, readFileSync(patch, 'utf8') + '\n');
    expect(recipeHash(copy)).not.toBe(recipeHash());
    expect(cacheKey()).toBe(`${mediasoupVersion()}-${recipeHash()}`);
    expect(mediasoupVersion()).toBe('3.19.3');
  });

  it('puts the cache outside the clone, under XDG_CACHE_HOME or ~/.cache', () => {
    expect(cacheRoot({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/hummingbird/mediasoup-worker');
    expect(cacheRoot({ HOME: '/home/u' })).toBe('/home/u/.cache/hummingbird/mediasoup-worker');
  });
});

describe('build.sh failures are one clear message', () => {
  it('stops when a patch no longer applies to the mediasoup sources', () => {
    const recipe = mkdtempSync(join(tmpdir(), 'hb-recipe-'));
    // A cache of its own (no wait on a real build's lock), sharing the meson that the real
    // build already fetched so this test does not download it again.
    const cache = mkdtempSync(join(tmpdir(), 'hb-cache-'));
    try {
      for (const part of ['build.sh', 'common.sh', 'libsrtp.sh', 'shims']) {
        cpSync(join(RECIPE_DIR, part), join(recipe, part), { recursive: true });
      }
      mkdirSync(join(recipe, 'patches'));
      writeFileSync(
        join(recipe, 'patches', '0001-moved-upstream.patch'),
        '--- a/src/RTC/IceServer.cpp\n+++ b/src/RTC/IceServer.cpp\n@@ -1,1 +1,1 @@\n-this line is not in the file\n+replacement\n',
      );
      const realTools = join(cacheRoot(), 'tools');
      if (existsSync(realTools)) symlinkSync(realTools, join(cache, 'tools'));
      const r = spawnSync('bash', [join(recipe, 'build.sh'), mediasoupPackageDir(), join(cache, 'out')], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('patch 0001-moved-upstream.patch does not apply to mediasoup 3.19.3');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(join(cache, 'out')), 'no half-written output').toBe(false);
    } finally {
      rmSync(recipe, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('stops when the mediasoup sources are missing', () => {
    const r = spawnSync('bash', [join(RECIPE_DIR, 'build.sh'), '/nonexistent', join(tmpdir(), 'hb-never')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no mediasoup worker sources in /nonexistent/worker');
    expect(r.stderr).toContain('pnpm install');
  });
});

describe('the installed worker (real cache)', () => {
  it('is already built and verified, so a second install does not rebuild it', async () => {
    const lines: string[] = [];
    const env = { ...process.env };
    delete env['MEDIASOUP_WORKER_BIN'];
    const result = await ensureWorker({ env, build: false, log: (l) => void lines.push(l) });
    console.log(lines.join('\n'));
    expect(result.built).toBe(false);
    expect(result.source).toBe('cache');
    expect(lines.join('\n')).toContain('no rebuild');
  });

  it('links libsrtp2 as build-info.json records it: the OpenSSL build needs neither NSS nor the system libsrtp2', () => {
    const dir = cachedWorkerDir(cacheKey(), cacheRoot());
    const info = readBuildInfo(dir);
    expect(info?.srtp, 'build-info.json records the SRTP variant').toBeDefined();
    const ldd = spawnSync('ldd', [join(dir, 'mediasoup-worker')], { encoding: 'utf8' });
    expect(ldd.status).toBe(0);
    const libs = ldd.stdout;
    console.log(`srtp variant ${info?.srtp?.variant}; runtime libraries:\n${libs}`);
    if (info?.srtp?.variant === 'openssl-static') {
      expect(libs).not.toMatch(/libnss3\.so|libnspr4\.so|libsrtp2\.so/);
      expect(libs).toMatch(/libcrypto\.so\.3/);
    } else {
      // The fallback links the system library, whose backend is NSS (spec §13).
      expect(libs).toMatch(/libsrtp2\.so/);
      expect(info?.srtp?.fallbackReason).toBeTruthy();
    }
  });
});
