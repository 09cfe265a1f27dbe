// startStack(): Prosody and the four apps as child processes, wired from one generated configuration.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLogLine, startStack, StackAppError, type Stack } from '../src/index.js';

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const reply = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: reply.status, body: (await reply.json()) as T };
}

interface FocusStats {
  bridge_selector: { bridge_count: number; operational_bridge_count: number };
  xmpp: { state: string; brewery_joined: boolean };
}

describe('startStack with every app (auth: token, two bridges)', () => {
  let stack: Stack;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ standardPorts: false, auth: 'token', bridges: 2, logs: (app, line) => lines.push(`[${app}] ${line}`) });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('starts every app healthy and the focus sees both bridges in the brewery', async () => {
    for (const app of [stack.token, stack.turn, stack.focus, ...stack.bridges]) {
      expect(app, 'app started').toBeDefined();
      expect((await fetch(`${app?.opsUrl ?? ''}/about/health`)).status, app?.name).toBe(200);
    }
    expect(stack.bridges.map((b) => b.id)).toEqual(['bridge-1', 'bridge-2']);
    const stats = await json<FocusStats>(`${stack.focus?.opsUrl ?? ''}/stats`);
    expect(stats.body.bridge_selector).toMatchObject({ bridge_count: 2, operational_bridge_count: 2 });
    expect(stats.body.xmpp).toMatchObject({ state: 'online', brewery_joined: true });
    expect(stack.hosts.guest).toBe(`guest.${stack.domain}`);
  });

  it('mints tokens the token service then verifies for Prosody', async () => {
    const jwt = await stack.token?.mint({ room: 'stack-room', user: { name: 'Ada' }, moderator: true });
    expect(jwt).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    // Only Prosody holds the verify key: the issuing key must not verify.
    const files = stack.describe().join('\n');
    expect(files).not.toMatch(/backend-[0-9a-f]{32}|prosody-[0-9a-f]{32}/);
  });

  it('serves the meeting page on loopback with this stack\'s facts, and says where', async () => {
    expect(stack.pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const url = stack.pageUrl ?? '';
    expect(stack.describe().join('\n')).toContain(`open ${url} in a browser`);
    expect((await fetch(url, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    const config = await json<Record<string, string>>(new URL('/config.json', url).href);
    expect(config.body).toEqual({
      websocketUrl: stack.urls.websocket,
      domain: stack.hosts.domain,
      muc: stack.hosts.conference,
      focus: stack.hosts.focus,
      guest: stack.hosts.guest,
    });
  });

  it('gives TURN credentials with the one shared secret that Prosody advertises over XEP-0215', () => {
    const { username, credential } = stack.turn?.credentials('ada') ?? { username: '', credential: '' };
    const secret = stack.prosody.config.turn.secret;
    expect(credential).toBe(createHmac('sha1', secret).update(username).digest('base64'));
    expect(stack.prosody.config.turn.port).toBe(Number(/:(\d+)\?/.exec(stack.turn?.uris[0] ?? '')?.[1]));
  });

  it('a SIGKILLed bridge leaves the brewery and the focus stops counting it; a new one joins', async () => {
    const victim = stack.bridges[0];
    victim?.kill('SIGKILL');
    expect(await victim?.exited).toMatchObject({ signal: 'SIGKILL' });
    const operationalBridges = async (): Promise<number> =>
      (await json<FocusStats>(`${stack.focus?.opsUrl ?? ''}/stats`)).body.bridge_selector.operational_bridge_count;
    await waitFor('the focus to drop the killed bridge', operationalBridges, (n) => n === 1, { intervalMs: 100 });
    const third = await stack.startBridge();
    expect(third.id).toBe('bridge-3');
    await waitFor('the focus to see the new bridge', operationalBridges, (n) => n === 2, { intervalMs: 100 });
  }, 60_000);

  it('prefixes each app\'s log lines and never logs a secret', () => {
    expect(lines.some((l) => l.startsWith('[focus] '))).toBe(true);
    expect(lines.some((l) => l.startsWith('[bridge-2] '))).toBe(true);
    const secret = stack.prosody.config.turn.secret;
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain(stack.prosody.config.componentSecret);
  });

  it('stops every process and removes the run directory', async () => {
    const pids = [stack.prosody.pid, ...[stack.token, stack.turn, stack.focus, ...stack.bridges].map((a) => a?.pid ?? 0)];
    const runDir = /run directory\s+(\S+)/.exec(stack.describe().join('\n'))?.[1] ?? '';
    expect(existsSync(runDir)).toBe(true);
    await stack.stop();
    await waitFor('every process to exit', () => pids.filter(alive), (left) => left.length === 0, { timeoutMs: 15_000, intervalMs: 100 });
    expect(existsSync(runDir)).toBe(false);
    await expect(fetch(stack.pageUrl ?? '', { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  }, 30_000);
});

describe('startStack failures', () => {
  it('reports an app that cannot start with its name and last log lines, and leaves nothing running', async () => {
    const error = await startStack({
      standardPorts: false,
      focus: false,
      turn: false,
      bridges: 0,
      logs: 'quiet',
      env: { token: { HB_TOKEN_NO_SUCH_KEY: '1' } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackAppError);
    expect((error as StackAppError).app).toBe('token');
    expect((error as StackAppError).message).toMatch(/HB_TOKEN_NO_SUCH_KEY/);
  }, 60_000);

  it('hands app overrides to the app, which refuses a bad key by name', async () => {
    const error = await startStack({ standardPorts: false, focus: false, turn: false, bridges: 0, logs: 'quiet', apps: { token: { jwt: { audience: 42 } } } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StackAppError);
    expect((error as StackAppError).message).toMatch(/jwt\.audience/);
  }, 60_000);

  it('formats the apps\' JSON log lines for people', () => {
    expect(formatLogLine('{"level":40,"time":0,"pid":1,"hostname":"h","name":"focus","msg":"bridge left","bridge":"b1"}')).toBe(
      '00:00:00.000 warn  bridge left bridge=b1',
    );
    expect(formatLogLine('plain text')).toBe('plain text');
    expect(formatLogLine('{broken')).toBe('{broken');
  });
});
