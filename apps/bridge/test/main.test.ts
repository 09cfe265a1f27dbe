// The process entry point (src/main.ts): a bad configuration ends the process with exit code 2 and one line
// naming the bad keys, never the secret value, before anything starts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['--conditions', 'hummingbird-source', 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('bridge main', () => {
  it('exits with code 2 and names the missing and invalid keys', async () => {
    const { code, stderr } = await runMain({ HB_BRIDGE_XMPP__PASSWORD_REF: 'hunter2-inline-secret', HB_BRIDGE_MEDIA__WORKERS: '-3' });
    expect(code).toBe(2);
    expect(stderr).toContain('HB_ERR_CONFIG');
    for (const key of ['xmpp.domain', 'xmpp.breweryJid', 'xmpp.passwordRef', 'media.workers']) expect(stderr).toContain(key);
    expect(stderr).not.toContain('hunter2-inline-secret');
  }, 60_000);
});
