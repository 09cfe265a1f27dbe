import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LevelWithSilent[];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** The app or component name, written as `name` on every line. */
  name: string;
  level?: LogLevel;
  /** Where JSON lines go; stdout when absent (tests pass a capturing stream). */
  destination?: DestinationStream;
}

export const REDACTED = '[redacted]';

/**
 * Keys whose values must never reach a log line. Matched against the key name alone, at any
 * depth: pino's own `redact` needs every path spelled out, and a secret nested one level deeper
 * than someone foresaw is exactly the leak that matters.
 */
const SECRET_WORD = /(passw(or)?d|passphrase|secret|token|authori[sz]ation|cookie|credential)/i;
// `key` as a word: `key`, `apiKey`, `private_key`, `KEY_FILE` — but not `monkey` or `keyframe`.
const KEY_WORD = /(^key$|^key[_-]|[_-]key$|[_-]key[_-])/i;
const KEY_CAMEL = /[a-z0-9]Key$/;

export function isSecretKey(key: string): boolean {
  // `keyId` names a key but is not one; logging it is how JWKS lookups get debugged.
  if (/^key_?id$/i.test(key)) return false;
  if (SECRET_WORD.test(key)) return true;
  // camelCase is matched case-sensitively so that `monkey` (lower-case suffix) stays readable.
  return KEY_CAMEL.test(key) || KEY_WORD.test(key);
}

const MAX_DEPTH = 10;

/** Copies plain objects and arrays with secret-looking keys replaced; other instances pass as is. */
function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > MAX_DEPTH) return '[elided]';
  if (Array.isArray(value)) {
    seen.add(value);
    const out = value.map((item) => redact(item, depth + 1, seen));
    seen.delete(value);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Errors go to pino's err serializer; a secret in an Error's own fields is redacted there.
    if (value instanceof Error) return redactError(value, depth, seen);
    return value;
  }
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = isSecretKey(key) ? REDACTED : redact(child, depth + 1, seen);
  }
  seen.delete(value);
  return out;
}

function redactError(error: Error, depth: number, seen: WeakSet<object>): unknown {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  return redact({ ...serialized }, depth, seen);
}

export function redactSecrets<T>(value: T): T {
  return redact(value, 0, new WeakSet()) as T;
}

/**
 * One JSON log line per event (ARCHITECTURE.md, operations contract). Redaction runs on the
 * object of every call and on child bindings; the message string itself is the caller's
 * responsibility: never interpolate a secret into it.
 */
export function createLogger(options: LoggerOptions): Logger {
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object),
        bindings: (bindings) => redactSecrets(bindings),
      },
      serializers: {
        err: (error: unknown) => (error instanceof Error ? redactError(error, 0, new WeakSet()) : redactSecrets(error)),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino replaces the bindings formatter in children, so child bindings (`logger.child({ secret })`,
  // and fastify's request loggers) would bypass redaction. Children inherit from their parent's
  // prototype chain, so wrapping `child` once here covers grandchildren too.
  // Unbound on purpose: `this` must be the logger `child` is called on, not always the root.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const child = logger.child;
  function redactingChild(this: Logger, bindings: Bindings, childOptions?: ChildLoggerOptions): Logger {
    return Reflect.apply(child, this, [redactSecrets(bindings), childOptions]);
  }
  // defineProperty rather than assignment: pino's generic `child` signature (custom levels) is
  // wider than this wrapper needs to be, and no custom levels are ever configured here.
  Object.defineProperty(logger, 'child', { value: redactingChild, writable: true, configurable: true });
  return logger;
}
