// Makes sure the patched worker exists: reuse a verified cached build, else run build.sh.
// A second install reuses the cache without compiling (the cache key changes only when
// mediasoup or the recipe changes).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  cacheKey,
  cacheRoot,
  describeSrtp,
  mediasoupPackageDir,
  readBuildInfo,
  RECIPE_DIR,
  resolveWorkerBin,
  verifyCachedWorker,
  WorkerBinaryError,
  type WorkerBinarySource,
} from './index.js';

export interface EnsureOptions {
  /** false: only check, never compile (tests, `hb-worker check`). */
  build?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Overrides the cache root (tests). */
  cacheRoot?: string;
  log?: (line: string) => void;
  /** Overrides the build command (tests); receives the output directory. */
  runBuild?: (outDir: string) => Promise<void>;
}

export interface EnsureResult {
  path: string;
  source: WorkerBinarySource;
  key: string;
  /** true when this call compiled the worker. */
  built: boolean;
}

export async function ensureWorker(options: EnsureOptions = {}): Promise<EnsureResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const key = cacheKey();

  if (env['MEDIASOUP_WORKER_BIN']) {
    const bin = resolveWorkerBin({ env });
    log(`mediasoup worker: using MEDIASOUP_WORKER_BIN=${bin.path} (not checked against the recipe)`);
    return { ...bin, key, built: false };
  }

  const root = options.cacheRoot ?? cacheRoot(env);
  const dir = join(root, key);
  if (existsSync(dir)) {
    const check = verifyCachedWorker(dir);
    if (check.ok) {
      log(`mediasoup worker: reusing cached build ${check.path} (key ${key}), no rebuild; ${describeSrtp(readBuildInfo(dir))}`);
      return { path: check.path, source: 'cache', key, built: false };
    }
    if (options.build === false) {
      throw new WorkerBinaryError(
        `the cached mediasoup worker is unusable: ${check.reason}. Run \`npm run setup\` to rebuild it.`,
        'HB_ERR_WORKER_CORRUPT',
      );
    }
    log(`mediasoup worker: cached build is unusable (${check.reason}); rebuilding`);
    rmSync(dir, { recursive: true, force: true });
  } else if (options.build === false) {
    throw new WorkerBinaryError(
      `the patched mediasoup worker is not built yet (key ${key}). Run \`npm run setup\`.`,
      'HB_ERR_WORKER_NOT_BUILT',
    );
  } else {
    log(`mediasoup worker: no cached build for key ${key}; building it (a few minutes, once)`);
  }

  mkdirSync(root, { recursive: true });
  await (options.runBuild ?? runBuildScript)(dir);
  const check = verifyCachedWorker(dir);
  if (check.ok) log(`mediasoup worker: built ${check.path}; ${describeSrtp(readBuildInfo(dir))}`);
  if (!check.ok) {
    throw new WorkerBinaryError(`the worker build finished but left no usable binary: ${check.reason}`, 'HB_ERR_WORKER_CORRUPT');
  }
  return { path: check.path, source: 'cache', key, built: true };
}

function runBuildScript(outDir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(RECIPE_DIR, 'build.sh'), mediasoupPackageDir(), outDir], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`the mediasoup worker build failed (${signal ?? `exit code ${code}`}); see the message above`));
    });
  });
}
