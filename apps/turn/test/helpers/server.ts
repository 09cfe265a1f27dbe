import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataPathMode } from '../../src/native-udp.js';
import { startTurnServer, type TurnServerHandle, type TurnServerOptions } from '../../src/server.js';

/**
 * HB_TURN_DATA_PATH=dgram (or native) runs the tests on that UDP layer (`pnpm test:dgram`);
 * unset = the relay's default (auto: native when it builds).
 */
export const TEST_DATA_PATH = process.env['HB_TURN_DATA_PATH'] as DataPathMode | undefined;

export const SECRET = 'test-secret-0123456789abcdef';
export const REALM = 'turn.test';

/** A relay on loopback with free ports; `overrides` replaces top-level options. */
export function startTestServer(overrides: Partial<TurnServerOptions> = {}): Promise<TurnServerHandle> {
  return startTurnServer({
    listen: { host: '127.0.0.1', udpPort: 0, tcpPort: 0 },
    realm: REALM,
    secrets: [SECRET],
    relay: { host: '127.0.0.1', portMin: 40_000, portMax: 59_999 },
    ...(TEST_DATA_PATH !== undefined ? { dataPath: TEST_DATA_PATH } : {}),
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
