#!/usr/bin/env node
// @ts-check
// The two quick-start commands, `npm start` and `npm test` (also `pnpm start` / `pnpm test`),
// and `npm run setup`. On a fresh Debian machine with only Node and npm they set up what is
// missing, each step idempotent and cached:
//   1. pnpm (the version pinned in package.json),
//   2. Debian packages: Prosody (+ Lua modules), Chromium and coturn (as root; otherwise the exact
//      apt-get command is printed),
//   3. node dependencies (pnpm install),
//   4. the patched mediasoup worker (built once, cached outside the clone),
// then run the stack or the whole test suite through turbo.
// Plain JavaScript on purpose: it runs before any dependency is installed.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const PNPM_VERSION = String(rootPkg.packageManager).replace(/^pnpm@/, '');
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const START = Date.now();

/** Debian packages the stack and the tests need at run time (the worker build checks its own). */
const APT_RUNTIME = ['prosody', 'prosody-modules', 'lua-cjson', 'lua-luaossl', 'lua-basexx'];
// coturn: its turnserver is the reference relay and turnutils_uclient/turnutils_peer the reference
// client and echo peer for apps/turn's interop tests and benchmark (spec/turn.md §2, §5).
const APT_TEST = ['chromium', 'coturn'];

/** @param {string} msg */
function step(msg) {
  console.log(`[hummingbird ${String(Math.round((Date.now() - START) / 1000)).padStart(4)}s] ${msg}`);
}

/** @param {string} msg @param {string[]} [lines] @returns {never} */
function fail(msg, lines = []) {
  console.error(`\nhummingbird: ${msg}`);
  for (const line of lines) console.error(`  ${line}`);
  process.exit(2);
}

/**
 * @param {string} cmd @param {string[]} args
 * @param {{ quiet?: boolean, env?: NodeJS.ProcessEnv }} [opts]
 */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: opts.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function checkNode() {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old; Hummingbird needs Node >= 20.19.`);
  }
}

/** @returns {string} the pnpm command to use */
function ensurePnpm() {
  const onPath = run('pnpm', ['--version'], { quiet: true });
  if (onPath.code === 0 && onPath.stdout.trim() === PNPM_VERSION) return 'pnpm';
  const toolsDir = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'hummingbird', 'tools', `pnpm-${PNPM_VERSION}`);
  const local = join(toolsDir, 'node_modules', '.bin', 'pnpm');
  // turbo runs package scripts through the package manager it finds on PATH.
  const usePrivate = () => {
    process.env['PATH'] = `${dirname(local)}:${process.env['PATH'] ?? ''}`;
    return local;
  };
  if (existsSync(local)) return usePrivate();
  step(`installing pnpm ${PNPM_VERSION} into ${toolsDir} (from the npm registry)`);
  const r = run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', toolsDir, `pnpm@${PNPM_VERSION}`], { quiet: true });
  if (r.code !== 0 || !existsSync(local)) {
    fail(`could not install pnpm ${PNPM_VERSION} with npm`, [r.stderr.trim().split('\n').slice(-5).join('\n  ')]);
  }
  return usePrivate();
}

/** @param {string[]} pkgs @returns {string[]} the ones not installed */
function missingDebs(pkgs) {
  const r = run('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...pkgs], { quiet: true });
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** @param {string[]} pkgs @param {string} why */
function ensureDebs(pkgs, why) {
  if (!existsSync('/usr/bin/dpkg-query')) {
    fail(`this is not a Debian machine; install these yourself (${why}): ${pkgs.join(' ')}`);
  }
  const missing = missingDebs(pkgs);
  if (missing.length === 0) return;
  const cmd = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!IS_ROOT) fail(`missing Debian packages (${why}), and not root so they cannot be installed here.`, [`Run as root:  ${cmd}`]);
  step(`installing Debian packages (${why}): ${missing.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-q'], { quiet: true, env }).code !== 0) fail('apt-get update failed', [cmd]);
  const r = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { quiet: true, env });
  if (r.code !== 0) fail(`apt-get install failed for ${missing.join(' ')}`, r.stderr.trim().split('\n').slice(-5));
  // Debian's postinst starts a system Prosody on 5222/5280; Hummingbird runs its own instances.
  if (missing.includes('prosody') && existsSync('/run/systemd/system')) {
    run('systemctl', ['disable', '--now', 'prosody'], { quiet: true });
  }
  // The same for coturn: its systemd unit is enabled by the postinst and would hold UDP/TCP 3478
  // and 5349 (without systemd, /etc/init.d/coturn only starts it when /etc/default/coturn sets
  // TURNSERVER_ENABLED=1, which Debian leaves commented out). The tests start their own turnserver
  // on free loopback ports.
  if (missing.includes('coturn') && existsSync('/run/systemd/system')) {
    run('systemctl', ['disable', '--now', 'coturn'], { quiet: true });
  }
}

/** @param {string} pnpm */
function installNodeDeps(pnpm) {
  step('installing node dependencies (pnpm install)');
  const args = ['install', '--reporter=append-only'];
  if (process.env['CI']) args.push('--frozen-lockfile');
  if (run(pnpm, args).code !== 0) fail('pnpm install failed (see above)');
}

/** @param {string} pnpm */
function ensureWorker(pnpm) {
  step('mediasoup worker (patched, built offline, cached outside the clone)');
  const r = run(pnpm, ['--filter', '@hummingbird/mediasoup-worker', 'exec', 'tsx', 'src/cli.ts', 'ensure']);
  if (r.code !== 0) process.exit(r.code);
}

/** @param {boolean} withTests */
function setup(withTests) {
  checkNode();
  const pnpm = ensurePnpm();
  ensureDebs(APT_RUNTIME, 'Prosody, the XMPP server');
  if (withTests) ensureDebs(APT_TEST, 'headless Chromium and coturn for the real-browser and TURN interop tests');
  installNodeDeps(pnpm);
  ensureWorker(pnpm);
  return pnpm;
}

/** Sums the vitest JSON reports into the plain closing line CI reads. */
function summarizeTests() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const group of ['apps', 'packages', 'infra']) {
    const base = join(ROOT, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const file = join(base, name, '.vitest-report.json');
      if (!existsSync(file)) continue;
      const report = JSON.parse(readFileSync(file, 'utf8'));
      passed += Number(report.numPassedTests ?? 0);
      failed += Number(report.numFailedTests ?? 0);
      skipped += Number(report.numPendingTests ?? 0) + Number(report.numTodoTests ?? 0);
    }
  }
  return { passed, failed, skipped };
}

const TURBO_ENV = { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };

function main() {
  const command = process.argv[2] ?? 'test';
  if (command === 'setup') {
    setup(true);
    step('setup complete');
    return;
  }
  if (command === 'test') {
    const pnpm = setup(true);
    for (const group of ['apps', 'packages', 'infra']) {
      const base = join(ROOT, group);
      if (!existsSync(base)) continue;
      for (const name of readdirSync(base)) run('rm', ['-f', join(base, name, '.vitest-report.json')], { quiet: true });
    }
    step('typecheck, lint, build and test every package (turbo)');
    // One task at a time: the suites start real Prosody, mediasoup workers and Chromium, and
    // these machines have 2 cores.
    const r = run(pnpm, ['exec', 'turbo', 'run', 'typecheck', 'lint', 'build', 'test', '--concurrency=1', '--continue'], { env: TURBO_ENV });
    const t = summarizeTests();
    console.log(`\nHummingbird tests (vitest, all packages):`);
    console.log(`${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
    if (r.code !== 0) console.log('turbo reported a failing task (typecheck, lint, build or test): see above');
    process.exit(r.code !== 0 || t.failed > 0 ? 1 : 0);
  }
  if (command === 'start') {
    setup(false);
    // Run the launcher directly (no pnpm wrapper in between), so Ctrl-C reaches it and it can
    // stop Prosody and remove its run directory before exiting.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=hummingbird-source', 'src/cli.ts', ...process.argv.slice(3)],
      { cwd: join(ROOT, 'packages', 'stack'), stdio: 'inherit' },
    );
    for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
      process.on(signal, () => child.kill(signal));
    }
    child.on('exit', (code) => process.exit(code ?? 1));
    return;
  }
  fail(`unknown command ${command}; use: start | test | setup`);
}

main();
