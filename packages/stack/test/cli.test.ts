// `npm start` runs packages/stack/src/cli.ts: it must come up, print where things are, serve
// XMPP, and stop everything on Ctrl-C (SIGINT) without leaving Prosody behind.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Running, not exited: a zombie (exited, not yet reaped by PID 1) counts as gone (prosody.md §1.5). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function streamFeatures(port: number, domain: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('no stream reply'))), 5000);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('</stream:features>')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.write(`<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
  });
}

describe('npm start (the stack CLI)', () => {
  it('starts Prosody and the four apps for meet.localhost, prints their addresses, and stops everything on SIGINT', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=hummingbird-source', 'src/cli.ts', '--random-ports', '--quiet'], {
      cwd: PKG,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the CLI prints "Press Ctrl-C" (or exits)', () => out, (o) => o.includes('Press Ctrl-C') || child.exitCode !== null, {
        timeoutMs: 30_000,
        describe: (o) => o.split('\n').slice(-20).join('\n'),
      });
      expect(out).toContain('Hummingbird stack is up');
      expect(out).toContain('client host       meet.localhost');
      expect(out).not.toMatch(/secret\s*=|component_secret/); // secrets are never printed
      const c2s = Number(/c2s \(plain TCP\)\s+127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      const pid = Number(/Prosody \(pid (\d+)\)/.exec(out)?.[1]);
      expect(await streamFeatures(c2s, 'meet.localhost')).toContain('ANONYMOUS');
      expect(alive(pid)).toBe(true);
      // The four apps run too, each in its own process, and Ctrl-C stops them as well.
      // The meeting page: its URL is printed and it answers.
      const pageUrl = /meeting page\s+open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(out)?.[1];
      expect(pageUrl, 'the page URL is printed').toBeDefined();
      expect((await fetch(pageUrl ?? '', { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
      const apps = [...out.matchAll(/^(token|turn|bridge-1|focus) \(pid (\d+)\)/gm)].map((m) => Number(m[2]));
      expect(apps).toHaveLength(4);
      for (const appPid of apps) expect(alive(appPid)).toBe(true);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain('stack stopped');
      await waitFor('Prosody is gone after Ctrl-C', () => alive(pid), (a) => !a, { timeoutMs: 3_000, intervalMs: 20 });
      for (const appPid of apps) expect(alive(appPid), `app pid ${appPid} is gone after Ctrl-C`).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
