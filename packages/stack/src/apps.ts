// The Hummingbird apps as child processes of the launcher: each one exactly as a self-hoster runs it
// (`main.ts --config <file>`), so a test can SIGKILL or SIGSTOP a bridge the way production loses one.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StackAppError } from './errors.js';

export type AppName = 'token' | 'turn' | 'bridge' | 'focus';

export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One running app. */
export interface StackApp {
  /** `token`, `turn`, `focus`, `bridge-1`, `bridge-2`, … */
  readonly name: string;
  readonly app: AppName;
  readonly pid: number;
  /** The ops surface: `/about/health`, `/metrics`, … */
  readonly opsUrl: string;
  /** Sends a signal: `SIGKILL` and `SIGSTOP` / `SIGCONT` are how tests break a component. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<AppExit>;
  /** The last lines the app wrote (stdout and stderr), for failure messages. */
  logTail(lines?: number): string[];
  /** SIGTERM (the app drains and exits), then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<AppExit>;
}

export type LogSink = (app: string, line: string) => void;

export interface SpawnAppOptions {
  readonly app: AppName;
  readonly name: string;
  readonly configFile: string;
  readonly opsUrl: string;
  /** Extra environment (HB_<APP>_* overrides, secrets referenced as env:). */
  readonly env?: Readonly<Record<string, string>>;
  readonly log: LogSink;
  /** How long `/about/health` may take to answer 200. Default 60 s (a bridge starts mediasoup workers). */
  readonly readyTimeoutMs?: number;
  /** When the app counts as started, from its `/about/health` answer. Default: status 200. */
  readonly ready?: (status: number, body: string) => boolean;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STACK_DIR = fileURLToPath(new URL('../', import.meta.url));
const TAIL_LINES = 200;
const DEFAULT_READY_MS = 60_000;
const DEFAULT_GRACE_MS = 10_000;

/**
 * How an app is started. From source through tsx with the `hummingbird-source` condition (what `npm start` runs,
 * never a stale build), unless `HB_STACK_DIST=1` asks for the compiled `dist/main.js` (what a production unit runs).
 */
export function appCommand(app: AppName, env: NodeJS.ProcessEnv = process.env): { args: string[]; cwd: string } {
  const dist = `${ROOT}apps/${app}/dist/main.js`;
  if (env.HB_STACK_DIST === '1') {
    if (!existsSync(dist)) throw new StackAppError(app, `HB_STACK_DIST=1 but ${dist} does not exist: run pnpm build first`);
    return { args: [dist], cwd: ROOT };
  }
  // `--import tsx` resolves from the working directory: tsx is a dependency of this package.
  return { args: ['--import', 'tsx', '--conditions=hummingbird-source', `${ROOT}apps/${app}/src/main.ts`], cwd: STACK_DIR };
}

/** Readable log lines from the apps' pino JSON: `level message key=value…`, secrets were redacted by the app. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const { level, msg, time, pid: _pid, hostname: _hostname, name: _name, ...rest } = record;
    const levelName = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : typeof level === 'string' ? level : '';
    const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return [clock, levelName.padEnd(5), typeof msg === 'string' ? msg : '', extra].filter((s) => s !== '').join(' ');
  } catch {
    return line;
  }
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl !== -1) {
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      if (line !== '') onLine(line);
      nl = rest.indexOf('\n');
    }
  };
}

/** Starts one app and resolves once its `/about/health` answers 200. */
export async function spawnApp(options: SpawnAppOptions): Promise<StackApp> {
  const { args, cwd } = appCommand(options.app);
  const tail: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [...args, '--config', options.configFile], {
    cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    options.log(options.name, formatLogLine(line));
  };
  child.stdout?.on('data', lineSplitter(onLine));
  child.stderr?.on('data', lineSplitter(onLine));
  let exitInfo: AppExit | undefined;
  const exited = new Promise<AppExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once('error', (error) => {
      onLine(`spawn failed: ${error.message}`);
      exitInfo = { code: null, signal: null };
      resolve(exitInfo);
    });
  });
  if (child.pid === undefined) {
    await exited;
    throw new StackAppError(options.name, `could not be started`, tail);
  }
  const pid = child.pid;
  let stopping: Promise<AppExit> | undefined;
  const handle: StackApp = {
    name: options.name,
    app: options.app,
    pid,
    opsUrl: options.opsUrl,
    exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitInfo === undefined) child.kill(signal);
    },
    logTail: (lines = 40) => tail.slice(-lines),
    stop(graceMs = DEFAULT_GRACE_MS) {
      stopping ??= (async () => {
        if (exitInfo !== undefined) return exitInfo;
        child.kill('SIGCONT'); // a SIGSTOPped app could not act on SIGTERM
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? DEFAULT_READY_MS);
  let last = 'no answer yet';
  for (;;) {
    if (exitInfo !== undefined) {
      throw new StackAppError(options.name, `exited during start (code ${String(exitInfo.code)}, signal ${String(exitInfo.signal)})`, tail);
    }
    try {
      const reply = await fetch(`${options.opsUrl}/about/health`, { signal: AbortSignal.timeout(2_000) });
      const body = await reply.text();
      if (options.ready ? options.ready(reply.status, body) : reply.status === 200) return handle;
      last = `${String(reply.status)} ${body}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      await handle.stop(2_000);
      throw new StackAppError(options.name, `not healthy within ${String(options.readyTimeoutMs ?? DEFAULT_READY_MS)} ms (last health answer: ${last})`, tail);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
