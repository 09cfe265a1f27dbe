// The meeting page (served by src/page-server.ts, bundled by esbuild): join a room, one tile per participant and
// per screen share, mute, share the screen, leave. Two engines behind one small interface: the Hummingbird
// client (src/conference.ts, the current lib-jitsi-meet protocol) and, with the legacy switch, the
// `@lyno/lib-jitsi-meet` bundle (JitsiMeetJS of ~2021, spec/jitsi-client-protocol.md §10).
// The page is polled into the DOM every 300 ms: simple, and enough for a smoke test.

import { ConferenceClient } from '../src/conference.js';
import type { PageState } from '../src/page-state.js';

/** What /config.json says (src/page-server.ts MeetingPageConfig). */
interface PageConfig {
  websocketUrl: string;
  domain: string;
  muc: string;
  focus: string;
  guest?: string;
}

/** One thing to show: a participant's camera (or its screen share), and its microphone. */
interface TileView {
  key: string;
  participant: string;
  name: string;
  self: boolean;
  screen: boolean;
  video: MediaStreamTrack | undefined;
  audio: MediaStreamTrack | undefined;
  videoMuted: boolean;
  audioMuted: boolean;
}

interface Engine {
  readonly label: string;
  join(): Promise<void>;
  tiles(): TileView[];
  setMuted(kind: 'audio' | 'video', muted: boolean): Promise<void>;
  shareScreen(): Promise<void>;
  stopScreenShare(): Promise<void>;
  sharing(): boolean;
  /** How the screen is shared, while it is. */
  shareMode(): string | undefined;
  leave(): Promise<void>;
}

interface JoinInput {
  room: string;
  name: string;
  token: string | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The Hummingbird client

/** SourceInfo JSON of a presence (§3.2): `{"<ep>-v0":{"muted":true}}`; bad JSON counts as nothing muted. */
function sourceMuted(sourceInfo: string | undefined, name: string): boolean {
  if (!sourceInfo) return false;
  try {
    const info = JSON.parse(sourceInfo) as Record<string, { muted?: unknown } | undefined>;
    return info[name]?.muted === true;
  } catch {
    return false;
  }
}

class HummingbirdEngine implements Engine {
  readonly label = 'Hummingbird client (current lib-jitsi-meet protocol)';
  #client: ConferenceClient;
  #participants: { id: string; nick: string | undefined; sourceInfo: string | undefined; left: boolean }[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #shareMode: string | undefined;

  constructor(config: PageConfig, input: JoinInput) {
    const domain = input.token || !config.guest ? config.domain : config.guest;
    this.#client = new ConferenceClient({
      websocketUrl: config.websocketUrl,
      domain,
      muc: config.muc,
      focus: config.focus,
      room: input.room,
      displayName: input.name,
      ...(input.token ? { token: input.token } : {}),
      video: { width: 640, height: 480, frameRate: 15 },
    });
  }

  async join(): Promise<void> {
    await this.#client.join();
    const poll = async (): Promise<void> => {
      const st = await this.#client.state();
      this.#participants = st.participants.filter((p) => p.id !== 'focus');
      this.#shareMode = st.local.screenShare;
    };
    await poll();
    this.#timer = setInterval(() => void poll().catch(() => undefined), 500);
  }

  tiles(): TileView[] {
    const c = this.#client;
    const local = c.localTracks();
    const me = c.options.displayName ?? 'me';
    const out: TileView[] = [
      { key: 'self', participant: 'self', name: `${me} (you)`, self: true, screen: false, video: local.video, audio: undefined, videoMuted: c.muted.video, audioMuted: c.muted.audio },
    ];
    if (local.desktop) out.push({ key: 'self:screen', participant: 'self', name: `${me} (your screen)`, self: true, screen: true, video: local.desktop, audio: undefined, videoMuted: false, audioMuted: false });
    const remote = c.remoteTracks();
    for (const p of this.#participants) {
      if (p.left) continue;
      const mine = remote.filter((r) => r.owner === p.id);
      const camera = mine.find((r) => r.kind === 'video' && r.videoType !== 'desktop');
      const audio = mine.find((r) => r.kind === 'audio');
      const name = p.nick ?? p.id;
      out.push({
        key: p.id, participant: p.id, name, self: false, screen: false, video: camera?.track, audio: audio?.track,
        videoMuted: sourceMuted(p.sourceInfo, camera?.name ?? `${p.id}-v0`), audioMuted: sourceMuted(p.sourceInfo, audio?.name ?? `${p.id}-a0`),
      });
      const screen = mine.find((r) => r.kind === 'video' && r.videoType === 'desktop');
      if (screen) out.push({ key: `${p.id}:screen`, participant: p.id, name: `${name} (screen)`, self: false, screen: true, video: screen.track, audio: undefined, videoMuted: false, audioMuted: false });
    }
    return out;
  }

  setMuted(kind: 'audio' | 'video', muted: boolean): Promise<void> {
    this.#client.setMuted(kind, muted);
    return Promise.resolve();
  }

  shareScreen(): Promise<void> {
    return this.#client.startScreenShare(true);
  }

  stopScreenShare(): Promise<void> {
    return this.#client.stopScreenShare();
  }

  sharing(): boolean {
    return this.#client.localTracks().desktop !== undefined;
  }

  shareMode(): string | undefined {
    return this.sharing() ? this.#shareMode : undefined;
  }

  async leave(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.leave();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The legacy client: the part of the JitsiMeetJS API (2021 builds) this page uses.

interface LjmTrack {
  getType(): 'audio' | 'video';
  getVideoType?(): string | undefined;
  isLocal(): boolean;
  isMuted(): boolean;
  getParticipantId(): string;
  getTrack(): MediaStreamTrack;
  mute(): Promise<void>;
  unmute(): Promise<void>;
  dispose(): Promise<void>;
}

interface LjmParticipant {
  getId(): string;
  getDisplayName(): string | undefined;
  getTracks(): LjmTrack[];
}

interface LjmConference {
  on(event: string, handler: (...args: unknown[]) => void): void;
  addTrack(track: LjmTrack): Promise<unknown>;
  replaceTrack(oldTrack: LjmTrack | null, newTrack: LjmTrack | null): Promise<unknown>;
  setDisplayName(name: string): void;
  join(password?: string): void;
  leave(): Promise<unknown>;
  getParticipants(): LjmParticipant[];
}

interface LjmConnection {
  addEventListener(event: string, handler: (...args: unknown[]) => void): void;
  connect(options?: Record<string, unknown>): void;
  disconnect(): Promise<unknown> | undefined;
  initJitsiConference(name: string, options: Record<string, unknown>): LjmConference;
}

interface JitsiMeetJSGlobal {
  init(options: Record<string, unknown>): unknown;
  setLogLevel?(level: unknown): void;
  logLevels?: Record<string, unknown>;
  createLocalTracks(options: Record<string, unknown>): Promise<LjmTrack[]>;
  JitsiConnection: new (appId: string | null, token: string | null, options: Record<string, unknown>) => LjmConnection;
  events: { connection: Record<string, string>; conference: Record<string, string> };
}

interface LegacyWindow {
  JitsiMeetJS?: JitsiMeetJSGlobal;
  jQuery?: unknown;
  jquery?: unknown;
}

/** `promise`, or a rejection naming `what` after `ms`: every step of joining is bounded. */
function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${String(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

class LegacyEngine implements Engine {
  readonly label = 'legacy client (@lyno/lib-jitsi-meet 2.6726.2, ~2021)';
  #config: PageConfig;
  #input: JoinInput;
  #connection: LjmConnection | undefined;
  #conference: LjmConference | undefined;
  #local: LjmTrack[] = [];
  #camera: LjmTrack | undefined;
  #desktop: LjmTrack | undefined;

  constructor(config: PageConfig, input: JoinInput) {
    this.#config = config;
    this.#input = input;
  }

  async join(): Promise<void> {
    const w = window as unknown as LegacyWindow;
    if (!w.JitsiMeetJS) {
      await loadScript('/legacy/jquery.js');
      // The 2021 bundle reads jQuery from `window.jquery`.
      w.jquery = w.jQuery;
      await loadScript('/legacy/lib-jitsi-meet.js');
    }
    const JitsiMeetJS = w.JitsiMeetJS;
    if (!JitsiMeetJS) throw new Error('the legacy bundle did not define JitsiMeetJS');
    if (JitsiMeetJS.setLogLevel && JitsiMeetJS.logLevels) JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels['WARN']);
    JitsiMeetJS.init({ enableAnalyticsLogging: false, disableAudioLevels: true });
    this.#local = await JitsiMeetJS.createLocalTracks({ devices: ['audio', 'video'], resolution: 480 });
    this.#camera = this.#local.find((t) => t.getType() === 'video');
    const { config, input } = { config: this.#config, input: this.#input };
    const connection = new JitsiMeetJS.JitsiConnection(null, input.token ?? null, {
      hosts: { domain: config.domain, muc: config.muc, focus: config.focus, ...(input.token || !config.guest ? {} : { anonymousdomain: config.guest }) },
      serviceUrl: config.websocketUrl,
    });
    this.#connection = connection;
    const ev = JitsiMeetJS.events;
    await within('XMPP connection', 20_000, new Promise<void>((resolve, reject) => {
      connection.addEventListener(ev.connection['CONNECTION_ESTABLISHED'] ?? 'connection.connectionEstablished', () => resolve());
      connection.addEventListener(ev.connection['CONNECTION_FAILED'] ?? 'connection.connectionFailed', (...args) => reject(new Error(`connection failed: ${args.map(String).join(' ')}`)));
      connection.connect();
    }));
    const conference = connection.initJitsiConference(input.room.toLowerCase(), { p2p: { enabled: false } });
    this.#conference = conference;
    const joined = new Promise<void>((resolve, reject) => {
      conference.on(ev.conference['CONFERENCE_JOINED'] ?? 'conference.joined', () => resolve());
      conference.on(ev.conference['CONFERENCE_FAILED'] ?? 'conference.failed', (...args) => reject(new Error(`conference failed: ${args.map(String).join(' ')}`)));
    });
    for (const t of this.#local) await conference.addTrack(t);
    conference.setDisplayName(input.name);
    conference.join();
    await within('joining the conference', 30_000, joined);
  }

  tiles(): TileView[] {
    const me = this.#input.name || 'me';
    const out: TileView[] = [{
      key: 'self', participant: 'self', name: `${me} (you)`, self: true, screen: this.#desktop !== undefined,
      video: (this.#desktop ?? this.#camera)?.getTrack(), audio: undefined,
      videoMuted: this.#camera?.isMuted() ?? false, audioMuted: this.#local.find((t) => t.getType() === 'audio')?.isMuted() ?? false,
    }];
    for (const p of this.#conference?.getParticipants() ?? []) {
      const tracks = p.getTracks();
      const video = tracks.find((t) => t.getType() === 'video');
      const audio = tracks.find((t) => t.getType() === 'audio');
      out.push({
        key: p.getId(), participant: p.getId(), name: p.getDisplayName() ?? p.getId(), self: false, screen: video?.getVideoType?.() === 'desktop',
        video: video?.getTrack(), audio: audio?.getTrack(), videoMuted: video?.isMuted() ?? false, audioMuted: audio?.isMuted() ?? false,
      });
    }
    return out;
  }

  async setMuted(kind: 'audio' | 'video', muted: boolean): Promise<void> {
    const track = kind === 'video' ? this.#camera : this.#local.find((t) => t.getType() === 'audio');
    if (track) await (muted ? track.mute() : track.unmute());
  }

  /** This client version sends one video source: the screen replaces the camera, as jitsi-meet of that time did. */
  async shareScreen(): Promise<void> {
    const JitsiMeetJS = (window as unknown as LegacyWindow).JitsiMeetJS;
    if (!JitsiMeetJS || !this.#conference || !this.#camera) throw new Error('not in a conference');
    const created = await JitsiMeetJS.createLocalTracks({ devices: ['desktop'] });
    for (const t of created) if (t.getType() !== 'video') await t.dispose();
    const desktop = created.find((t) => t.getType() === 'video');
    if (!desktop) throw new Error('no screen to share');
    await this.#conference.replaceTrack(this.#camera, desktop);
    this.#desktop = desktop;
  }

  async stopScreenShare(): Promise<void> {
    if (!this.#desktop || !this.#conference || !this.#camera) return;
    await this.#conference.replaceTrack(this.#desktop, this.#camera);
    await this.#desktop.dispose();
    this.#desktop = undefined;
  }

  sharing(): boolean {
    return this.#desktop !== undefined;
  }

  shareMode(): string | undefined {
    return this.sharing() ? 'replaced' : undefined;
  }

  async leave(): Promise<void> {
    try {
      await this.#conference?.leave();
    } finally {
      for (const t of [...this.#local, ...(this.#desktop ? [this.#desktop] : [])]) await t.dispose().catch(() => undefined);
      await this.#connection?.disconnect();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The page


const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e as T;
};

const ROOM = /^[A-Za-z0-9._-]{1,64}$/;
let engine: Engine | undefined;
let engineKind: PageState['client'];
let renderTimer: ReturnType<typeof setInterval> | undefined;
let lastError: string | undefined;
const audioMuted = { value: false };
const videoMuted = { value: false };

function showError(message: string | undefined): void {
  lastError = message;
  const e = $('error');
  e.hidden = message === undefined;
  e.textContent = message ?? '';
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

function render(): void {
  if (!engine) return;
  const views = engine.tiles();
  const tiles = $('tiles');
  const keep = new Set(views.map((v) => v.key));
  for (const el of Array.from(tiles.children) as HTMLElement[]) if (!keep.has(el.dataset['key'] ?? '')) el.remove();
  for (const v of views) {
    let fig = tiles.querySelector<HTMLElement>(`figure[data-key="${CSS.escape(v.key)}"]`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.className = 'tile';
      fig.dataset['key'] = v.key;
      const video = document.createElement('video');
      video.autoplay = true;
      video.muted = true;
      video.playsInline = true;
      fig.append(video, document.createElement('figcaption'));
      tiles.append(fig);
    }
    fig.classList.toggle('self', v.self);
    fig.classList.toggle('screen', v.screen);
    fig.classList.toggle('video-muted', v.videoMuted);
    fig.dataset['participant'] = v.participant;
    const caption = fig.querySelector('figcaption');
    const text = `${v.name}${v.audioMuted ? ' · mic off' : ''}`;
    if (caption && caption.textContent !== text) caption.textContent = text;
    const video = fig.querySelector('video');
    const current = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (video && v.video && current !== v.video) {
      video.srcObject = new MediaStream([v.video]);
      video.play().catch(() => undefined);
    }
  }
  // Remote audio plays through one <audio> element per track.
  const audioBox = $('audio');
  const tracks = new Map(views.filter((v) => v.audio).map((v) => [v.audio?.id ?? '', v.audio as MediaStreamTrack]));
  for (const a of Array.from(audioBox.children) as HTMLAudioElement[]) if (!tracks.has(a.dataset['track'] ?? '')) a.remove();
  for (const [id, track] of tracks) {
    if (audioBox.querySelector(`audio[data-track="${CSS.escape(id)}"]`)) continue;
    const a = document.createElement('audio');
    a.autoplay = true;
    a.dataset['track'] = id;
    a.srcObject = new MediaStream([track]);
    a.play().catch(() => undefined);
    audioBox.append(a);
  }
  const share = $<HTMLButtonElement>('share');
  const sharing = engine.sharing();
  share.textContent = sharing ? 'Stop sharing' : 'Share screen';
  share.setAttribute('aria-pressed', String(sharing));
}

function state(): PageState {
  const tiles = (Array.from($('tiles').children) as HTMLElement[]).map((fig) => {
    const video = fig.querySelector('video');
    const quality = video?.getVideoPlaybackQuality();
    const caption = fig.querySelector('figcaption')?.textContent ?? '';
    return {
      key: fig.dataset['key'] ?? '', name: caption.replace(/ · mic off$/, ''), self: fig.classList.contains('self'), screen: fig.classList.contains('screen'),
      videoMuted: fig.classList.contains('video-muted'), audioMuted: caption.endsWith(' · mic off'),
      videoWidth: video?.videoWidth ?? 0, videoHeight: video?.videoHeight ?? 0, frames: quality?.totalVideoFrames ?? 0,
    };
  });
  return { client: engineKind, joined: engine !== undefined, error: lastError, screenShare: engine?.shareMode(), tiles };
}

async function join(config: PageConfig): Promise<void> {
  const room = $<HTMLInputElement>('room').value.trim();
  if (!ROOM.test(room)) {
    showError('A room name is 1–64 letters, digits, dots, dashes or underscores.');
    return;
  }
  const input: JoinInput = { room, name: $<HTMLInputElement>('name').value.trim() || 'Guest', token: $<HTMLInputElement>('token').value.trim() || undefined };
  const legacy = $<HTMLInputElement>('legacy').checked;
  showError(undefined);
  const button = $<HTMLButtonElement>('join-button');
  button.disabled = true;
  setStatus(`joining ${room}…`);
  const candidate: Engine = legacy ? new LegacyEngine(config, input) : new HummingbirdEngine(config, input);
  try {
    await candidate.join();
  } catch (e) {
    button.disabled = false;
    setStatus('not joined');
    showError(`Could not join: ${(e as Error).message}`);
    await candidate.leave().catch(() => undefined);
    return;
  }
  engine = candidate;
  engineKind = legacy ? 'legacy' : 'hummingbird';
  $('client-label').textContent = `Client: ${candidate.label}.`;
  $('join').hidden = true;
  $('controls').hidden = false;
  setStatus(`in ${room} as ${input.name}`);
  render();
  renderTimer = setInterval(render, 300);
}

async function leave(): Promise<void> {
  const e = engine;
  engine = undefined;
  clearInterval(renderTimer);
  $('tiles').replaceChildren();
  $('audio').replaceChildren();
  $('controls').hidden = true;
  $('join').hidden = false;
  $<HTMLButtonElement>('join-button').disabled = false;
  setStatus('not joined');
  audioMuted.value = false;
  videoMuted.value = false;
  for (const [id, label] of [['mute-audio', 'Mute microphone'], ['mute-video', 'Stop camera']] as const) {
    $(id).textContent = label;
    $(id).setAttribute('aria-pressed', 'false');
  }
  await e?.leave().catch((err: Error) => showError(`leave: ${err.message}`));
}

async function toggleMute(kind: 'audio' | 'video'): Promise<void> {
  if (!engine) return;
  const flag = kind === 'audio' ? audioMuted : videoMuted;
  flag.value = !flag.value;
  await engine.setMuted(kind, flag.value);
  const button = $(kind === 'audio' ? 'mute-audio' : 'mute-video');
  button.setAttribute('aria-pressed', String(flag.value));
  button.textContent = kind === 'audio' ? (flag.value ? 'Unmute microphone' : 'Mute microphone') : flag.value ? 'Start camera' : 'Stop camera';
  render();
}

async function toggleShare(): Promise<void> {
  if (!engine) return;
  try {
    await (engine.sharing() ? engine.stopScreenShare() : engine.shareScreen());
  } catch (e) {
    showError(`Screen share: ${(e as Error).message}`);
  }
  render();
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  $<HTMLInputElement>('room').value = params.get('room') ?? '';
  $<HTMLInputElement>('name').value = params.get('name') ?? '';
  $<HTMLInputElement>('legacy').checked = params.get('client') === 'legacy';
  (window as unknown as { hbPage: { state(): PageState } }).hbPage = { state };
  let config: PageConfig;
  try {
    const reply = await fetch('/config.json', { cache: 'no-store' });
    config = (await reply.json()) as PageConfig;
  } catch (e) {
    showError(`No configuration from the server: ${(e as Error).message}`);
    return;
  }
  $('join').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void join(config);
  });
  $('mute-audio').addEventListener('click', () => void toggleMute('audio'));
  $('mute-video').addEventListener('click', () => void toggleMute('video'));
  $('share').addEventListener('click', () => void toggleShare());
  $('leave').addEventListener('click', () => void leave());
  window.addEventListener('pagehide', () => void engine?.leave());
  document.body.dataset['ready'] = 'true';
}

void main();
