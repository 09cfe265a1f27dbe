// Shapes shared by the page driver (legacy/page.ts, runs in Chromium) and the Node side
// (legacy/client.ts). Plain JSON: everything crosses page.evaluate.

/** What the page is told to do (jitsi-client-protocol.md §9.2 "the page does, in order"). */
export interface LjmStartOptions {
  /** ws://…/xmpp-websocket or http://…/http-bind (§1.1: the scheme chooses the transport). */
  readonly serviceUrl: string;
  readonly hosts: { readonly domain: string; readonly muc: string; readonly focus: string };
  /** Room node name (lower case). */
  readonly room: string;
  readonly token: string | null;
  readonly displayName: string;
  /**
   * Join the MUC without the conference IQ (ljm's `disableFocus` room option): used only by the
   * Prosody-only smoke test, where no focus exists.
   */
  readonly disableFocus: boolean;
  /** Camera height asked from the fake device (small frames keep 2 cores usable with 4 pages). */
  readonly resolution: number;
  /** `flags.ssrcRewritingEnabled` for upstream bundles (§1.5); ignored by the 2021 client. */
  readonly ssrcRewriting: boolean;
  /** How often the page samples getStats() for the first decoded frame per SSRC. */
  readonly statsIntervalMs: number;
}

export type LjmPhase = 'starting' | 'connected' | 'joining' | 'joined' | 'left' | 'failed';

export interface LjmEvent {
  /** Date.now() in the page (same clock as Node). */
  readonly at: number;
  readonly what: string;
  readonly detail?: string;
}

export interface LjmRemoteTrack {
  /** Endpoint id (MUC nick) of the sender, as ljm resolved it from the SSRC owner (§4.5). */
  readonly owner: string;
  readonly type: 'audio' | 'video';
  readonly ssrc: number | undefined;
  /** 'camera' | 'desktop' for video (may change later: TRACK_VIDEOTYPE_CHANGED). */
  readonly videoType: string | undefined;
  /** Only clients with source names have one. */
  readonly sourceName: string | undefined;
  readonly addedAt: number;
  readonly removedAt: number | undefined;
}

export interface LjmSnapshot {
  readonly phase: LjmPhase;
  /** The library's own version string (JitsiMeetJS.version). */
  readonly version: string;
  /** Own endpoint id, once joined. */
  readonly myId: string | undefined;
  readonly joinedAt: number | undefined;
  /** Remote participants currently in the room (focus excluded, as ljm does). */
  readonly participants: readonly string[];
  readonly remoteTracks: readonly LjmRemoteTrack[];
  readonly localTracks: readonly { readonly type: string; readonly videoType: string | undefined }[];
  readonly events: readonly LjmEvent[];
  /** CONNECTION_FAILED / CONFERENCE_FAILED / createLocalTracks errors, verbatim. */
  readonly failures: readonly string[];
  /** First time getStats() showed framesDecoded > 0, per inbound video SSRC (page clock). */
  readonly firstFrameAt: Readonly<Record<string, number>>;
  /** IQ errors the client received or sent: protocol incompatibilities show up here. */
  readonly iqErrors: readonly string[];
  readonly stanzaCount: number;
  /**
   * The first thing the client sent of each kind, verbatim (truncated): `jingle:<action>` (the IQ) and
   * `colibri:<colibriClass>` (a bridge-channel message). For naming what an older client speaks.
   */
  readonly samples: Readonly<Record<string, string>>;
}

export interface LjmInbound {
  readonly ssrc: number;
  readonly kind: string;
  readonly packetsReceived: number;
  readonly bytesReceived: number;
  readonly framesDecoded: number | undefined;
  /** Size of the last decoded frame (video). */
  readonly frameWidth: number | undefined;
  readonly frameHeight: number | undefined;
}

export interface LjmOutbound {
  readonly ssrc: number;
  readonly kind: string;
  readonly packetsSent: number;
  /** Video: the encoding is on (RTCRtpEncodingParameters.active), and its current frame height. */
  readonly active: boolean | undefined;
  readonly frameHeight: number | undefined;
}

export interface LjmStats {
  /** undefined when the client has no JVB peer connection (yet). */
  readonly iceConnectionState: string | undefined;
  readonly connectionState: string | undefined;
  readonly inbound: readonly LjmInbound[];
  readonly outbound: readonly LjmOutbound[];
}

/** How a screen share went: this client version's own way, or why it could not. */
export interface LjmScreenShare {
  /**
   * 'second-source': the desktop track was added next to the camera (multi-stream clients).
   * 'replaced': the client allows one video track per conference (2021 ljm: "Cannot add second
   * video track"), so the desktop track replaced the camera on the same source.
   */
  readonly mode: 'second-source' | 'replaced';
  /** The error of the addTrack attempt that made the driver fall back to replaceTrack. */
  readonly addTrackError: string | undefined;
}
