// The process entry point (src/main.ts): a bad configuration ends the process with exit code 2 and one line
// naming the bad keys, never the secret value, before anything starts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, startProsody, type ProsodyHandle } from '@hummingbird/stack';
import { waitFor } from '@hummingbird/test-support';
import { AUTH, BREWERY, DOMAIN, TestFocus } from './support/harness.js';

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
  it('runs as a process: started before Prosody it keeps trying, joins the brewery, leaves it on SIGTERM (exit 0)', async () => {
    const c2s = await freePort();
    const password = randomBytes(12).toString('hex');
    const child = spawn(tsx, ['--conditions', 'hummingbird-source', 'src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '',
        HB_BRIDGE_XMPP__SERVICE: `xmpp://127.0.0.1:${c2s}`, HB_BRIDGE_XMPP__DOMAIN: AUTH, HB_BRIDGE_XMPP__USERNAME: 'jvbproc', HB_BRIDGE_XMPP__NICKNAME: 'jvbproc',
        HB_BRIDGE_XMPP__PASSWORD_REF: 'env:JVB_PASSWORD', JVB_PASSWORD: password, HB_BRIDGE_XMPP__BREWERY_JID: BREWERY,
        HB_BRIDGE_OPS__PORT: '0', HB_BRIDGE_MEDIA__WORKERS: '1', HB_BRIDGE_MEDIA__LISTEN_IP: '127.0.0.1', HB_BRIDGE_MEDIA__UDP_PORT: '0',
        HB_BRIDGE_WEBSOCKET__PORT: '0', HB_BRIDGE_LOG__LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The log (JSON lines on stdout) and stderr, for the failure message.
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    let prosody: ProsodyHandle | undefined;
    let focus: TestFocus | undefined;
    try {
      // Prosody comes up only after the bridge has failed to connect at least once.
      await waitFor('a failed XMPP attempt', () => output, (o) => o.includes('XMPP connection failed; retrying'), { timeoutMs: 30_000 });
      expect(child.exitCode).toBeNull();
      prosody = await startProsody({ domain: DOMAIN, ports: { c2s }, users: [['jvbproc', AUTH, password]] });
      const f = await TestFocus.start(prosody);
      focus = f;
      const stats = await waitFor('the bridge process in the brewery', () => f.stats.get('jvbproc'), (s) => s !== undefined, {
        timeoutMs: 45_000,
        describe: () => output.slice(-4000),
      });
      expect(stats?.healthy).toBe(true);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, output.slice(-4000)).toBe(0);
      await waitFor('the bridge left the brewery', () => f.stats.has('jvbproc'), (h) => !h, { timeoutMs: 10_000 });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await focus?.stop();
      await prosody?.stop();
    }
  }, 120_000);

  it('exits with code 2 and names the missing and invalid keys', async () => {
    const { code, stderr } = await runMain({ HB_BRIDGE_XMPP__PASSWORD_REF: 'hunter2-inline-secret', HB_BRIDGE_MEDIA__WORKERS: '-3' });
    expect(code).toBe(2);
    expect(stderr).toContain('HB_ERR_CONFIG');
    for (const key of ['xmpp.domain', 'xmpp.breweryJid', 'xmpp.passwordRef', 'media.workers']) expect(stderr).toContain(key);
    expect(stderr).not.toContain('hunter2-inline-secret');
  }, 60_000);
});
