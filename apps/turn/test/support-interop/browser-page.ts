/// <reference lib="dom" />
// The browser side of the relay-only test: plain RTCPeerConnection code run in the page with
// page.evaluate. Each exported page function is serialized by Playwright and runs in the page, so it
// must be self-contained (no imports, no closures over module scope).

export interface PairSetup {
  name: string;
  iceServers: RTCIceServer[];
  withMedia: boolean;
  messageIntervalMs: number;
}

export interface SideSnapshot {
  iceConnectionState: string;
  connectionState: string;
  /** Messages this side sent on its data channel. */
  sent: number;
  /** Messages it received from the other side, all in order (see outOfOrder). */
  received: number;
  outOfOrder: number;
  lastReceivedAt: number;
  /** Longest time between two consecutive received messages, ms (after the first one). */
  maxGapMs: number;
  selected: { localType: string; remoteType: string; localProtocol: string | undefined; relayProtocol: string | undefined } | undefined;
  inboundMediaBytes: number;
  /** [time, state] of every iceConnectionState change. */
  log: Array<[number, string]>;
}

export interface PairSnapshot {
  name: string;
  now: number;
  a: SideSnapshot;
  b: SideSnapshot;
  error: string | undefined;
}

/** Runs in the page: builds two relay-only peer connections wired to each other and starts the traffic. */
export async function pageStartPair(setup: PairSetup): Promise<void> {
  interface Side {
    pc: RTCPeerConnection;
    dc: RTCDataChannel | undefined;
    sent: number;
    received: number;
    outOfOrder: number;
    lastReceivedAt: number;
    maxGapMs: number;
    log: Array<[number, string]>;
  }
  const w = window as unknown as { hbPairs?: Record<string, { a: Side; b: Side; timer: number; error: string | undefined }> };
  const pairs = (w.hbPairs ??= {});
  const config: RTCConfiguration = { iceServers: setup.iceServers, iceTransportPolicy: 'relay' };
  const side = (): Side => ({ pc: new RTCPeerConnection(config), dc: undefined, sent: 0, received: 0, outOfOrder: 0, lastReceivedAt: 0, maxGapMs: 0, log: [] });
  const a = side();
  const b = side();
  const entry = { a, b, timer: 0, error: undefined as string | undefined };
  pairs[setup.name] = entry;
  const wire = (from: Side, to: Side): void => {
    from.pc.onicecandidate = (e) => {
      if (e.candidate) to.pc.addIceCandidate(e.candidate).catch((err: unknown) => (entry.error = `addIceCandidate: ${String(err)}`));
    };
    from.pc.oniceconnectionstatechange = () => from.log.push([Date.now(), from.pc.iceConnectionState]);
  };
  wire(a, b);
  wire(b, a);
  const onMessage = (s: Side) => (e: MessageEvent) => {
    const seq = Number(e.data);
    const now = Date.now();
    if (seq !== s.received + 1) s.outOfOrder++;
    if (s.lastReceivedAt) s.maxGapMs = Math.max(s.maxGapMs, now - s.lastReceivedAt);
    s.received = Math.max(s.received, seq);
    s.lastReceivedAt = now;
  };
  a.dc = a.pc.createDataChannel('hb', { ordered: true });
  a.dc.onmessage = onMessage(a);
  b.pc.ondatachannel = (e) => {
    b.dc = e.channel;
    b.dc.onmessage = onMessage(b);
  };
  if (setup.withMedia) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240, frameRate: 15 } });
    for (const track of stream.getTracks()) a.pc.addTrack(track, stream);
  }
  const offer = await a.pc.createOffer();
  await a.pc.setLocalDescription(offer);
  await b.pc.setRemoteDescription(offer);
  const answer = await b.pc.createAnswer();
  await b.pc.setLocalDescription(answer);
  await a.pc.setRemoteDescription(answer);
  entry.timer = window.setInterval(() => {
    for (const s of [a, b]) {
      if (s.dc && s.dc.readyState === 'open') {
        s.sent++;
        s.dc.send(String(s.sent));
      }
    }
  }, setup.messageIntervalMs);
}

/** Runs in the page: the current state of one pair, including its selected candidate pairs. */
export async function pageSnapshot(name: string): Promise<PairSnapshot> {
  interface Side {
    pc: RTCPeerConnection;
    sent: number;
    received: number;
    outOfOrder: number;
    lastReceivedAt: number;
    maxGapMs: number;
    log: Array<[number, string]>;
  }
  const w = window as unknown as { hbPairs?: Record<string, { a: Side; b: Side; error: string | undefined }> };
  const entry = w.hbPairs?.[name];
  if (!entry) throw new Error(`no pair ${name}`);
  const snap = async (s: Side): Promise<SideSnapshot> => {
    const stats = await s.pc.getStats();
    const byId = new Map<string, Record<string, unknown>>();
    stats.forEach((v: Record<string, unknown>) => byId.set(String(v['id']), v));
    let selected: SideSnapshot['selected'];
    let inboundMediaBytes = 0;
    for (const v of byId.values()) {
      if (v['type'] === 'transport' && typeof v['selectedCandidatePairId'] === 'string') {
        const pair = byId.get(v['selectedCandidatePairId']);
        const local = pair ? byId.get(String(pair['localCandidateId'])) : undefined;
        const remote = pair ? byId.get(String(pair['remoteCandidateId'])) : undefined;
        if (local && remote) {
          selected = {
            localType: String(local['candidateType']),
            remoteType: String(remote['candidateType']),
            localProtocol: typeof local['protocol'] === 'string' ? local['protocol'] : undefined,
            relayProtocol: typeof local['relayProtocol'] === 'string' ? local['relayProtocol'] : undefined,
          };
        }
      }
      if (v['type'] === 'inbound-rtp') inboundMediaBytes += Number(v['bytesReceived'] ?? 0);
    }
    return {
      iceConnectionState: s.pc.iceConnectionState,
      connectionState: s.pc.connectionState,
      sent: s.sent,
      received: s.received,
      outOfOrder: s.outOfOrder,
      lastReceivedAt: s.lastReceivedAt,
      maxGapMs: s.maxGapMs,
      selected,
      inboundMediaBytes,
      log: s.log.slice(),
    };
  };
  return { name, now: Date.now(), a: await snap(entry.a), b: await snap(entry.b), error: entry.error };
}

/** Runs in the page: stops the traffic and closes both peer connections. */
export function pageClosePair(name: string): void {
  const w = window as unknown as { hbPairs?: Record<string, { a: { pc: RTCPeerConnection }; b: { pc: RTCPeerConnection }; timer: number }> };
  const entry = w.hbPairs?.[name];
  if (!entry) return;
  window.clearInterval(entry.timer);
  entry.a.pc.close();
  entry.b.pc.close();
}
