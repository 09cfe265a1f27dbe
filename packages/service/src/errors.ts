/**
 * Stable error codes, fastify's `FST_ERR_*` registry in Hummingbird's colours (STYLE.md: fastify).
 *
 * A code is part of the operations contract: operators grep logs for it and tests assert on it,
 * so a code is never renamed or reused for another meaning. Each code maps to the HTTP status an
 * HTTP surface answers with; XMPP conditions join the table when packages/xmpp needs them.
 */
export const HB_ERRORS = {
  HB_ERR_CONFIG: { httpStatus: 500, description: 'the configuration is invalid' },
  HB_ERR_NOT_IMPLEMENTED: { httpStatus: 501, description: 'the feature is not implemented yet' },
  HB_ERR_SHUTDOWN: { httpStatus: 503, description: 'the service is shutting down' },
} as const satisfies Record<string, { httpStatus: number; description: string }>;

export type HbErrorCode = keyof typeof HB_ERRORS;

export class HbError extends Error {
  readonly code: HbErrorCode;
  readonly httpStatus: number;

  constructor(code: HbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HbError';
    this.code = code;
    this.httpStatus = HB_ERRORS[code].httpStatus;
  }
}

/** One problem in a configuration: which key (dotted path, or an env variable name) and why. */
export interface ConfigIssue {
  key: string;
  message: string;
}

/**
 * Thrown when a configuration cannot be read or does not validate. The message alone is enough
 * for an operator: it names every bad key, so that main() can print it without a stack.
 */
export class ConfigError extends HbError {
  readonly issues: readonly ConfigIssue[];

  constructor(appName: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => `  - ${issue.key}: ${issue.message}`);
    super('HB_ERR_CONFIG', `invalid ${appName} configuration:\n${lines.join('\n')}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function isHbError(error: unknown): error is HbError {
  return error instanceof HbError;
}
