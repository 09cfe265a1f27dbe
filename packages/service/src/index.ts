export { defineConfig, type ConfigDefinition, type ConfigOptions, type LoadConfigOptions } from './config.js';
export { ConfigError, HbError, HB_ERRORS, isHbError, type ConfigIssue, type HbErrorCode } from './errors.js';
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  Lifecycle,
  installSignalHandlers,
  type LifecycleOptions,
  type ShutdownHandler,
  type ShutdownResult,
  type SignalHandlerOptions,
} from './lifecycle.js';
export { createLogger, isSecretKey, LOG_LEVELS, REDACTED, redactSecrets, type Logger, type LoggerOptions, type LogLevel } from './logger.js';
export {
  createOpsServer,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_OPS_HOST,
  OpsServer,
  type HealthCheck,
  type HealthReport,
  type OpsServerOptions,
} from './ops-server.js';
export {
  configFileFrom,
  logConfigSchema,
  opsConfigSchema,
  readPackageVersion,
  runMain,
  shutdownConfigSchema,
  startService,
  type MainOptions,
  type RunningService,
  type ServiceOptions,
} from './service.js';
