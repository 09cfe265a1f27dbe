import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { freePorts, PROSODY_INSTALL_COMMAND, ProsodyStartError, startProsody } from '../src/index.js';
import { pidAlive } from './helpers.js';

/** The start must fail with a ProsodyStartError; returns it. */
async function startFailure(promise: Promise<unknown>): Promise<ProsodyStartError> {
  const error: unknown = await promise.then(
    () => new Error('startProsody resolved, a ProsodyStartError was expected'),
    (e: unknown) => e,
  );
  if (!(error instanceof ProsodyStartError)) throw error;
  return error;
}

/** What a failed start must leave: no process, no run directory. */
function expectNothingLeft(error: ProsodyStartError): void {
  if (error.pid !== undefined) expect(pidAlive(error.pid)).toBe(false);
  expect(error.dir).toBeDefined();
  expect(existsSync(error.dir as string)).toBe(false);
}

describe('startProsody failures are reported clearly and leave nothing behind', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
  });

  it('a component port already in use → ProsodyStartError naming the port, fast', async () => {
    const [port] = await freePorts(1);
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(port, '127.0.0.1', resolve));

    const t0 = performance.now();
    const error = await startFailure(startProsody({ ports: { component: port } }));
    expect(error.code).toBe('HB_ERR_PROSODY_START');
    expect(error.message).toContain(`could not listen on component port ${String(port)}: it is already in use`);
    expect(error.message).toContain(`Failed to open server port ${String(port)}`); // Prosody's own log line
    expect(error.pid).toBeGreaterThan(0);
    expectNothingLeft(error);
    expect(performance.now() - t0).toBeLessThan(5_000); // detected from the log, not by the 10 s timeout
  });

  it('a c2s port already in use → ProsodyStartError (the readiness probe is not fooled by the other listener)', async () => {
    const [port] = await freePorts(1);
    blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker?.listen(port, '127.0.0.1', resolve));

    const error = await startFailure(startProsody({ ports: { c2s: port } }));
    expect(error.message).toContain(`could not listen on c2s port ${String(port)}`);
    expectNothingLeft(error);
  });

  it('invalid Lua in globalExtra → ProsodyStartError with Prosody\'s syntax error line', async () => {
    const error = await startFailure(startProsody({ globalExtra: 'this is not lua {' }));
    expect(error.code).toBe('HB_ERR_PROSODY_START');
    expect(error.message).toMatch(/Prosody exited before it was ready \(code 1/);
    expect(error.message).toMatch(/prosody\.cfg\.lua:\d+: syntax error near 'is'/);
    expectNothingLeft(error);
  });

  it('an unknown module → ProsodyStartError quoting "Unable to load module"', async () => {
    const error = await startFailure(startProsody({ globalModules: ['no_such_module_hb'] }));
    expect(error.message).toMatch(/Prosody logged an error while starting: .*Unable to load module 'no_such_module_hb'/);
    expectNothingLeft(error);
  });

  it('registering a user on a host that is not configured → HB_ERR_PROSODY_REGISTER before any spawn', async () => {
    const error = await startFailure(startProsody({ users: [['x', 'elsewhere.test', 'pw']] }));
    expect(error.code).toBe('HB_ERR_PROSODY_REGISTER');
    expect(error.message).toContain('prosodyctl register x elsewhere.test failed');
    expect(error.message).not.toContain('pw\n');
    expect(error.pid).toBeUndefined();
    expectNothingLeft(error);
  });

  it('no prosody on PATH → HB_ERR_PROSODY_NOT_INSTALLED naming the apt-get command', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      const error = await startFailure(startProsody());
      expect(error.code).toBe('HB_ERR_PROSODY_NOT_INSTALLED');
      expect(error.message).toContain(PROSODY_INSTALL_COMMAND);
      expect(PROSODY_INSTALL_COMMAND).toBe('apt-get install -y prosody prosody-modules lua-cjson lua-luaossl lua-basexx');
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('a domain that is not a DNS name is a TypeError (a caller bug), not a start failure', async () => {
    await expect(startProsody({ domain: 'bad"domain' })).rejects.toThrow(TypeError);
  });
});
