/**
 * Errors raised by the Prosody harness. Each carries a stable `HB_ERR_*` code (STYLE.md: a registry of
 * stable error codes) so callers and tests can branch on the code, never on the message text.
 */

/** Why a Prosody instance could not be brought up. */
export type ProsodyStartErrorCode =
  /** Prosody, prosodyctl or setpriv is not installed. */
  | 'HB_ERR_PROSODY_NOT_INSTALLED'
  /** Prosody was spawned but did not become ready (port taken, bad config, early exit, timeout). */
  | 'HB_ERR_PROSODY_START'
  /** A `prosodyctl register` run during start failed. */
  | 'HB_ERR_PROSODY_REGISTER';

/**
 * Prosody did not start. By the time this is thrown the process is gone and the run directory is removed
 * (unless `keep` was set), so nothing is left half-started.
 */
export class ProsodyStartError extends Error {
  override readonly name = 'ProsodyStartError';
  readonly code: ProsodyStartErrorCode;
  /** The last lines Prosody (or prosodyctl) wrote; also appended to `message`. */
  readonly logTail: readonly string[];
  /** The run directory that was used (already removed unless `keep`). */
  readonly dir: string | undefined;
  /** The PID Prosody had, if it was spawned (already gone). */
  readonly pid: number | undefined;

  constructor(
    code: ProsodyStartErrorCode,
    reason: string,
    logTail: readonly string[] = [],
    details: { dir?: string; pid?: number; cause?: unknown } = {},
  ) {
    const tail = logTail.length > 0 ? `\n--- last ${logTail.length} lines of Prosody's output ---\n${logTail.join('\n')}` : '';
    super(`${reason}${tail}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.logTail = logTail;
    this.dir = details.dir;
    this.pid = details.pid;
  }
}

/** A `prosodyctl` command exited non-zero (thrown by `ProsodyInstance.register`). */
export class ProsodyctlError extends Error {
  override readonly name = 'ProsodyctlError';
  readonly code = 'HB_ERR_PROSODYCTL' as const;
  readonly exitCode: number | null;
  readonly output: string;

  /** @param command what was run, for the message (callers redact passwords). */
  constructor(command: string, exitCode: number | null, output: string) {
    super(`${command} exited with ${String(exitCode)}: ${output.trim() || '(no output)'}`);
    this.exitCode = exitCode;
    this.output = output;
  }
}

/** A Hummingbird app of the stack did not start or become healthy (`HB_ERR_STACK_APP`). */
export class StackAppError extends Error {
  override readonly name = 'StackAppError';
  readonly code = 'HB_ERR_STACK_APP' as const;
  /** `token`, `turn`, `focus`, `bridge-1`, … */
  readonly app: string;
  /** The last lines the app wrote; also appended to `message`. */
  readonly logTail: readonly string[];

  constructor(app: string, reason: string, logTail: readonly string[] = []) {
    const tail = logTail.length > 0 ? `\n--- last ${Math.min(logTail.length, 40)} lines of ${app}'s output ---\n${logTail.slice(-40).join('\n')}` : '';
    super(`${app}: ${reason}${tail}`);
    this.app = app;
    this.logTail = logTail;
  }
}
