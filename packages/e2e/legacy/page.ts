// The page driver: what a lib-jitsi-meet application would do, run inside Chromium with
// page.evaluate (jitsi-client-protocol.md §9.2 harness shape). Every exported function is serialized
// by Playwright and run in the page, so it must be self-contained: no imports at run time, no
// closures over module scope (only `import type`). The page has loaded jQuery (as window.jquery)
// and a lib-jitsi-meet UMD bundle (window.JitsiMeetJS) before any of these run.

import type { LjmEvent, LjmPhase, LjmRemoteTrack, LjmScreenShare, LjmSnapshot, LjmStartOptions, LjmStats } from './types.ts';

// ---- the part of the JitsiMeetJS API the driver uses (2021 and current builds alike) -------------

interface LjmTrack {
  getType(): 'audio' | 'video';
  isLocal(): boolean;
  getParticipantId(): string;
  getSSRC?(): number | undefined;
  getVideoType?(): string | undefined;
  getSourceName?(): string | undefined;
  dispose(): Promise<void>;
}

interface LjmParticipant {
  getId(): string;
}

interface LjmPeerConnection {
  peerconnection: RTCPeerConnection;
}

interface LjmConference {
  on(event: string, handler: (...args: unknown[]) => void): void;
  addTrack(track: LjmTrack): Promise<unknown>;
  replaceTrack(oldTrack: LjmTrack | null, newTrack: LjmTrack | null): Promise<unknown>;
  setDisplayName(name: string): void;
  join(password?: string): void;
  leave(): Promise<unknown>;
  myUserId(): string;
  getParticipants(): LjmParticipant[];
  getActivePeerConnection(): LjmPeerConnection | null;
  /** 2021 builds: stage view on one endpoint (ReceiverVideoConstraints keyed by endpoint id, §10 item 5). */
  selectParticipants?(ids: string[]): void;
}

interface StropheConnection {
  xmlInput: (elem: Element) => void;
  xmlOutput: (elem: Element) => void;
}

interface LjmConnection {
  addEventListener(event: string, handler: (...args: unknown[]) => void): void;
  connect(options?: Record<string, unknown>): void;
  disconnect(): Promise<unknown> | undefined;
  initJitsiConference(name: string, options: Record<string, unknown>): LjmConference;
  xmpp?: { connection?: { _stropheConn?: StropheConnection } };
}

interface JitsiMeetJSGlobal {
  version?: string;
  init(options: Record<string, unknown>): unknown;
  setLogLevel?(level: unknown): void;
  logLevels?: Record<string, unknown>;
  createLocalTracks(options: Record<string, unknown>): Promise<LjmTrack[]>;
  JitsiConnection: new (appId: string | null, token: string | null, options: Record<string, unknown>) => LjmConnection;
  events: {
    connection: Record<string, string>;
    conference: Record<string, string>;
  };
}

/** Page-global state (never touched from Node except through the functions below). */
interface DriverState {
  options: LjmStartOptions;
  phase: LjmPhase;
  connection: LjmConnection | undefined;
  conference: LjmConference | undefined;
  localTracks: LjmTrack[];
  remote: { track: LjmTrack; owner: string; type: 'audio' | 'video'; ssrc: number | undefined; sourceName: string | undefined; addedAt: number; removedAt: number | undefined }[];
  events: LjmEvent[];
  failures: string[];
  myId: string | undefined;
  joinedAt: number | undefined;
  firstFrameAt: Record<string, number>;
  iqErrors: string[];
  stanzaCount: number;
  samples: Record<string, string>;
  statsTimer: number | undefined;
}

interface DriverWindow {
  JitsiMeetJS?: JitsiMeetJSGlobal;
  hbLjm?: DriverState;
}

/**
 * §9.2 steps 1–4: init, local tracks, connection, conference with the hooks, addTrack, join. Resolves
 * once join() was called (or the connection failed: see the snapshot's phase and failures).
 */
export async function ljmPageStart(options: LjmStartOptions): Promise<void> {
  const w = window as unknown as DriverWindow;
  const JitsiMeetJS = w.JitsiMeetJS;
  if (JitsiMeetJS === undefined) throw new Error('window.JitsiMeetJS is missing: the bundle did not load');
  const state: DriverState = {
    options,
    phase: 'starting',
    connection: undefined,
    conference: undefined,
    localTracks: [],
    remote: [],
    events: [],
    failures: [],
    myId: undefined,
    joinedAt: undefined,
    firstFrameAt: {},
    iqErrors: [],
    stanzaCount: 0,
    samples: {},
    statsTimer: undefined,
  };
  w.hbLjm = state;
  const log = (what: string, detail?: string): void => {
    state.events.push(detail === undefined ? { at: Date.now(), what } : { at: Date.now(), what, detail });
  };
  const text = (v: unknown): string => {
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    if (typeof v === 'string') return v;
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  };
  const fail = (what: string, args: unknown[]): void => {
    state.phase = 'failed';
    const line = `${what}: ${args.map(text).join(' ')}`;
    state.failures.push(line);
    log(what, line);
  };

  if (JitsiMeetJS.setLogLevel !== undefined && JitsiMeetJS.logLevels !== undefined) JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels['WARN']);
  const flags = { ssrcRewritingEnabled: options.ssrcRewriting };
  JitsiMeetJS.init({ flags, enableAnalyticsLogging: false, disableAudioLevels: true });

  try {
    state.localTracks = await JitsiMeetJS.createLocalTracks({
      devices: ['audio', 'video'],
      resolution: options.resolution,
      constraints: { video: { height: { ideal: options.resolution, max: options.resolution } } },
    });
  } catch (error) {
    fail('createLocalTracks', [error]);
    return;
  }
  log('local-tracks', state.localTracks.map((t) => t.getType()).join(','));

  const ev = JitsiMeetJS.events;
  const connection = new JitsiMeetJS.JitsiConnection(null, options.token, {
    hosts: { domain: options.hosts.domain, muc: options.hosts.muc, focus: options.hosts.focus },
    serviceUrl: options.serviceUrl,
    flags,
  });
  state.connection = connection;

  // §9.2 step 5: see every stanza. Only IQ errors are kept (and counted), to name incompatibilities.
  const hookStrophe = (): void => {
    const strophe = connection.xmpp?.connection?._stropheConn;
    if (strophe === undefined) {
      log('no-strophe-hook');
      return;
    }
    const scan = (dir: string, elem: Element): void => {
      const stanzas = elem.tagName === 'body' ? Array.from(elem.children) : [elem];
      for (const s of stanzas) {
        state.stanzaCount++;
        if (s.tagName === 'iq') {
          const jingle = s.getElementsByTagName('jingle')[0];
          const action = jingle?.getAttribute('action');
          if (action) log(`jingle-${dir}`, action);
          if (action && dir === 'out' && state.samples[`jingle:${action}`] === undefined) state.samples[`jingle:${action}`] = s.outerHTML.slice(0, 6000);
          if (s.getAttribute('type') === 'error' && state.iqErrors.length < 200) state.iqErrors.push(`${dir} ${s.outerHTML.slice(0, 3000)}`);
        }
      }
    };
    strophe.xmlInput = (elem) => scan('in', elem);
    strophe.xmlOutput = (elem) => scan('out', elem);
  };
  hookStrophe();

  // The bridge channel (colibri-ws, §5.2): the first message of each colibriClass the client sends.
  type Send = (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) => void;
  const send = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'send')?.value as Send;
  WebSocket.prototype.send = function (this: WebSocket, data) {
    if (typeof data === 'string' && this.url.includes('/colibri-ws/')) {
      const m = /"colibriClass"\s*:\s*"([A-Za-z]+)"/.exec(data);
      const key = `colibri:${m?.[1] ?? '?'}`;
      if (state.samples[key] === undefined) state.samples[key] = data.slice(0, 2000);
    }
    send.call(this, data);
  };

  const established = new Promise<boolean>((resolve) => {
    connection.addEventListener(ev.connection['CONNECTION_ESTABLISHED'] ?? 'connection.connectionEstablished', () => {
      state.phase = 'connected';
      log('connection-established');
      resolve(true);
    });
    connection.addEventListener(ev.connection['CONNECTION_FAILED'] ?? 'connection.connectionFailed', (...args) => {
      fail('connection-failed', args);
      resolve(false);
    });
    connection.addEventListener(ev.connection['CONNECTION_DISCONNECTED'] ?? 'connection.connectionDisconnected', () => log('connection-disconnected'));
  });
  connection.connect();
  if (!(await established)) return;

  const conference = connection.initJitsiConference(options.room, {
    p2p: { enabled: false },
    ...(options.disableFocus ? { disableFocus: true } : {}),
  });
  state.conference = conference;
  const cev = ev.conference;
  const on = (name: string, fallback: string, handler: (...args: unknown[]) => void): void => conference.on(cev[name] ?? fallback, handler);

  on('CONFERENCE_JOINED', 'conference.joined', () => {
    state.phase = 'joined';
    state.joinedAt = Date.now();
    state.myId = conference.myUserId();
    log('conference-joined', state.myId);
    // First decoded frame per inbound video SSRC (join → first remote frame, §9.2 media checks).
    state.statsTimer = window.setInterval(() => {
      const pc = conference.getActivePeerConnection()?.peerconnection;
      if (pc === undefined) return;
      pc.getStats()
        .then((report) => {
          report.forEach((s: Record<string, unknown>) => {
            if (s['type'] !== 'inbound-rtp' || s['kind'] !== 'video') return;
            const frames = s['framesDecoded'];
            const key = String(s['ssrc']);
            if (typeof frames === 'number' && frames > 0 && state.firstFrameAt[key] === undefined) state.firstFrameAt[key] = Date.now();
          });
        })
        .catch(() => undefined);
    }, options.statsIntervalMs);
  });
  on('CONFERENCE_FAILED', 'conference.failed', (...args) => fail('conference-failed', args));
  on('CONFERENCE_ERROR', 'conference.error', (...args) => log('conference-error', args.map(text).join(' ')));
  on('CONFERENCE_LEFT', 'conference.left', () => log('conference-left'));
  on('CONNECTION_INTERRUPTED', 'conference.connectionInterrupted', () => log('connection-interrupted'));
  on('CONNECTION_RESTORED', 'conference.connectionRestored', () => log('connection-restored'));
  on('USER_JOINED', 'conference.userJoined', (id) => log('user-joined', text(id)));
  on('USER_LEFT', 'conference.userLeft', (id) => log('user-left', text(id)));
  on('TRACK_ADDED', 'conference.trackAdded', (t) => {
    const track = t as LjmTrack;
    if (track.isLocal()) return;
    const entry = {
      track,
      owner: track.getParticipantId(),
      type: track.getType(),
      ssrc: track.getSSRC?.(),
      sourceName: track.getSourceName?.(),
      addedAt: Date.now(),
      removedAt: undefined,
    };
    state.remote.push(entry);
    log('track-added', `${entry.owner} ${entry.type} ${String(entry.ssrc)}`);
  });
  on('TRACK_REMOVED', 'conference.trackRemoved', (t) => {
    const track = t as LjmTrack;
    if (track.isLocal()) return;
    const entry = state.remote.find((r) => r.track === track && r.removedAt === undefined);
    if (entry !== undefined) entry.removedAt = Date.now();
    log('track-removed', `${track.getParticipantId()} ${track.getType()} ${String(track.getSSRC?.())}`);
  });

  for (const track of state.localTracks) {
    try {
      await conference.addTrack(track);
    } catch (error) {
      fail('addTrack', [error]);
    }
  }
  conference.setDisplayName(options.displayName);
  state.phase = 'joining';
  conference.join();
  log('join-called');
}

/** A JSON copy of the driver state. */
export function ljmPageSnapshot(): LjmSnapshot | undefined {
  const w = window as unknown as DriverWindow;
  const s = w.hbLjm;
  if (s === undefined) return undefined;
  const remoteTracks: LjmRemoteTrack[] = s.remote.map((r) => ({
    owner: r.owner,
    type: r.type,
    ssrc: r.ssrc,
    videoType: r.type === 'video' ? r.track.getVideoType?.() : undefined,
    sourceName: r.sourceName,
    addedAt: r.addedAt,
    removedAt: r.removedAt,
  }));
  return {
    phase: s.phase,
    version: w.JitsiMeetJS?.version ?? 'unknown',
    myId: s.myId,
    joinedAt: s.joinedAt,
    participants: s.conference?.getParticipants().map((p) => p.getId()) ?? [],
    remoteTracks,
    localTracks: s.localTracks.map((t) => ({ type: t.getType(), videoType: t.getType() === 'video' ? t.getVideoType?.() : undefined })),
    events: [...s.events],
    failures: [...s.failures],
    firstFrameAt: { ...s.firstFrameAt },
    iqErrors: [...s.iqErrors],
    stanzaCount: s.stanzaCount,
    samples: { ...s.samples },
  };
}

/** inbound-rtp / outbound-rtp of the JVB peer connection (§9.2 "for media checks"). */
export async function ljmPageStats(): Promise<LjmStats> {
  const w = window as unknown as DriverWindow;
  const pc = w.hbLjm?.conference?.getActivePeerConnection()?.peerconnection;
  if (pc === undefined) return { iceConnectionState: undefined, connectionState: undefined, inbound: [], outbound: [] };
  const report = await pc.getStats();
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const inbound: LjmStats['inbound'][number][] = [];
  const outbound: LjmStats['outbound'][number][] = [];
  report.forEach((s: Record<string, unknown>) => {
    if (s['type'] === 'inbound-rtp') {
      inbound.push({
        ssrc: num(s['ssrc']) ?? 0,
        kind: String(s['kind']),
        packetsReceived: num(s['packetsReceived']) ?? 0,
        bytesReceived: num(s['bytesReceived']) ?? 0,
        framesDecoded: num(s['framesDecoded']),
        frameWidth: num(s['frameWidth']),
        frameHeight: num(s['frameHeight']),
      });
    } else if (s['type'] === 'outbound-rtp') {
      outbound.push({
        ssrc: num(s['ssrc']) ?? 0,
        kind: String(s['kind']),
        packetsSent: num(s['packetsSent']) ?? 0,
        active: typeof s['active'] === 'boolean' ? s['active'] : undefined,
        frameHeight: num(s['frameHeight']),
      });
    }
  });
  return { iceConnectionState: pc.iceConnectionState, connectionState: pc.connectionState, inbound, outbound };
}

/**
 * Screen share the way this client version can: a desktop track next to the camera when the library
 * allows a second video track, otherwise (2021 ljm: one video track per conference) in place of the
 * camera on the same source, as jitsi-meet of that time did.
 */
export async function ljmPageShareScreen(): Promise<LjmScreenShare> {
  const w = window as unknown as DriverWindow;
  const s = w.hbLjm;
  const JitsiMeetJS = w.JitsiMeetJS;
  if (s?.conference === undefined || JitsiMeetJS === undefined) throw new Error('not in a conference');
  const created = await JitsiMeetJS.createLocalTracks({ devices: ['desktop'] });
  // A desktop capture may come with its audio; only the video is shared here.
  for (const t of created) if (t.getType() !== 'video') await t.dispose();
  const desktop = created.find((t) => t.getType() === 'video');
  if (desktop === undefined) throw new Error(`createLocalTracks(desktop) returned no video track (${created.map((t) => t.getType()).join(',')})`);
  let addTrackError: string | undefined;
  try {
    await s.conference.addTrack(desktop);
    s.localTracks.push(desktop);
    s.events.push({ at: Date.now(), what: 'screen-share', detail: 'second-source' });
    return { mode: 'second-source', addTrackError };
  } catch (error) {
    addTrackError = error instanceof Error ? error.message : String(error);
  }
  const camera = s.localTracks.find((t) => t.getType() === 'video');
  if (camera === undefined) throw new Error(`no camera track to replace (addTrack: ${addTrackError})`);
  await s.conference.replaceTrack(camera, desktop);
  s.localTracks = [...s.localTracks.filter((t) => t !== camera), desktop];
  await camera.dispose();
  s.events.push({ at: Date.now(), what: 'screen-share', detail: 'replaced' });
  return { mode: 'replaced', addTrackError };
}

/**
 * Puts `ids` on stage the way a 2021 application did (`conference.selectParticipants`): the client then sends
 * ReceiverVideoConstraints with `onStageEndpoints`/`selectedEndpoints` and `constraints` keyed by endpoint id.
 * Returns false when this build has no such method (current builds speak per source instead).
 */
export function ljmPageSelectParticipants(ids: string[]): boolean {
  const conference = (window as unknown as DriverWindow).hbLjm?.conference;
  if (conference?.selectParticipants === undefined) return false;
  conference.selectParticipants(ids);
  return true;
}

/** Leaves the conference (unavailable presence, session-terminate) and disconnects. */
export async function ljmPageLeave(): Promise<void> {
  const w = window as unknown as DriverWindow;
  const s = w.hbLjm;
  if (s === undefined) return;
  if (s.statsTimer !== undefined) window.clearInterval(s.statsTimer);
  try {
    await s.conference?.leave();
  } finally {
    for (const t of s.localTracks) await t.dispose().catch(() => undefined);
    await s.connection?.disconnect();
    s.phase = 'left';
    s.events.push({ at: Date.now(), what: 'left' });
  }
}
