import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ProsodyctlError, ProsodyStartError } from './errors.js';
import { freePorts } from './free-port.js';
import {
  defaultMucAdmins,
  jitsiHosts,
  renderProsodyConfig,
  type ProsodyConfig,
  type ProsodyHosts,
  type ProsodyLogLevel,
  type ProsodyPorts,
  type TurnServiceConfig,
} from './prosody-config.js';

/** The Debian packages the harness needs (prosody.md §1.1). */
export const PROSODY_INSTALL_COMMAND = 'apt-get install -y prosody prosody-modules lua-cjson lua-luaossl lua-basexx';

/** A service account created with `prosodyctl register` before Prosody starts: `[user, host, password]`. */
export type ProsodyUser = readonly [user: string, host: string, password: string];

/** Options of {@link startProsody}. Every field is optional; the defaults give the Jitsi layout of prosody.md §1.4. */
export interface StartProsodyOptions {
  /** Base domain `<d>` of the Jitsi layout. Default `meet.test`. */
  domain?: string;
  /** Accounts to register before start, e.g. `[['jvb', 'auth.meet.test', 'pw']]`. */
  users?: readonly ProsodyUser[];
  /** Fixed ports (e.g. the ports of a previous run, for restart tests); missing ones are taken free. */
  ports?: Partial<ProsodyPorts>;
  /** XEP-0114 secret of `focus.<d>`. Default: random per run (read it back from `handle.config`). */
  componentSecret?: string;
  /** TURN REST shared secret for XEP-0215 credentials. Default: random per run. */
  turnSecret?: string;
  /** Where the advertised TURN server is. Default `turn.<d>`, ports 3478/5349, ttl 86400 s. */
  turn?: Partial<Omit<TurnServiceConfig, 'secret'>>;
  /** Admins of both MUC components. Default {@link defaultMucAdmins}. */
  mucAdmins?: readonly string[];
  /** Load mod_smacks on the client host `<d>` (never on `auth.<d>`). Default false (prosody.md §3.4 item 5). */
  smacks?: boolean;
  /** Default `info`. */
  logLevel?: ProsodyLogLevel;
  /** Extra Prosody plugin directories (e.g. `infra/prosody/plugins`). */
  pluginPaths?: readonly string[];
  /** Extra global modules. */
  globalModules?: readonly string[];
  /** Lua appended to the global section. */
  globalExtra?: string;
  /** `authentication` of the client host. Default `anonymous`. */
  meetAuth?: string;
  /** Extra modules of the client host. */
  meetModules?: readonly string[];
  /** Lua appended to the client host section. */
  meetExtra?: string;
  /** Keep the run directory after stop() or a failed start (for post-mortems). Default false. */
  keep?: boolean;
  /** How long Prosody may take to become ready. Default 10 000 ms. */
  readyTimeoutMs?: number;
  /** Called with every line Prosody writes (stdout and stderr), e.g. to echo it in a test. */
  onLog?: (line: string) => void;
}

/** How a Prosody process ended. */
export interface ProsodyStopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Prosody logged "Shutdown complete" (its SIGTERM handler ran to the end). */
  readonly clean: boolean;
}

/** Output of a `prosodyctl` run. */
export interface ProsodyctlResult {
  readonly code: number | null;
  /** stdout and stderr, interleaved in arrival order. */
  readonly output: string;
}

const DEFAULT_DOMAIN = 'meet.test';
const DEFAULT_READY_TIMEOUT_MS = 10_000;
const LOG_LINES_KEPT = 10_000;
const LOG_TAIL_LINES = 25;
// prosody.md §1.2: with c2s_close_timeout = 1, SIGTERM → "Shutdown complete" takes at most ≈ 2 s.
const SHUTDOWN_WAIT_MS = 3_000;
const PROSODYCTL_TIMEOUT_MS = 30_000;
// A Prosody console line: "15:20:59 modulemanager       error\tUnable to load module …".
const ERROR_LINE = /^\d\d:\d\d:\d\d\s+\S+\s+error\t/;
const SHUTDOWN_COMPLETE = /\bShutdown complete\b/;
const PORT_IN_USE = /Failed to open server port (\d+)/;

/**
 * Start a private Prosody (prosody.md §1.3): temp run dir, free loopback ports, generated Jitsi-layout config,
 * registered users, `setpriv --pdeathsig TERM prosody -F`, and readiness proven by a real XMPP stream reply.
 *
 * Throws {@link ProsodyStartError}; by then no process and (unless `keep`) no directory is left behind.
 */
export async function startProsody(options: StartProsodyOptions = {}): Promise<ProsodyHandle> {
  const binaries = await findBinaries();
  const domain = options.domain ?? DEFAULT_DOMAIN;
  const hosts = jitsiHosts(domain);
  const ports = await resolvePorts(options.ports);
  const dir = await mkdtemp(join(tmpdir(), 'hb-prosody-'));
  const config: ProsodyConfig = {
    dir,
    hosts,
    ports,
    componentSecret: options.componentSecret ?? randomBytes(12).toString('hex'),
    turn: {
      host: options.turn?.host ?? `turn.${domain}`,
      port: options.turn?.port ?? 3478,
      tlsPort: options.turn?.tlsPort ?? 5349,
      ttl: options.turn?.ttl ?? 86_400,
      secret: options.turnSecret ?? randomBytes(12).toString('hex'),
    },
    mucAdmins: options.mucAdmins ?? defaultMucAdmins(hosts),
    runAsRoot: process.getuid?.() === 0,
    smacks: options.smacks ?? false,
    logLevel: options.logLevel ?? 'info',
    pluginPaths: (options.pluginPaths ?? []).map((p) => resolve(p)),
    globalModules: options.globalModules ?? [],
    globalExtra: options.globalExtra ?? '',
    meetAuth: options.meetAuth ?? 'anonymous',
    meetModules: options.meetModules ?? [],
    meetExtra: options.meetExtra ?? '',
  };
  const keep = options.keep ?? false;
  let instance: ProsodyProcess | undefined;
  try {
    await Promise.all([mkdir(join(dir, 'data')), mkdir(join(dir, 'certs'))]);
    const configPath = join(dir, 'prosody.cfg.lua');
    await writeFile(configPath, renderProsodyConfig(config));
    for (const [user, host, password] of options.users ?? []) {
      // prosody.md §2: works while Prosody is stopped; run_as_root keeps the files owned by us.
      const result = await runProsodyctl(binaries.prosodyctl, configPath, ['register', user, host, password]);
      if (result.code !== 0) {
        throw new ProsodyStartError(
          'HB_ERR_PROSODY_REGISTER',
          `prosodyctl register ${user} ${host} failed with exit code ${String(result.code)}`,
          tail(result.output.split('\n')),
          { dir },
        );
      }
    }
    instance = new ProsodyProcess(binaries, config, configPath, keep, options.onLog);
    await instance.waitReady(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    return instance;
  } catch (error) {
    await instance?.kill();
    if (!keep) await rm(dir, { recursive: true, force: true });
    // Bad options (renderProsodyConfig's TypeError) are the caller's bug, not a start failure.
    if (error instanceof ProsodyStartError || error instanceof TypeError) throw error;
    throw new ProsodyStartError('HB_ERR_PROSODY_START', `Prosody failed to start: ${String(error)}`, [], {
      dir,
      ...(instance ? { pid: instance.pid } : {}),
      cause: error,
    });
  }
}

/** A running Prosody started by {@link startProsody}. `stop()` is the way it should end. */
export interface ProsodyHandle {
  readonly ports: ProsodyPorts;
  /** PID of the Prosody process (setpriv execs it, so this is Prosody itself). */
  readonly pid: number;
  /** The run directory: config, pidfile, `data/`, `certs/`. Removed by stop() unless `keep`. */
  readonly dir: string;
  /** Base domain `<d>`. */
  readonly domain: string;
  readonly hosts: ProsodyHosts;
  /** The resolved config input (secrets included), as rendered into `configPath`. */
  readonly config: ProsodyConfig;
  readonly configPath: string;
  /** True until the Prosody process has exited. */
  readonly running: boolean;
  /** Create (or overwrite) an account with `prosodyctl register` (prosody.md §2). Throws ProsodyctlError. */
  register(user: string, host: string, password: string): Promise<void>;
  /** Run `prosodyctl --config <configPath> ...args`. Never throws on a non-zero exit code. */
  prosodyctl(...args: string[]): Promise<ProsodyctlResult>;
  /** Everything Prosody wrote so far (stdout and stderr). */
  log(): string;
  /** SIGTERM → "Shutdown complete" → SIGKILL → exit → remove the run directory. Idempotent. */
  stop(): Promise<ProsodyStopResult>;
}

/** The process behind a {@link ProsodyHandle}; its start/kill plumbing stays out of the public type. */
class ProsodyProcess implements ProsodyHandle {
  readonly ports: ProsodyPorts;
  readonly pid: number;
  readonly dir: string;
  readonly domain: string;
  readonly hosts: ProsodyHosts;
  /** The resolved config input (secrets included), as rendered into `configPath`. */
  readonly config: ProsodyConfig;
  readonly configPath: string;

  readonly #binaries: Binaries;
  readonly #keep: boolean;
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #onLog: ((line: string) => void) | undefined;
  readonly #lineWatchers = new Set<(line: string) => void>();
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #stopping: Promise<ProsodyStopResult> | undefined;

  constructor(binaries: Binaries, config: ProsodyConfig, configPath: string, keep: boolean, onLog?: (line: string) => void) {
    this.#binaries = binaries;
    this.config = config;
    this.configPath = configPath;
    this.ports = config.ports;
    this.dir = config.dir;
    this.domain = config.hosts.domain;
    this.hosts = config.hosts;
    this.#keep = keep;
    this.#onLog = onLog;
    // prosody.md §1.2 Orphans: setpriv execs Prosody (same PID), and the kernel sends it SIGTERM when this
    // process dies, so a crashed test runner cannot leave Prosody holding its ports.
    this.#child = spawn(binaries.setpriv, ['--pdeathsig', 'TERM', binaries.prosody, '-F', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#exited = new Promise((resolveExit) => {
      // 'close', not 'exit': stdio is drained by then, so a final "Shutdown complete" line is never missed.
      this.#child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        liveInstances.delete(this);
        resolveExit(this.#exit);
      });
      // spawn failures (ENOENT, EACCES) emit 'error' and no 'exit'.
      this.#child.once('error', (error) => {
        this.#addLine(`[harness] spawn failed: ${error.message}`);
        this.#exit ??= { code: null, signal: null };
        liveInstances.delete(this);
        resolveExit(this.#exit);
      });
    });
    this.#captureLines(this.#child.stdout);
    this.#captureLines(this.#child.stderr);
    if (this.#child.pid === undefined) {
      // Only when spawn failed synchronously; the 'error' event follows.
      this.pid = -1;
    } else {
      this.pid = this.#child.pid;
      trackLive(this);
    }
  }

  log(): string {
    return this.#lines.join('\n');
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  prosodyctl(...args: string[]): Promise<ProsodyctlResult> {
    return runProsodyctl(this.#binaries.prosodyctl, this.configPath, args);
  }

  async register(user: string, host: string, password: string): Promise<void> {
    const result = await this.prosodyctl('register', user, host, password);
    if (result.code !== 0) throw new ProsodyctlError(`prosodyctl register ${user} ${host} <password>`, result.code, result.output);
  }

  /**
   * SIGTERM → wait for "Shutdown complete" → SIGKILL → wait for exit → remove the run directory (unless `keep`).
   * prosody.md §1.2: after "Shutdown complete" nothing is left to flush, but the main loop can idle ≈ 1 s, so the
   * SIGKILL is what makes stop take milliseconds. Idempotent: later calls return the first call's result.
   */
  stop(): Promise<ProsodyStopResult> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<ProsodyStopResult> {
    let clean = this.#lines.some((line) => SHUTDOWN_COMPLETE.test(line));
    if (this.running) {
      const shutdown = this.#waitForLine(SHUTDOWN_COMPLETE, SHUTDOWN_WAIT_MS);
      this.#child.kill('SIGTERM');
      clean = await Promise.race([shutdown.promise, this.#exited.then(() => this.#lines.some((l) => SHUTDOWN_COMPLETE.test(l)))]);
      shutdown.cancel();
    }
    const exit = await this.kill();
    if (!this.#keep) await rm(this.dir, { recursive: true, force: true });
    return { code: exit.code, signal: exit.signal, clean };
  }

  /** SIGKILL (if still running) and wait for the exit; no directory cleanup. */
  async kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.#child.kill('SIGKILL');
    return this.#exited;
  }

  /** Synchronous kill + directory removal, for the process 'exit' hook only. */
  killSync(): void {
    if (this.running) this.#child.kill('SIGKILL');
    if (!this.#keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * prosody.md §1.2: the c2s port accepts TCP before mod_posix installs its signal handlers on the first
   * loop tick, so readiness is a real `<stream:features>` reply on c2s; then component and HTTP must accept
   * TCP. Any `error` log line, an early exit or the timeout fails the start.
   */
  async waitReady(timeoutMs: number): Promise<void> {
    const abort = new AbortController();
    const startupError = this.#waitForLine(ERROR_LINE, timeoutMs);
    const failures = [
      startupError.promise.then((found) => {
        if (found) throw this.#startError(this.#describeStartupError());
      }),
      this.#exited.then((exit) => {
        throw this.#startError(
          `Prosody exited before it was ready (code ${String(exit.code)}, signal ${String(exit.signal)})`,
        );
      }),
      sleep(timeoutMs, undefined, { signal: abort.signal, ref: false }).then(() => {
        throw this.#startError(
          `Prosody was not ready within ${String(timeoutMs)} ms (no XMPP stream reply on c2s port ${String(this.ports.c2s)})`,
        );
      }),
    ];
    try {
      await Promise.race([this.#probe(abort.signal), ...failures]);
      // Bind failures are logged before the loop starts, but the pipe may deliver them after the probe's reply.
      await sleep(0);
      if (this.#lines.some((line) => ERROR_LINE.test(line))) throw this.#startError(this.#describeStartupError());
    } finally {
      abort.abort();
      startupError.cancel();
      // The losers of the race reject later; nobody awaits them.
      for (const failure of failures) failure.catch(() => undefined);
    }
  }

  async #probe(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await streamFeatures(this.ports.c2s, this.domain, signal);
        await tcpAccepts(this.ports.component, signal);
        await tcpAccepts(this.ports.http, signal);
        return;
      } catch {
        if (signal.aborted) return;
        await sleep(20);
      }
    }
  }

  #describeStartupError(): string {
    const line = this.#lines.find((l) => ERROR_LINE.test(l)) ?? '';
    const port = PORT_IN_USE.exec(line)?.[1];
    if (port !== undefined) {
      const role = (Object.keys(this.ports) as (keyof ProsodyPorts)[]).find((k) => String(this.ports[k]) === port);
      return `Prosody could not listen on ${role ?? 'a'} port ${port}: it is already in use`;
    }
    return `Prosody logged an error while starting: ${line.replace(/^\S+\s+/, '')}`;
  }

  #startError(reason: string): ProsodyStartError {
    return new ProsodyStartError('HB_ERR_PROSODY_START', `${reason} (config ${this.configPath})`, tail(this.#lines), {
      dir: this.dir,
      pid: this.pid,
    });
  }

  #captureLines(stream: NodeJS.ReadableStream | null): void {
    if (stream === null) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) this.#addLine(part);
    });
    stream.on('end', () => {
      if (pending) this.#addLine(pending);
      pending = '';
    });
  }

  #addLine(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > LOG_LINES_KEPT) this.#lines.splice(0, this.#lines.length - LOG_LINES_KEPT);
    this.#onLog?.(line);
    for (const watcher of this.#lineWatchers) watcher(line);
  }

  /** Resolves true when a line matching `pattern` arrives (or already arrived), false after `timeoutMs` or cancel. */
  #waitForLine(pattern: RegExp, timeoutMs: number): { promise: Promise<boolean>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<boolean>((resolveWait) => {
      if (this.#lines.some((line) => pattern.test(line))) {
        resolveWait(true);
        return;
      }
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref();
      const watcher = (line: string): void => {
        if (pattern.test(line)) finish(true);
      };
      const finish = (found: boolean): void => {
        clearTimeout(timer);
        this.#lineWatchers.delete(watcher);
        resolveWait(found);
      };
      this.#lineWatchers.add(watcher);
      cancel = () => finish(false);
    });
    return { promise, cancel: () => cancel() };
  }
}

interface Binaries {
  readonly prosody: string;
  readonly prosodyctl: string;
  readonly setpriv: string;
}

async function findBinaries(): Promise<Binaries> {
  const [prosody, prosodyctl, setpriv] = await Promise.all([which('prosody'), which('prosodyctl'), which('setpriv')]);
  if (prosody === undefined || prosodyctl === undefined) {
    throw new ProsodyStartError(
      'HB_ERR_PROSODY_NOT_INSTALLED',
      `Prosody is not installed (no ${prosody === undefined ? 'prosody' : 'prosodyctl'} on PATH). Install it with: ${PROSODY_INSTALL_COMMAND}`,
    );
  }
  if (setpriv === undefined) {
    throw new ProsodyStartError(
      'HB_ERR_PROSODY_NOT_INSTALLED',
      'setpriv is not installed (no setpriv on PATH). Install it with: apt-get install -y util-linux',
    );
  }
  return { prosody, prosodyctl, setpriv };
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

async function resolvePorts(given: Partial<ProsodyPorts> | undefined): Promise<ProsodyPorts> {
  const fixed = [given?.c2s, given?.component, given?.http].filter((p): p is number => p !== undefined);
  // Take extra free ports so that none collides with a fixed one.
  const free = (await freePorts(3 + fixed.length)).filter((p) => !fixed.includes(p));
  const next = (): number => free.shift() as number;
  return { c2s: given?.c2s ?? next(), component: given?.component ?? next(), http: given?.http ?? next() };
}

function runProsodyctl(binary: string, configPath: string, args: readonly string[]): Promise<ProsodyctlResult> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(binary, ['--config', configPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROSODYCTL_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      rejectRun(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

/** Open c2s, send a stream header, wait for `<stream:features`, close politely. */
function streamFeatures(port: number, domain: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolveProbe, rejectProbe) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    let finished = false;
    const done = (error?: Error): void => {
      if (finished) return; // 'close' follows our own end/destroy
      finished = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('data');
      if (error) {
        socket.destroy();
        rejectProbe(error);
      } else {
        // Closing the stream lets Prosody end the session now instead of during shutdown (c2s_close_timeout).
        socket.end('</stream:stream>');
        socket.once('error', () => undefined);
        resolveProbe();
      }
    };
    const onAbort = (): void => done(new Error('aborted'));
    const timer = setTimeout(() => done(new Error('no stream reply within 1 s')), 1_000);
    signal.addEventListener('abort', onAbort);
    socket.once('error', (error) => done(error));
    socket.once('close', () => done(new Error('closed before <stream:features>')));
    socket.once('connect', () => {
      socket.write(
        `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
      );
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('<stream:features')) done();
    });
  });
}

function tcpAccepts(port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveProbe, rejectProbe) => {
    if (signal.aborted) {
      rejectProbe(new Error('aborted'));
      return;
    }
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe();
    });
    socket.once('error', (error) => {
      socket.destroy();
      rejectProbe(error);
    });
  });
}

function tail(lines: readonly string[]): string[] {
  return lines.filter((line) => line.trim() !== '').slice(-LOG_TAIL_LINES);
}

// Every instance not yet exited. If the runner exits without stop() (process.exit, an uncaught error), the
// 'exit' hook kills them synchronously; pdeathsig covers deaths where no hook runs (SIGKILL, crash).
const liveInstances = new Set<ProsodyProcess>();
let exitHookInstalled = false;

function trackLive(instance: ProsodyProcess): void {
  liveInstances.add(instance);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const live of liveInstances) live.killSync();
  });
}
