// The browser peers: plain RTCPeerConnection code run with page.evaluate, following the SDP rules lib-jitsi-meet
// applies (jitsi-client-protocol.md §4.2–4.4): the client is always the answerer, its camera and mic go on the
// first video and audio m-lines, and video is sent as SSRC simulcast — ljm munges the local description to add
// a SIM group of three SSRCs (each with an RTX in a FID group), which Chrome honours. Every function passed to
// page.evaluate is self-contained (Playwright serialises it).
import { launchChromium, startPageServer, type PageServer } from '@hummingbird/test-support';
import type { Browser } from 'playwright-core';

/**
 * Chrome caps the number of simulcast layers by resolution (e.g. 2 at 640x360); without the cap the small test
 * frames still carry three layers, which keeps three encoding browsers within two busy cores.
 */
export function launchBrowser(): Promise<Browser> {
  return launchChromium({ extraArgs: ['--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/'] });
}

/** The page the peers run in (a secure context, so getUserMedia works). */
export function startPeerPage(): Promise<PageServer> {
  return startPageServer({ title: 'hummingbird bridge test' });
}

export interface PeerInbound {
  ssrc: number;
  kind: string;
  packetsReceived: number;
  framesDecoded: number;
  frameHeight: number;
}

export interface PeerOutbound {
  ssrc: number;
  kind: string;
  packetsSent: number;
  frameHeight: number;
}

export interface PeerStats {
  connectionState: string;
  iceConnectionState: string;
  inbound: PeerInbound[];
  outbound: PeerOutbound[];
}

interface PeerWindow {
  hbPeer?: { pc: RTCPeerConnection; stream: MediaStream };
}

export async function peerStart(opts: { width: number; height: number; frameRate: number; audioEnabled?: boolean }): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: { exact: opts.width }, height: { exact: opts.height }, frameRate: opts.frameRate },
  });
  // A disabled audio track still sends packets, carrying silence (audio level 127).
  for (const t of stream.getAudioTracks()) t.enabled = opts.audioEnabled ?? true;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  (window as unknown as PeerWindow).hbPeer = { pc, stream };
}

/**
 * setRemoteDescription(offer); on the first offer, the local tracks go on mids 0 and 1 (sendonly) and the answer's
 * video m-line gets the SIM munging; then setLocalDescription and return the (munged) answer.
 */
export async function peerApplyOffer(args: { sdp: string; first: boolean }): Promise<string> {
  const peer = (window as unknown as PeerWindow).hbPeer;
  if (!peer) throw new Error('peerStart() was not called');
  const { pc, stream } = peer;
  await pc.setRemoteDescription({ type: 'offer', sdp: args.sdp });
  if (args.first) {
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      if (t.mid !== (kind === 'audio' ? '0' : '1')) continue;
      const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
      if (!track) throw new Error(`no local ${kind} track`);
      await t.sender.replaceTrack(track);
      t.direction = 'sendonly';
      t.sender.setStreams(stream);
    }
  }
  const answer = await pc.createAnswer();
  let sdp = answer.sdp ?? '';
  if (args.first) {
    // ljm's simulcast munging: three primary SSRCs in a SIM group (low → high), each with an RTX (FID).
    const sections = sdp.split(/(?=\r\nm=)/);
    sdp = sections
      .map((sec) => {
        if (!/\r\nm=video /.test(sec) || !/\r\na=mid:1\r\n/.test(sec)) return sec;
        const fid = /a=ssrc-group:FID (\d+) (\d+)/.exec(sec);
        const cname = /a=ssrc:\d+ cname:(\S+)/.exec(sec)?.[1] ?? 'hb';
        const msid = /a=ssrc:\d+ msid:(.+)/.exec(sec)?.[1]?.trim() ?? `${stream.id} ${stream.getVideoTracks()[0]?.id ?? ''}`;
        if (!fid) throw new Error('no FID group in the video answer');
        const rand = (): number => 1 + Math.floor(Math.random() * 0xfffffff0);
        const primaries = [Number(fid[1]), rand(), rand()];
        const rtxs = [Number(fid[2]), rand(), rand()];
        const kept = sec.split('\r\n').filter((l) => !l.startsWith('a=ssrc:') && !l.startsWith('a=ssrc-group:'));
        const add: string[] = [`a=ssrc-group:SIM ${primaries.join(' ')}`];
        for (let i = 0; i < 3; i++) add.push(`a=ssrc-group:FID ${primaries[i]} ${rtxs[i]}`);
        for (const s of [...primaries, ...rtxs]) add.push(`a=ssrc:${s} cname:${cname}`, `a=ssrc:${s} msid:${msid}`);
        // Keep the trailing empty element (the section ends with \r\n) at the end.
        const tail = kept[kept.length - 1] === '' ? kept.pop() : undefined;
        return [...kept, ...add, ...(tail === undefined ? [] : [tail])].join('\r\n');
      })
      .join('');
  }
  await pc.setLocalDescription({ type: 'answer', sdp });
  if (args.first) {
    // Keep the capture resolution on a busy machine: layer heights are what the constraint tests look at.
    for (const t of pc.getTransceivers()) {
      if (t.sender.track?.kind !== 'video') continue;
      const p = t.sender.getParameters();
      p.degradationPreference = 'maintain-resolution';
      await t.sender.setParameters(p);
    }
  }
  return pc.localDescription?.sdp ?? '';
}

export async function peerStats(): Promise<PeerStats> {
  const peer = (window as unknown as PeerWindow).hbPeer;
  if (!peer) throw new Error('peerStart() was not called');
  const report = await peer.pc.getStats();
  const out: PeerStats = { connectionState: peer.pc.connectionState, iceConnectionState: peer.pc.iceConnectionState, inbound: [], outbound: [] };
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  report.forEach((s: Record<string, unknown>) => {
    if (s['type'] === 'inbound-rtp') {
      out.inbound.push({ ssrc: n(s['ssrc']), kind: String(s['kind']), packetsReceived: n(s['packetsReceived']), framesDecoded: n(s['framesDecoded']), frameHeight: n(s['frameHeight']) });
    } else if (s['type'] === 'outbound-rtp') {
      out.outbound.push({ ssrc: n(s['ssrc']), kind: String(s['kind']), packetsSent: n(s['packetsSent']), frameHeight: n(s['frameHeight']) });
    }
  });
  return out;
}

export function peerClose(): void {
  const peer = (window as unknown as PeerWindow).hbPeer;
  peer?.pc.close();
  for (const t of peer?.stream.getTracks() ?? []) t.stop();
}
