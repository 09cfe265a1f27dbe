// libsrtp.sh decides which libsrtp2 the worker links (spec mediasoup-offline-build.md §13):
// the OpenSSL build from Debian's source package, or — when the source cannot be fetched — the
// system library after exactly one warning that names the capacity cost, never a failure.
// Real script, real apt-get against a mirror that cannot answer (a closed port on 127.0.0.1).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECIPE_DIR } from '../src/index.js';

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function runLibsrtp(cache: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [join(RECIPE_DIR, 'libsrtp.sh'), cache], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fields(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** The folder libsrtp.sh keeps its OpenSSL build in: keyed by a hash of its own recipe. */
function libDir(cache: string): string {
  const hash = createHash('sha256')
    .update(readFileSync(join(RECIPE_DIR, 'libsrtp.sh')))
    .update(readFileSync(join(RECIPE_DIR, 'common.sh')))
    .digest('hex')
    .slice(0, 16);
  return join(cache, 'tools', `libsrtp2-openssl-${hash}`);
}

const warnings = (stderr: string): number => stderr.split('\n').filter((l) => l.includes('WARNING')).length;

describe('libsrtp.sh: which libsrtp2 the worker links', () => {
  let cache: string;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'hb-srtp-cache-'));
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  it('falls back to the system library with one warning naming the capacity cost when no deb-src is reachable', async () => {
    const mirror = `http://127.0.0.1:${await closedPort()}/debian`;
    const r = runLibsrtp(cache, { HB_SRTP_MIRROR: mirror });
    expect(r.status, r.stderr).toBe(0); // never a failed install
    const out = fields(r.stdout);
    expect(out['variant']).toBe('system-nss');
    expect(out['reason']).toContain(mirror);
    expect(warnings(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(/NSS/);
    expect(r.stderr).toMatch(/HALF the bridge's SRTP capacity/);
    expect(r.stderr).toMatch(/\+13 µs .* \+2 µs/);
    // Only the private apt folder was written, inside the cache; no library was produced.
    expect(readdirSync(join(cache, 'tools')).sort()).toEqual(['apt-src']);
  });

  it('uses the system library on request (HB_SRTP_SYSTEM=1), still with the one warning', () => {
    const r = runLibsrtp(cache, { HB_SRTP_SYSTEM: '1' });
    expect(r.status).toBe(0);
    expect(fields(r.stdout)['variant']).toBe('system-nss');
    expect(fields(r.stdout)['reason']).toMatch(/HB_SRTP_SYSTEM=1/);
    expect(warnings(r.stderr)).toBe(1);
  });

  it('reuses a finished OpenSSL build from the cache without the network, and without a warning', async () => {
    const dir = libDir(cache);
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'libsrtp2.a'), '!<arch>\n');
    writeFileSync(join(dir, 'source'), 'libsrtp2 2.5.0-3\n');
    writeFileSync(join(dir, 'complete'), '');
    const r = runLibsrtp(cache, { HB_SRTP_MIRROR: `http://127.0.0.1:${await closedPort()}/debian` });
    expect(r.status).toBe(0);
    expect(fields(r.stdout)).toEqual({ variant: 'openssl-static', prefix: dir, source: 'libsrtp2 2.5.0-3' });
    expect(warnings(r.stderr)).toBe(0);
    expect(existsSync(join(cache, 'tools', 'apt-src')), 'no fetch attempted').toBe(false);
  });

  it('does not reuse an interrupted build (no completion marker)', () => {
    const dir = libDir(cache);
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'libsrtp2.a'), '!<arch>\n');
    const r = runLibsrtp(cache, { HB_SRTP_MIRROR: 'http://127.0.0.1:1/debian' });
    expect(fields(r.stdout)['variant']).toBe('system-nss');
    expect(warnings(r.stderr)).toBe(1);
  });
});
