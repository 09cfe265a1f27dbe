// Minimal RTP packet building and reading for worker tests (RFC 3550 §5.1).
import { createSocket, type Socket } from 'node:dgram';

export interface RtpHeader {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
}

export function buildRtp(header: RtpHeader, payload: Buffer): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  packet[0] = 0x80; // version 2, no padding, no extension, no CSRC
  packet[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  packet.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(header.timestamp >>> 0, 4);
  packet.writeUInt32BE(header.ssrc >>> 0, 8);
  payload.copy(packet, 12);
  return packet;
}

/** RTCP packet types are 200..207 in the second byte (RFC 5761 §4: demux with RTP on one port). */
export function isRtcp(packet: Buffer): boolean {
  const pt = packet[1] ?? 0;
  return pt >= 200 && pt <= 207;
}

export function readRtp(packet: Buffer): { payloadType: number; ssrc: number } | undefined {
  if (packet.length < 12 || ((packet[0] ?? 0) >> 6) !== 2 || isRtcp(packet)) return undefined;
  return { payloadType: (packet[1] ?? 0) & 0x7f, ssrc: packet.readUInt32BE(8) };
}

/** An Opus-sized dummy payload; the worker forwards Opus without parsing it. */
export const OPUS_PAYLOAD = Buffer.alloc(60, 0xab);

/**
 * A VP8 payload that the worker recognises as a key frame: payload descriptor with S=1 and
 * partition 0, then a frame header whose P bit (bit 0) is 0 (RFC 7741 §4.2, §4.3).
 */
export const VP8_KEYFRAME_PAYLOAD = Buffer.concat([
  Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]),
  Buffer.alloc(400, 0x5a),
]);

/** A UDP socket on 127.0.0.1 that counts RTP packets per SSRC. */
export class RtpSink {
  readonly socket: Socket;
  readonly countsBySsrc = new Map<number, number>();
  readonly payloadTypesBySsrc = new Map<number, number>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (msg) => {
      const rtp = readRtp(msg);
      if (!rtp) return;
      this.countsBySsrc.set(rtp.ssrc, (this.countsBySsrc.get(rtp.ssrc) ?? 0) + 1);
      this.payloadTypesBySsrc.set(rtp.ssrc, rtp.payloadType);
    });
  }

  static async open(): Promise<RtpSink> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpSink(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  count(ssrc: number): number {
    return this.countsBySsrc.get(ssrc) ?? 0;
  }

  close(): void {
    this.socket.close();
  }
}

/** Opens a UDP socket on 127.0.0.1 for sending. */
export async function openSender(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

export function send(socket: Socket, packet: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

/** Polls `predicate` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return predicate();
}
