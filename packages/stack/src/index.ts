// @hummingbird/stack: one launcher for Prosody (and later the Hummingbird apps), used by `pnpm start` and by
// the integration tests (ARCHITECTURE.md: one launcher, not two).
export { startProsody, PROSODY_INSTALL_COMMAND } from './prosody.js';
export type { ProsodyHandle, ProsodyStopResult, ProsodyctlResult, ProsodyUser, StartProsodyOptions } from './prosody.js';
export { renderProsodyConfig, jitsiHosts, defaultMucAdmins, luaString } from './prosody-config.js';
export type { ProsodyConfig, ProsodyHosts, ProsodyLogLevel, ProsodyPorts, TurnServiceConfig } from './prosody-config.js';
export { freePort, freePorts, freeUdpTcpPort } from './free-port.js';
export { ProsodyStartError, ProsodyctlError, StackAppError } from './errors.js';
export type { ProsodyStartErrorCode } from './errors.js';
export { startStack } from './stack.js';
export type { Stack, StartStackOptions, StackBridge, StackHosts, StackToken, StackTurn, AppName, AppExit, LogSink, StackApp } from './stack.js';
export { formatLogLine } from './apps.js';
export { readStackFile, stackOptionsFrom, StackFileError } from './stack-file.js';
export type { StackFileOptions } from './stack-file.js';
export { mergeConfig } from './stack.js';
