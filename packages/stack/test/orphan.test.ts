import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { waitFor } from '@hummingbird/test-support';
import { describe, expect, it } from 'vitest';

import { pidAlive } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/orphan-child.ts', import.meta.url));

/** Run the fixture in a separate Node process and read the `{ pid, dir }` line it prints once Prosody is ready. */
async function startChild(mode: 'exit' | 'hang'): Promise<{ child: ReturnType<typeof spawn>; pid: number; dir: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line.startsWith('{')) {
      const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
      return { child, pid, dir };
    }
  }
  throw new Error('the child exited before Prosody was ready');
}

describe('a test runner that dies without stop() leaves no Prosody behind', () => {
  it('process.exit(1): Prosody is killed and the run dir removed', async () => {
    const { pid, dir } = await startChild('exit');
    await waitFor(`Prosody (pid ${pid}) gone`, () => pidAlive(pid), (alive) => !alive, { timeoutMs: 5_000, intervalMs: 25 });
    expect(existsSync(dir)).toBe(false);
  });

  it('SIGKILL of the runner: pdeathsig ends Prosody (prosody.md §1.2 Orphans)', async () => {
    const { child, pid, dir } = await startChild('hang');
    try {
      expect(pidAlive(pid)).toBe(true);
      child.kill('SIGKILL');
      const t0 = performance.now();
      // Prosody gets SIGTERM and shuts down cleanly: at most c2s_close_timeout + 1 s.
      await waitFor(`Prosody (pid ${pid}) gone`, () => pidAlive(pid), (alive) => !alive, { timeoutMs: 5_000, intervalMs: 25 });
      console.log(`[stack] orphaned Prosody gone ${(performance.now() - t0).toFixed(0)} ms after its runner was SIGKILLed`);
    } finally {
      // Nothing ran in the killed runner to remove the directory; that is this test's job.
      await rm(dir, { recursive: true, force: true });
    }
  });
});
