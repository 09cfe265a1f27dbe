// The browser side of the scenario: plain RTCPeerConnection code run in the page with
// page.evaluate (no client library; jitsi-client-protocol.md §9.1 (a) "a small test client ... with the
// browser's own RTCPeerConnection"). Each function here is serialized by Playwright and run in the
// page, so it must be self-contained: no imports, no closures over module scope. Types are erased.

export interface StateChange {
  /** Date.now() in the page: the same system clock as the Node side, so the two can be compared. */
  at: number;
  what: 'iceConnectionState' | 'connectionState';
  state: string;
}

export interface AppliedAnswer {
  sdp: string;
  /** Date.now() just before setLocalDescription(answer) was called. */
  sldAt: number;
}

export interface InboundStat {
  ssrc: number;
  kind: string;
  mid: string | undefined;
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number | undefined;
  keyFramesDecoded: number | undefined;
  pliCount: number | undefined;
  firCount: number | undefined;
  nackCount: number | undefined;
}

export interface OutboundStat {
  ssrc: number;
  kind: string;
  packetsSent: number;
  pliCount: number | undefined;
  firCount: number | undefined;
  nackCount: number | undefined;
}

export interface PageStats {
  iceConnectionState: string;
  connectionState: string;
  /** From the `transport` stats entry: RTCIceTransport.role reads null in Chromium 156 (§8.2). */
  iceRole: string | undefined;
  dtlsState: string | undefined;
  dtlsRole: string | undefined;
  selectedPair:
    | { nominated: boolean | undefined; local: string; remote: string; requestsSent: number | undefined }
    | undefined;
  inbound: InboundStat[];
  outbound: OutboundStat[];
  log: StateChange[];
}

/** Page-global state shared by the evaluate calls (never touched from Node). */
interface PageState {
  pc: RTCPeerConnection;
  stream: MediaStream;
  log: StateChange[];
}

interface PageWindow {
  hbState?: PageState;
}

/** getUserMedia (fake devices) and a PeerConnection configured like ljm's JVB session (§4.2). */
export async function pageStart(): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    // Small frames keep two cores free enough for 5 runs; size does not matter to ICE/DTLS.
    video: { width: 320, height: 240, frameRate: 15 },
  });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  const log: StateChange[] = [];
  pc.addEventListener('iceconnectionstatechange', () => {
    log.push({ at: Date.now(), what: 'iceConnectionState', state: pc.iceConnectionState });
  });
  pc.addEventListener('connectionstatechange', () => {
    log.push({ at: Date.now(), what: 'connectionState', state: pc.connectionState });
  });
  (window as unknown as PageWindow).hbState = { pc, stream, log };
}

export interface ApplyOfferArgs {
  sdp: string;
  /** On the first offer: the mids on which the local audio and video tracks are sent. */
  sendMids?: { audio: string; video: string };
}

/**
 * setRemoteDescription(offer) → attach local tracks (first offer only) → createAnswer →
 * setLocalDescription. Like ljm, the local tracks go on the first audio and video m-lines (§4.2).
 */
export async function pageApplyOffer(args: ApplyOfferArgs): Promise<AppliedAnswer> {
  const state = (window as unknown as PageWindow).hbState;
  if (!state) throw new Error('pageStart() was not called');
  const { pc, stream } = state;
  await pc.setRemoteDescription({ type: 'offer', sdp: args.sdp });
  if (args.sendMids) {
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.receiver.track.kind;
      if (transceiver.mid !== (kind === 'audio' ? args.sendMids.audio : args.sendMids.video)) continue;
      const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      if (!track) throw new Error(`no local ${kind} track`);
      await transceiver.sender.replaceTrack(track);
      // The bridge's m-line is recvonly, so the answer must be sendonly to carry the track.
      transceiver.direction = 'sendonly';
      transceiver.sender.setStreams(stream);
    }
  }
  const answer = await pc.createAnswer();
  const sldAt = Date.now();
  await pc.setLocalDescription(answer);
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error('no local description after setLocalDescription');
  return { sdp, sldAt };
}

/** A JSON snapshot of pc.getStats() with what the test asserts on. */
export async function pageStats(): Promise<PageStats> {
  const state = (window as unknown as PageWindow).hbState;
  if (!state) throw new Error('pageStart() was not called');
  const { pc, log } = state;
  const report = await pc.getStats();
  const byId = new Map<string, Record<string, unknown>>();
  report.forEach((value: Record<string, unknown>, key: string) => byId.set(key, value));
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const describe = (id: unknown): string => {
    const c = typeof id === 'string' ? byId.get(id) : undefined;
    if (!c) return '?';
    return `${str(c['candidateType']) ?? '?'}/${str(c['protocol']) ?? '?'} ${str(c['address']) ?? '?'}:${num(c['port']) ?? '?'}`;
  };

  const stats: PageStats = {
    iceConnectionState: pc.iceConnectionState,
    connectionState: pc.connectionState,
    iceRole: undefined,
    dtlsState: undefined,
    dtlsRole: undefined,
    selectedPair: undefined,
    inbound: [],
    outbound: [],
    log: [...log],
  };
  for (const s of byId.values()) {
    const type = s['type'];
    if (type === 'transport') {
      stats.iceRole = str(s['iceRole']);
      stats.dtlsState = str(s['dtlsState']);
      stats.dtlsRole = str(s['dtlsRole']);
      const pair = typeof s['selectedCandidatePairId'] === 'string' ? byId.get(s['selectedCandidatePairId']) : undefined;
      if (pair) {
        stats.selectedPair = {
          nominated: typeof pair['nominated'] === 'boolean' ? pair['nominated'] : undefined,
          local: describe(pair['localCandidateId']),
          remote: describe(pair['remoteCandidateId']),
          requestsSent: num(pair['requestsSent']),
        };
      }
    } else if (type === 'inbound-rtp') {
      stats.inbound.push({
        ssrc: num(s['ssrc']) ?? 0,
        kind: str(s['kind']) ?? '?',
        mid: str(s['mid']),
        packetsReceived: num(s['packetsReceived']) ?? 0,
        bytesReceived: num(s['bytesReceived']) ?? 0,
        framesDecoded: num(s['framesDecoded']),
        keyFramesDecoded: num(s['keyFramesDecoded']),
        pliCount: num(s['pliCount']),
        firCount: num(s['firCount']),
        nackCount: num(s['nackCount']),
      });
    } else if (type === 'outbound-rtp') {
      stats.outbound.push({
        ssrc: num(s['ssrc']) ?? 0,
        kind: str(s['kind']) ?? '?',
        packetsSent: num(s['packetsSent']) ?? 0,
        pliCount: num(s['pliCount']),
        firCount: num(s['firCount']),
        nackCount: num(s['nackCount']),
      });
    }
  }
  return stats;
}
