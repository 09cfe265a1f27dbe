// The browser entry point: esbuild bundles this file into one IIFE that sets `window.Hummingbird`
// (src/bundle.ts). Tests drive it with page.evaluate.

import { ConferenceClient, capsVer, type ClientState, type JoinOptions } from './conference.js';
import { clientFeatures } from './ns.js';

export { ConferenceClient, capsVer, clientFeatures };
export type { ClientState, JoinOptions };

export interface HummingbirdGlobal {
  ConferenceClient: typeof ConferenceClient;
  /** The participant of this page, once `join` was called. */
  client: ConferenceClient | undefined;
  /** Creates the page's client and joins; resolves when the MUC self-presence arrived. */
  join(options: JoinOptions): Promise<void>;
  state(): Promise<ClientState | undefined>;
  leave(): Promise<void>;
  startScreenShare(preferDisplay?: boolean): Promise<void>;
  lockRoom(password: string): Promise<void>;
  setReceiverMaxHeight(maxHeight: number): void;
}

const api: HummingbirdGlobal = {
  ConferenceClient,
  client: undefined,
  async join(options) {
    if (api.client) throw new Error('this page already has a participant');
    api.client = new ConferenceClient(options);
    await api.client.join();
  },
  async state() {
    return api.client?.state();
  },
  async leave() {
    await api.client?.leave();
  },
  setReceiverMaxHeight(maxHeight) {
    if (!api.client) throw new Error('not joined');
    api.client.setReceiverMaxHeight(maxHeight);
  },
  async lockRoom(password) {
    if (!api.client) throw new Error('not joined');
    await api.client.lockRoom(password);
  },
  async startScreenShare(preferDisplay) {
    if (!api.client) throw new Error('not joined');
    await api.client.startScreenShare(preferDisplay);
  },
};

(globalThis as unknown as { Hummingbird: HummingbirdGlobal }).Hummingbird = api;
