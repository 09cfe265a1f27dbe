export { backoffDelay, type BackoffOptions } from './backoff.js';
export { ClientConnection, createClientConnection, type ClientConnectionOptions } from './client.js';
export { ComponentConnection, createComponentConnection, type ComponentConnectionOptions } from './component.js';
export {
  ConnectionStartError,
  NotOnlineError,
  XmppConnection,
  type ConnectionEvents,
  type ConnectionLogger,
  type ConnectionOptions,
  type ConnectionState,
  type KeepAliveOptions,
  type OfflineInfo,
} from './connection.js';
export { TypedEmitter } from './typed-emitter.js';
