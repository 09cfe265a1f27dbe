// The Node side of @hummingbird/client: the bundler for the browser client, the meeting page server, and the
// client's public types. The browser entry point is src/index.ts (bundled, never imported on Node).
// `@hummingbird/client/page-server` is the page server alone, free of DOM types (what @hummingbird/stack imports).
export { bundleClient } from './bundle.js';
export { bundlePage, meetingPageConfig, startMeetingPage } from './page-server.js';
export type { MeetingPage, MeetingPageConfig, StartMeetingPageOptions } from './page-server.js';
export type { HummingbirdGlobal } from './index.js';
export type { BridgeMessage, ClientState, JingleEvent, JoinOptions, ParticipantState, RemoteSourceState, RemoteTrack } from './conference.js';
export type { PageState } from './page-state.js';
// The client's strict XML parser (DOM-free): tests compare what the client sent with the ljm fixtures.
export { El, XmlError, parseXml } from './xml.js';
