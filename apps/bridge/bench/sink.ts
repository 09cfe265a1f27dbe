// Sink process of the worker benchmark: UDP sockets on 127.0.0.1 that count the RTP packets
// the subscribers' PlainTransports send, by payload type. It runs in its own process so the
// receiving side does not share an event loop (or a core's time slice) with the controller
// (benchmarks.md §1: sink sockets in a separate process, one socket per ~25 receivers, 8 MB
// receive buffers). SRTP headers are in clear text, so counting needs no keys.
//
// IPC protocol (process.send / 'message'), all answered with one message:
//   { op: 'open', sockets, payloadTypes }  -> { op: 'opened', ports, recvBufferBytes }
//   { op: 'reset' }                        -> { op: 'reset' }
//   { op: 'read' }                         -> { op: 'counts', byPayloadType, other }
//   { op: 'close' }                        -> exits
import { createSocket, type Socket } from 'node:dgram';

export type SinkRequest =
  | { op: 'open'; sockets: number; recvBufferBytes: number }
  | { op: 'reset' }
  | { op: 'read' }
  | { op: 'close' };

export type SinkReply =
  | { op: 'opened'; ports: number[]; recvBufferBytes: number }
  | { op: 'reset' }
  | { op: 'counts'; byPayloadType: Record<number, number>; other: number };

const sockets: Socket[] = [];
/** RTP packets per payload type (index 0..127); RTCP and non-RTP go to `other`. */
let counts = new Float64Array(128);
let other = 0;

function onMessage(msg: Buffer): void {
  const b0 = msg[0] ?? 0;
  const b1 = msg[1] ?? 0;
  // RTP version 2 and not RTCP (PT 200..207 in the second byte, RFC 5761 §4).
  if (msg.length < 12 || b0 >> 6 !== 2 || (b1 >= 200 && b1 <= 207)) {
    other++;
    return;
  }
  const pt = b1 & 0x7f;
  counts[pt] = (counts[pt] ?? 0) + 1;
}

async function open(count: number, recvBufferBytes: number): Promise<{ ports: number[]; recvBufferBytes: number }> {
  const ports: number[] = [];
  let effective = 0;
  for (let i = 0; i < count; i++) {
    const socket = createSocket({ type: 'udp4' });
    socket.on('message', onMessage);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // The kernel caps this at net.core.rmem_max (and doubles it); the effective size is reported.
    socket.setRecvBufferSize(recvBufferBytes);
    effective = socket.getRecvBufferSize();
    sockets.push(socket);
    ports.push(socket.address().port);
  }
  return { ports, recvBufferBytes: effective };
}

function reply(message: SinkReply): void {
  process.send?.(message);
}

process.on('message', (raw: SinkRequest) => {
  switch (raw.op) {
    case 'open':
      void open(raw.sockets, raw.recvBufferBytes).then((r) => reply({ op: 'opened', ...r }));
      return;
    case 'reset':
      counts = new Float64Array(128);
      other = 0;
      reply({ op: 'reset' });
      return;
    case 'read': {
      const byPayloadType: Record<number, number> = {};
      counts.forEach((n, pt) => {
        if (n > 0) byPayloadType[pt] = n;
      });
      reply({ op: 'counts', byPayloadType, other });
      return;
    }
    case 'close':
      for (const s of sockets) s.close();
      process.exit(0);
  }
});
// The controller going away must not leave this process behind.
process.on('disconnect', () => process.exit(0));
