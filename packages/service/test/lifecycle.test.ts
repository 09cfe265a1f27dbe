import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, installSignalHandlers, Lifecycle } from '../src/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });

describe('Lifecycle', () => {
  it('runs handlers once each, in reverse registration order', async () => {
    const lifecycle = new Lifecycle({ logger });
    const order: string[] = [];
    lifecycle.onShutdown('first', () => void order.push('first'));
    lifecycle.onShutdown('second', async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('second');
    });
    lifecycle.onShutdown('third', () => void order.push('third'));
    const [a, b] = await Promise.all([lifecycle.close(), lifecycle.close()]);
    await lifecycle.close();
    expect(order).toEqual(['third', 'second', 'first']);
    expect(a).toBe(b);
    expect(a).toEqual({ reason: 'close()', failed: [], timedOut: [], clean: true });
  });

  it('catches a failing handler, reports it and still runs the others', async () => {
    const lifecycle = new Lifecycle({ logger });
    const ran: string[] = [];
    lifecycle.onShutdown('a', () => void ran.push('a'));
    lifecycle.onShutdown('throws', () => {
      throw new Error('boom');
    });
    lifecycle.onShutdown('rejects', () => Promise.reject(new Error('boom')));
    const result = await lifecycle.close('test');
    expect(ran).toEqual(['a']);
    expect(result).toEqual({ reason: 'test', failed: ['rejects', 'throws'], timedOut: [], clean: false });
  });

  it('stops waiting at the drain deadline, aborts the signal and names the handlers left', async () => {
    const lifecycle = new Lifecycle({ logger, drainTimeoutMs: 50 });
    let aborted = false;
    let lastRan = false;
    lifecycle.onShutdown('last', () => {
      lastRan = true;
    });
    lifecycle.onShutdown('stuck', (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return new Promise<void>(() => undefined);
    });
    const started = Date.now();
    const result = await lifecycle.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(aborted).toBe(true);
    expect(lastRan).toBe(false);
    expect(result.timedOut).toEqual(['stuck', 'last']);
    expect(result.clean).toBe(false);
  });

  it('refuses registration once shutdown started, and honours unregistering', async () => {
    const lifecycle = new Lifecycle({ logger });
    let ran = false;
    const unregister = lifecycle.onShutdown('gone', () => {
      ran = true;
    });
    unregister();
    await lifecycle.close();
    expect(ran).toBe(false);
    expect(() => lifecycle.onShutdown('late', () => undefined)).toThrow(TypeError);
  });

  it('rejects a negative drain timeout', () => {
    expect(() => new Lifecycle({ logger, drainTimeoutMs: -1 })).toThrow(TypeError);
  });
});

describe('installSignalHandlers', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('drains on SIGTERM then exits 0 when clean', async () => {
    const lifecycle = new Lifecycle({ logger });
    let drained = false;
    lifecycle.onShutdown('work', () => {
      drained = true;
    });
    const exited = new Promise<number>((resolve) => {
      uninstall = installSignalHandlers({ lifecycle, logger, exit: resolve });
    });
    process.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(0);
    expect(drained).toBe(true);
  });

  it('exits 1 when a handler failed', async () => {
    const lifecycle = new Lifecycle({ logger });
    lifecycle.onShutdown('bad', () => {
      throw new Error('x');
    });
    const exited = new Promise<number>((resolve) => {
      uninstall = installSignalHandlers({ lifecycle, logger, exit: resolve });
    });
    process.emit('SIGINT', 'SIGINT');
    expect(await exited).toBe(1);
  });

  it('exits 130 at once on a second signal during the drain', async () => {
    const lifecycle = new Lifecycle({ logger, drainTimeoutMs: 5_000 });
    lifecycle.onShutdown('slow', () => new Promise<void>((r) => setTimeout(r, 200)));
    const codes: number[] = [];
    uninstall = installSignalHandlers({ lifecycle, logger, exit: (code) => codes.push(code) });
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    expect(codes).toEqual([130]);
    await lifecycle.close();
  });
});
