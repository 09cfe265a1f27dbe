// Lookup of Hummingbird's patched mediasoup worker (spec/mediasoup-offline-build.md §0, §8).
//
// A stock worker never connects with an unmodified Jitsi client (jitsi-client-protocol.md §8.2),
// so the bridge runs only the binary built by ./build.sh. Lookup order:
//   1. an explicit path (the app's config),
//   2. MEDIASOUP_WORKER_BIN,
//   3. the build cache, keyed by the mediasoup version and a hash of the build recipe.
// mediasoup reads MEDIASOUP_WORKER_BIN once, when it is first imported, so apps import mediasoup
// through loadMediasoup() and never directly.

import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type * as MediasoupModule from 'mediasoup';

type Mediasoup = typeof MediasoupModule;

/** The package folder (src/ and dist/ both sit one level below it). */
export const RECIPE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files whose content decides the cache key: the build scripts (worker and libsrtp2), the patches, the shims. */
export const RECIPE_INPUTS = ['build.sh', 'common.sh', 'libsrtp.sh', 'patches', 'shims'] as const;

export const WORKER_BIN_NAME = 'mediasoup-worker';

export type WorkerBinarySource = 'explicit' | 'env' | 'cache';

export interface WorkerBinary {
  path: string;
  source: WorkerBinarySource;
}

/** Raised when no usable worker binary is found; the message says what to run. */
export class WorkerBinaryError extends Error {
  override name = 'WorkerBinaryError';
  constructor(
    message: string,
    readonly code: 'HB_ERR_WORKER_NOT_BUILT' | 'HB_ERR_WORKER_CORRUPT' | 'HB_ERR_WORKER_MISSING' | 'HB_ERR_WORKER_MISMATCH',
  ) {
    super(message);
  }
}

/**
 * The installed mediasoup package folder (its worker/ sources are what build.sh compiles).
 * mediasoup's `exports` hide package.json, so walk up from its main entry.
 */
export function mediasoupPackageDir(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve('mediasoup'));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown };
      if (pkg.name === 'mediasoup') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the mediasoup package folder; run `pnpm install`');
    dir = parent;
  }
}

/** The mediasoup version this workspace pins (read from the installed package). */
export function mediasoupVersion(): string {
  const pkgPath = join(mediasoupPackageDir(), 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new TypeError(`no version in ${pkgPath}`);
  return pkg.version;
}

function listFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listFiles(join(path, name)));
}

/** sha256 over the recipe files (path + content), first 16 hex digits. */
export function recipeHash(recipeDir: string = RECIPE_DIR): string {
  const hash = createHash('sha256');
  for (const input of RECIPE_INPUTS) {
    for (const file of listFiles(join(recipeDir, input))) {
      hash.update(relative(recipeDir, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** `<mediasoup version>-<recipe hash>`: a new patch or a new mediasoup means a new build. */
export function cacheKey(version: string = mediasoupVersion(), recipeDir: string = RECIPE_DIR): string {
  return `${version}-${recipeHash(recipeDir)}`;
}

/** `$XDG_CACHE_HOME/hummingbird/mediasoup-worker`, else `~/.cache/hummingbird/mediasoup-worker`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'hummingbird', 'mediasoup-worker');
}

export function cachedWorkerDir(key: string = cacheKey(), root: string = cacheRoot()): string {
  return join(root, key);
}

/**
 * Checks a cached build: the binary exists, is executable and matches the sha256 recorded
 * next to it when it was built. Returns a reason when it does not.
 */
export function verifyCachedWorker(dir: string): { ok: true; path: string } | { ok: false; reason: string } {
  const bin = join(dir, WORKER_BIN_NAME);
  const sumFile = `${bin}.sha256`;
  if (!existsSync(bin)) return { ok: false, reason: `no binary at ${bin}` };
  if (!existsSync(sumFile)) return { ok: false, reason: `no checksum file ${sumFile}` };
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { ok: false, reason: `${bin} is not executable` };
  }
  const expected = readFileSync(sumFile, 'utf8').trim().split(/\s+/)[0] ?? '';
  const actual = createHash('sha256').update(readFileSync(bin)).digest('hex');
  if (expected !== actual) {
    return { ok: false, reason: `checksum mismatch for ${bin} (recorded ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…)` };
  }
  return { ok: true, path: bin };
}

/** What build.sh records about the SRTP library a cached worker links (build-info.json). */
export interface SrtpBuildInfo {
  /** openssl-static: libsrtp2 from Debian's source package, OpenSSL backend, linked statically.
   *  system-nss: the fallback, Debian's libsrtp2-1 with NSS (about half the SRTP capacity). */
  variant: 'openssl-static' | 'system-nss';
  crypto: 'openssl' | 'nss';
  fallbackReason?: string;
}

export interface WorkerBuildInfo {
  mediasoup: string;
  key: string;
  libsrtp2: string;
  /** Absent in builds made before the OpenSSL recipe (they link the system library). */
  srtp?: SrtpBuildInfo;
  runtimeLibraries?: string[];
}

/** Reads `build-info.json` of a cached build; undefined when missing or unreadable. */
export function readBuildInfo(dir: string): WorkerBuildInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, 'build-info.json'), 'utf8')) as unknown;
    if (typeof info !== 'object' || info === null || typeof (info as { key?: unknown }).key !== 'string') return undefined;
    return info as WorkerBuildInfo;
  } catch {
    return undefined;
  }
}

/** One line describing the SRTP library of a cached build, for logs. */
export function describeSrtp(info: WorkerBuildInfo | undefined): string {
  if (!info) return 'libsrtp2: unknown (no build-info.json)';
  const srtp = info.srtp;
  if (!srtp) return 'libsrtp2: system library (NSS), built before the OpenSSL recipe';
  if (srtp.variant === 'openssl-static') return `libsrtp2: ${info.libsrtp2}, OpenSSL backend, linked statically`;
  return `libsrtp2: system library with NSS (fallback: ${srtp.fallbackReason ?? 'unknown reason'}; about half the SRTP capacity per core)`;
}

export interface ResolveOptions {
  /** A path from the app's configuration; wins over everything else. */
  explicit?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Overrides the cache folder (tests). */
  cacheDir?: string;
}

/** Finds the worker binary to run, or throws a WorkerBinaryError that says what to do. */
export function resolveWorkerBin(options: ResolveOptions = {}): WorkerBinary {
  const env = options.env ?? process.env;
  const fromConfig = options.explicit;
  if (fromConfig) {
    if (!existsSync(fromConfig)) {
      throw new WorkerBinaryError(`configured mediasoup worker ${fromConfig} does not exist`, 'HB_ERR_WORKER_MISSING');
    }
    return { path: resolve(fromConfig), source: 'explicit' };
  }
  const fromEnv = env['MEDIASOUP_WORKER_BIN'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new WorkerBinaryError(`MEDIASOUP_WORKER_BIN=${fromEnv} does not exist`, 'HB_ERR_WORKER_MISSING');
    }
    return { path: resolve(fromEnv), source: 'env' };
  }
  const dir = options.cacheDir ?? cachedWorkerDir(cacheKey(), cacheRoot(env));
  if (!existsSync(dir)) {
    throw new WorkerBinaryError(
      `the patched mediasoup worker is not built yet (looked in ${dir}). Run \`npm run setup\` ` +
        '(or `bash infra/mediasoup-worker/build.sh`), or set MEDIASOUP_WORKER_BIN.',
      'HB_ERR_WORKER_NOT_BUILT',
    );
  }
  const check = verifyCachedWorker(dir);
  if (!check.ok) {
    throw new WorkerBinaryError(
      `the cached mediasoup worker is unusable: ${check.reason}. Delete ${dir} and run \`npm run setup\` to rebuild it.`,
      'HB_ERR_WORKER_CORRUPT',
    );
  }
  return { path: check.path, source: 'cache' };
}

let loaded: { module: Mediasoup; bin: string } | undefined;

/**
 * Imports mediasoup with the patched worker selected. mediasoup fixes its worker path when it
 * is first imported, so a second call with a different binary is an error, not a silent no-op.
 */
export async function loadMediasoup(options: ResolveOptions = {}): Promise<Mediasoup> {
  const bin = resolveWorkerBin(options).path;
  if (loaded) {
    if (loaded.bin !== bin) {
      throw new WorkerBinaryError(
        `mediasoup is already loaded with worker ${loaded.bin}; cannot switch to ${bin} in the same process`,
        'HB_ERR_WORKER_MISMATCH',
      );
    }
    return loaded.module;
  }
  process.env['MEDIASOUP_WORKER_BIN'] = bin;
  const imported = (await import('mediasoup')) as Mediasoup & { default?: Mediasoup };
  const module = imported.default ?? imported;
  if (module.workerBin !== bin) {
    throw new WorkerBinaryError(
      `mediasoup was imported before loadMediasoup() and uses ${module.workerBin}; import it only through @hummingbird/mediasoup-worker`,
      'HB_ERR_WORKER_MISMATCH',
    );
  }
  loaded = { module, bin };
  return module;
}
