// What the meeting page (page/app.ts) exposes as `window.hbPage.state()`: read by tests and curious people.

export interface PageState {
  client: 'hummingbird' | 'legacy' | undefined;
  joined: boolean;
  error: string | undefined;
  /** How this page shares its screen: `display` (getDisplayMedia), `canvas` (the client's fallback), `replaced` (legacy: instead of the camera). */
  screenShare: string | undefined;
  tiles: { key: string; name: string; self: boolean; screen: boolean; videoMuted: boolean; audioMuted: boolean; videoWidth: number; videoHeight: number; frames: number }[];
}
