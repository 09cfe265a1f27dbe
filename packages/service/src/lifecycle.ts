import type { Logger } from './logger.js';

/**
 * A drain step. It receives a signal that aborts when the drain deadline passes, so that a handler
 * waiting on sessions (LiveKit-style drain: stop taking new ones, wait for the rest) can give up
 * cleanly instead of being abandoned mid-way.
 */
export type ShutdownHandler = (signal: AbortSignal) => void | Promise<void>;

export interface ShutdownResult {
  /** Why the shutdown started (`SIGTERM`, `SIGINT`, `close()`…). */
  reason: string;
  /** Names of handlers that threw or rejected. */
  failed: string[];
  /** Names of handlers still running when the deadline passed. */
  timedOut: string[];
  /** True when every handler finished in time without error. */
  clean: boolean;
}

export interface LifecycleOptions {
  logger: Logger;
  /** Upper bound for the whole drain; a stuck handler never keeps the process alive past it. */
  drainTimeoutMs?: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

interface Registration {
  name: string;
  handler: ShutdownHandler;
}

/**
 * Owns the order in which an app lets go of its resources. Handlers run once, in reverse
 * registration order (what was opened last is closed first, as with a stack of `using`), one
 * after another, all under one deadline. `close()` is idempotent: every caller gets the same
 * promise, so a second SIGTERM or a test's `afterEach` cannot run a handler twice.
 */
export class Lifecycle {
  readonly #logger: Logger;
  readonly #drainTimeoutMs: number;
  readonly #registrations: Registration[] = [];
  #closing: Promise<ShutdownResult> | undefined;

  constructor(options: LifecycleOptions) {
    this.#logger = options.logger;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (!Number.isFinite(this.#drainTimeoutMs) || this.#drainTimeoutMs < 0) {
      throw new TypeError(`drainTimeoutMs must be a non-negative number, got ${this.#drainTimeoutMs}`);
    }
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Registers a drain step; returns a function that unregisters it (for resources closed early). */
  onShutdown(name: string, handler: ShutdownHandler): () => void {
    if (this.#closing !== undefined) {
      // Registering during shutdown means the resource would never be closed: refuse loudly.
      throw new TypeError(`cannot register shutdown handler "${name}": shutdown already started`);
    }
    const registration = { name, handler };
    this.#registrations.push(registration);
    return () => {
      const index = this.#registrations.indexOf(registration);
      if (index >= 0) this.#registrations.splice(index, 1);
    };
  }

  close(reason = 'close()'): Promise<ShutdownResult> {
    this.#closing ??= this.#drain(reason);
    return this.#closing;
  }

  async #drain(reason: string): Promise<ShutdownResult> {
    const started = Date.now();
    this.#logger.info({ reason, handlers: this.#registrations.length, drainTimeoutMs: this.#drainTimeoutMs }, 'shutdown: draining');
    const abort = new AbortController();
    const failed: string[] = [];
    const timedOut: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => {
        abort.abort(new Error('drain deadline passed'));
        resolve('deadline');
      }, this.#drainTimeoutMs);
    });

    const pending = [...this.#registrations].reverse();
    this.#registrations.length = 0;
    try {
      for (const [index, { name, handler }] of pending.entries()) {
        if (abort.signal.aborted) {
          timedOut.push(...pending.slice(index).map((r) => r.name));
          break;
        }
        const run = (async () => handler(abort.signal))().then(
          () => 'done' as const,
          (error: unknown) => {
            failed.push(name);
            this.#logger.error({ err: error, handler: name }, 'shutdown: handler failed');
            return 'failed' as const;
          },
        );
        const outcome = await Promise.race([run, deadline]);
        if (outcome === 'deadline') {
          timedOut.push(...pending.slice(index).map((r) => r.name));
          break;
        }
      }
    } finally {
      clearTimeout(timer);
    }

    const clean = failed.length === 0 && timedOut.length === 0;
    const elapsedMs = Date.now() - started;
    if (timedOut.length > 0) {
      this.#logger.error({ reason, timedOut, failed, elapsedMs }, 'shutdown: drain deadline passed');
    } else {
      this.#logger.info({ reason, failed, elapsedMs }, clean ? 'shutdown: drained' : 'shutdown: drained with errors');
    }
    return { reason, failed, timedOut, clean };
  }
}

export interface SignalHandlerOptions {
  lifecycle: Lifecycle;
  logger: Logger;
  /** Injected so tests can observe the exit instead of losing the test process. */
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT → drain → exit (0 when clean, 1 otherwise). A second signal during the drain
 * exits at once with 130: an operator pressing Ctrl-C twice means it. Returns an uninstaller.
 */
export function installSignalHandlers(options: SignalHandlerOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    if (options.lifecycle.closing) {
      options.logger.warn({ signal }, 'shutdown: second signal, exiting without waiting for the drain');
      exit(130);
      return;
    }
    options.logger.info({ signal }, 'shutdown: signal received');
    void options.lifecycle.close(signal).then((result) => exit(result.clean ? 0 : 1));
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
