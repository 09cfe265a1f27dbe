// The Node side of @hummingbird/client: the bundler for the browser client and the client's public types.
// The browser entry point is src/index.ts (bundled, never imported on Node).
export { bundleClient } from './bundle.js';
export type { HummingbirdGlobal } from './index.js';
export type { BridgeMessage, ClientState, JingleEvent, JoinOptions, ParticipantState, RemoteSourceState } from './conference.js';
