import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTurnServer, type TurnServerHandle, type TurnServerOptions } from '../../src/server.js';

export const SECRET = 'test-secret-0123456789abcdef';
export const REALM = 'turn.test';

/** A relay on loopback with free ports; `overrides` replaces top-level options. */
export function startTestServer(overrides: Partial<TurnServerOptions> = {}): Promise<TurnServerHandle> {
  return startTurnServer({
    listen: { host: '127.0.0.1', udpPort: 0, tcpPort: 0 },
    realm: REALM,
    secrets: [SECRET],
    relay: { host: '127.0.0.1', portMin: 40_000, portMax: 59_999 },
    ...overrides,
  });
}

/** A self-signed certificate made with the openssl CLI at test time. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hb-turn-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=turn.test', '-addext', 'subjectAltName=DNS:turn.test'], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it holds (events we cannot subscribe to, like a socket closing in the kernel). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
