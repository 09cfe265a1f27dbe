import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStun, encodeXorAddress } from '../src/stun/codec.js';
import { Attr, MAGIC_COOKIE, MessageClass, Method } from '../src/stun/constants.js';
import type { TurnServerHandle } from '../src/server.js';
import { TurnTestClient } from './helpers/client.js';
import { eventually, SECRET, startTestServer } from './helpers/server.js';

/**
 * spec/turn.md §5 T3 against a live relay: ≥ 100,000 malformed datagrams plus TCP frames
 * (truncated, wrong cookie, bad and 0xFFFF lengths, attribute floods, bad FINGERPRINT, bogus
 * ChannelData and Send). The relay must stay up, answer nothing to them, count every one as a
 * drop, keep its heap flat, and spend bounded CPU per packet. Datagrams are sent in paced
 * batches (each batch waits until the relay has counted it), so no kernel drop can blur the count.
 */

const DATAGRAMS = 100_000;
const BATCH = 500;

function header(type: number, length: number, cookie = MAGIC_COOKIE): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(length, 2);
  h.writeUInt32BE(cookie >>> 0, 4);
  randomBytes(12).copy(h, 8);
  return h;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const types = [0x0001, 0x0003, 0x0004, 0x0008, 0x0009, 0x0016, 0x0111, 0x0017];

/** Malformed STUN messages that are well-framed (their length field matches), for UDP and TCP. */
const framedGenerators: Array<() => Buffer> = [
  // wrong magic cookie
  () => {
    const body = randomBytes(4 * Math.floor(Math.random() * 20));
    return Buffer.concat([header(pick(types), body.length, (MAGIC_COOKIE ^ (1 + Math.floor(Math.random() * 0xffff))) >>> 0), body]);
  },
  // an attribute claiming 0xFFFF bytes
  () => {
    const attr = Buffer.from([0, pick([0x06, 0x08, 0x12, 0x13, 0x14, 0x15, 0x19, 0x0c]), 0xff, 0xff, 1, 2, 3, 4]);
    return Buffer.concat([header(pick(types), attr.length), attr]);
  },
  // attribute flood (more than MAX_ATTRIBUTES zero-length attributes)
  () => {
    const count = 65 + Math.floor(Math.random() * 250);
    const body = Buffer.alloc(count * 4);
    for (let i = 0; i < count; i++) body.writeUInt16BE(0x8000 + (i % 0x7fff), i * 4);
    return Buffer.concat([header(pick(types), body.length), body]);
  },
  // attribute length running past the end
  () => {
    const body = Buffer.from([0x00, 0x06, 0x00, 0x40, 1, 2, 3, 4]);
    return Buffer.concat([header(pick(types), body.length), body]);
  },
  // wrong FINGERPRINT
  () => {
    const body = Buffer.from([0x80, 0x28, 0x00, 0x04, ...randomBytes(4)]);
    return Buffer.concat([header(pick(types), body.length), body]);
  },
  // truncated Send indication (XOR-PEER-ADDRESS with a 3-byte value, no DATA)
  () => {
    const body = Buffer.from([0x00, 0x12, 0x00, 0x03, 0, 1, 2, 0]);
    return Buffer.concat([header(0x0016, body.length), body]);
  },
  // a response or an indication the relay never accepts from clients
  () => {
    const tid = randomBytes(12);
    return encodeStun(Method.Binding, pick([MessageClass.Success, MessageClass.Error, MessageClass.Indication] as const), tid, [[Attr.Software, randomBytes(8)]]);
  },
];

/** Datagram-only malformations (their framing itself is wrong). */
const datagramGenerators: Array<() => Buffer> = [
  () => randomBytes(1 + Math.floor(Math.random() * 19)).fill(0, 0, 1), // truncated header
  () => header(pick(types), 100), // length says 100, no body
  () => header(pick(types), 0x8004), // sign bit
  () => Buffer.concat([header(pick(types), 6), Buffer.alloc(6)]), // not a multiple of 4
  () => Buffer.concat([header(pick(types), 8), Buffer.alloc(4)]), // shorter than announced
  () => Buffer.concat([Buffer.from([0xc0 | Math.floor(Math.random() * 64)]), randomBytes(30)]), // top bits 11
  () => Buffer.concat([Buffer.from([0x80]), randomBytes(1 + Math.floor(Math.random() * 1200))]), // top bits 10, random
  () => Buffer.concat([Buffer.from([0x40, 0x01, 0x04, 0x00]), randomBytes(10)]), // ChannelData longer than the datagram
  () => Buffer.from([0x40]), // ChannelData cut to 1 byte
  () => Buffer.concat([Buffer.from([0x4f, 0xff, 0x00, 0x04]), randomBytes(4)]), // ChannelData on an unbound channel
];

const generators = [...framedGenerators, ...datagramGenerators];

describe('fuzz: a live relay under malformed traffic', () => {
  let server: TurnServerHandle;
  let withAllocation: TurnTestClient;
  let without: TurnTestClient;

  beforeAll(async () => {
    server = await startTestServer({ allowPeers: ['127.0.0.1'] });
    withAllocation = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET);
    expect((await withAllocation.allocate()).cls).toBe(2);
    without = await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp });
  });

  afterAll(async () => {
    await withAllocation.close();
    await without.close();
    await server.close();
  });

  it(`${DATAGRAMS.toLocaleString('en')} malformed datagrams: all dropped and counted, nothing answered, heap flat, bounded CPU`, async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const droppedBefore = server.metrics.dropped;
    const requestsBefore = server.metrics.requests;
    const cpuBefore = process.cpuUsage();
    let sent = 0;
    while (sent < DATAGRAMS) {
      for (let i = 0; i < BATCH; i++, sent++) {
        const buf = pick(generators)();
        (sent % 2 === 0 ? withAllocation : without).sendRaw(buf);
      }
      const target = droppedBefore + sent;
      await eventually(() => server.metrics.dropped >= target, 20_000, `relay to count ${sent} drops`);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const metrics = server.metrics;
    expect(metrics.dropped - droppedBefore).toBe(DATAGRAMS);
    expect(metrics.requests).toBe(requestsBefore);
    expect(metrics.relayed.clientToPeer.packets).toBe(0);
    // Nothing was answered: no stray responses reached either client.
    expect(withAllocation.received).toEqual([]);
    const perPacketUs = (cpu.user + cpu.system) / DATAGRAMS;
    // The test process holds both the sender and the relay, so this bounds both together.
    console.log(`fuzz: ${DATAGRAMS} datagrams, ${perPacketUs.toFixed(1)} µs CPU per datagram (sender + relay), drops by reason:`, Object.fromEntries(Object.entries(metrics.drops).filter(([, n]) => n > 0)));
    expect(perPacketUs).toBeLessThan(1_000);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    // Still serving: Binding and a fresh allocation work.
    expect((await without.request(Method.Binding, [], { auth: false })).cls).toBe(2);
    const fresh = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET);
    expect((await fresh.allocate()).cls).toBe(2);
    await fresh.close();
  }, 240_000);

  it('malformed TCP frames (incl. 64 KiB attribute floods): dropped and counted on a connection that stays up', async () => {
    const droppedBefore = server.metrics.dropped;
    const socket = tcpConnect({ host: '127.0.0.1', port: server.ports.tcp });
    await once(socket, 'connect');
    const answers: Buffer[] = [];
    socket.on('data', (d: Buffer) => answers.push(d));
    const FRAMES = 20_000;
    let sent = 0;
    while (sent < FRAMES) {
      const chunk: Buffer[] = [];
      for (let i = 0; i < 250; i++, sent++) {
        if (sent % 1000 === 0) {
          // A 64 KiB message with 16,000 zero-length attributes (the node-turn CPU sink, spec §3).
          const body = Buffer.alloc(64_000);
          chunk.push(header(0x0001, body.length), body);
        } else if (sent % 3 === 0) {
          chunk.push(Buffer.concat([Buffer.from([0x4f, 0xfe, 0x00, 0x05]), randomBytes(5), Buffer.alloc(3)])); // ChannelData, no allocation
        } else {
          chunk.push(pick(framedGenerators)());
        }
      }
      socket.write(Buffer.concat(chunk));
      const target = droppedBefore + sent;
      await eventually(() => server.metrics.dropped >= target, 20_000, `relay to count ${sent} TCP drops`);
    }
    expect(server.metrics.dropped - droppedBefore).toBe(FRAMES);
    expect(answers).toEqual([]);
    expect(socket.destroyed).toBe(false);
    // The connection still works for a real request afterwards.
    const tid = randomBytes(12);
    socket.write(encodeStun(Method.Binding, MessageClass.Request, tid, []));
    await eventually(() => answers.length > 0, 5_000, 'Binding answer');
    socket.destroy();
  }, 120_000);

  it('frames that break TCP framing close the connection, and a frame cut by the close is counted', async () => {
    const before = server.metrics.drops;
    const killers: Buffer[] = [
      Buffer.concat([header(0x0001, 6), Buffer.alloc(6)]), // length not a multiple of 4
      Buffer.concat([Buffer.from([0xc0, 0, 0, 4]), Buffer.alloc(4)]), // top bits 11
      Buffer.concat([Buffer.from([0x80, 0, 0, 4]), Buffer.alloc(4)]), // top bits 10
    ];
    const ROUNDS = 300;
    for (let i = 0; i < ROUNDS; i++) {
      const socket: Socket = tcpConnect({ host: '127.0.0.1', port: server.ports.tcp });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const closed = once(socket, 'close');
      if (i % 4 === 3) {
        socket.end(header(0x0003, 100)); // announces 100 bytes, sends none, closes
      } else {
        socket.write(killers[i % 3]!);
      }
      await closed;
    }
    await eventually(() => server.metrics.connections === 0, 5_000, 'connections closed');
    const after = server.metrics.drops;
    expect(after['stream-framing'] - before['stream-framing']).toBe(ROUNDS - ROUNDS / 4);
    expect(after.truncated - before.truncated).toBe(ROUNDS / 4);
  }, 120_000);

  it('an unauthenticated Allocate flood gets 401s and costs no memory per nonce (stateless nonces)', async () => {
    const flood = await startTestServer({ quotas: { unauthenticatedPerSecond: 1_000_000, unauthenticatedBurst: 1_000_000 } });
    const client = await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: flood.ports.udp });
    try {
      const heapBefore = process.memoryUsage().heapUsed;
      const N = 20_000;
      let sent = 0;
      while (sent < N) {
        for (let i = 0; i < BATCH; i++, sent++) {
          const tid = randomBytes(12);
          client.sendRaw(encodeStun(Method.Allocate, MessageClass.Request, tid, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])], [Attr.XorPeerAddress, encodeXorAddress({ family: 4, address: '8.8.8.8', port: 1 }, tid)]]));
        }
        const target = sent;
        await eventually(() => flood.metrics.refusals.unauthorized >= target, 20_000, '401s');
      }
      expect(flood.metrics.refusals.unauthorized).toBe(N);
      expect(flood.metrics.allocations).toBe(0);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await client.close();
      await flood.close();
    }
  }, 120_000);
});
