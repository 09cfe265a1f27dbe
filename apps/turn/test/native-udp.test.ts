// The native batched UDP layer (native/udp-batch.c behind src/native-udp.ts) on its own, against
// real Node dgram sockets on loopback; and the start-time selection (auto fallback, native refusal).
import { createSocket, type Socket as NodeUdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { SocketAddress } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageClass } from '../src/stun/constants.js';
import {
  buildNativeUdp,
  formatIp6,
  loadNativeUdp,
  NativeUdpUnavailableError,
  parseIp4,
  selectDataPath,
  type DatagramFactory,
  type DatagramSocket,
} from '../src/native-udp.js';
import type { TurnLogger } from '../src/server.js';
import { TurnTestClient, UdpPeer } from './helpers/client.js';
import { eventually, SECRET, startTestServer } from './helpers/server.js';

const linux = process.platform === 'linux';
let factory: DatagramFactory;

beforeAll(async () => {
  if (linux) factory = loadNativeUdp(await buildNativeUdp());
});

async function dgramClient(type: 'udp4' | 'udp6' = 'udp4'): Promise<NodeUdpSocket> {
  const socket = createSocket(type);
  socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(socket, 'listening');
  return socket;
}

function collect(socket: NodeUdpSocket): Array<{ data: Buffer; port: number }> {
  const got: Array<{ data: Buffer; port: number }> = [];
  socket.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }));
  return got;
}

interface Received {
  text: string;
  address: string;
  port: number;
}

async function nativeSocket(family: 4 | 6, onMessage?: (msg: Buffer, address: string, port: number, self: DatagramSocket) => void): Promise<{ socket: DatagramSocket; got: Received[] }> {
  const got: Received[] = [];
  const holder: { socket?: DatagramSocket } = {};
  const socket = await factory.open({
    family,
    host: family === 4 ? '127.0.0.1' : '::1',
    port: 0,
    ipv6Only: true,
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
    onMessage: (msg, address, port) => {
      got.push({ text: msg.toString('latin1'), address, port });
      onMessage?.(msg, address, port, holder.socket!);
    },
  });
  holder.socket = socket;
  return { socket, got };
}

describe('address text', () => {
  it('formats IPv6 as Node dgram reports it (zero-run compression, mapped and compatible IPv4)', () => {
    const words = (ip: string): [number, number, number, number] => {
      // ::ffff:a.b.c.d and plain hex forms, enough for this table
      const groups = new Array<number>(8).fill(0);
      const [head, tail] = ip.split('::') as [string, string | undefined];
      const parse = (s: string): number[] => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? (() => { const b = g.split('.').map(Number); return [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!]; })() : [parseInt(g, 16)])));
      const h = parse(head);
      const t = tail === undefined ? [] : parse(tail);
      h.forEach((g, i) => (groups[i] = g));
      t.forEach((g, i) => (groups[8 - t.length + i] = g));
      return [0, 1, 2, 3].map((i) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0) as [number, number, number, number];
    };
    const table: Array<[string, string]> = [
      ['::1', '::1'],
      ['::', '::'],
      ['::ffff:192.0.2.7', '::ffff:192.0.2.7'],
      ['2001:db8::1', '2001:db8::1'],
      ['1::', '1::'],
      ['fe80:0:0:0:1:0:0:1', 'fe80::1:0:0:1'], // the longest run
      ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // the first of two equal runs
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
      ['0:0:0:0:0:0:102:304', '::1.2.3.4'], // IPv4-compatible
      ['::2', '::2'],
    ];
    for (const [input, text] of table) expect(formatIp6(...words(input))).toBe(text);
    // and against libuv's own formatting (net.SocketAddress), on addresses with many zero runs
    for (let i = 0; i < 2_000; i++) {
      const w = [0, 1, 2, 3].map(() => {
        const pick = (): number => [0, 0, 0, 1, 0xffff, Math.floor(Math.random() * 0x10000)][Math.floor(Math.random() * 6)]!;
        return ((pick() << 16) | pick()) >>> 0;
      }) as [number, number, number, number];
      const bytes = Buffer.alloc(16);
      w.forEach((x, k) => bytes.writeUInt32BE(x, 4 * k));
      const hex = [...Array(8).keys()].map((k) => bytes.readUInt16BE(2 * k).toString(16)).join(':');
      expect(formatIp6(...w)).toBe(new SocketAddress({ address: hex, family: 'ipv6' }).address);
    }
  });

  it('parses dotted quads for sends and refuses anything else', () => {
    expect(parseIp4('127.0.0.1')).toBe(0x7f000001);
    expect(parseIp4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '::1', '1.2.3.x', '01234.1.1.1']) expect(parseIp4(bad)).toBe(-1);
  });
});

describe.skipIf(!linux)('native batched UDP socket', () => {
  it('receives a burst as batches, in order, with the sender address and port (IPv4)', async () => {
    const { socket, got } = await nativeSocket(4);
    const client = await dgramClient();
    for (let i = 0; i < 500; i++) client.send(`m${i}`, socket.port, '127.0.0.1');
    await eventually(() => got.length === 500, 10_000, '500 datagrams');
    expect(got.map((g) => g.text)).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(new Set(got.map((g) => `${g.address}|${g.port}`))).toEqual(new Set([`127.0.0.1|${client.address().port}`]));
    await socket.close();
    client.close();
  });

  it('receives and answers on ::1 (IPv6), in the text Node would report', async () => {
    const { socket, got } = await nativeSocket(6, (msg, address, port, self) => self.send(Buffer.concat([Buffer.from('re:'), msg]), port, address));
    const client = await dgramClient('udp6');
    const answers = collect(client);
    for (let i = 0; i < 50; i++) client.send(`v6-${i}`, socket.port, '::1');
    await eventually(() => answers.length === 50, 10_000, '50 answers');
    expect(got.every((g) => g.address === '::1' && g.port === client.address().port)).toBe(true);
    expect(answers.map((a) => a.data.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `re:v6-${i}`));
    await socket.close();
    client.close();
  });

  it('sends what was queued outside a batch (timers) in one sendmmsg flush, in order', async () => {
    const { socket } = await nativeSocket(4);
    const peer = await dgramClient();
    // 300 small datagrams at once overflow the default receive buffer (≈ 256 fit)
    peer.setRecvBufferSize(4 << 20);
    const got = collect(peer);
    await new Promise<void>((done) =>
      setTimeout(() => {
        for (let i = 0; i < 300; i++) socket.send(Buffer.from(`s${i}`), peer.address().port, '127.0.0.1');
        done();
      }, 1),
    );
    await eventually(() => got.length === 300, 10_000, '300 datagrams');
    expect(got.map((g) => g.data.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `s${i}`));
    expect(got.every((g) => g.port === socket.port)).toBe(true);
    expect(socket.takeErrors()).toBe(0);
    await socket.close();
    peer.close();
  });

  it('close() inside a batch: no further datagram of that batch is delivered, queued sends are dropped, the port is free at once', async () => {
    let delivered = 0;
    const target = await dgramClient();
    const sent = collect(target);
    const { socket } = await nativeSocket(4, (_msg, _address, _port, self) => {
      delivered++;
      self.send(Buffer.from('never'), target.address().port, '127.0.0.1');
      void self.close();
    });
    const client = await dgramClient();
    for (let i = 0; i < 100; i++) client.send(`c${i}`, socket.port, '127.0.0.1');
    await eventually(() => socket.closed, 5_000, 'the close');
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toBe(1);
    expect(sent).toHaveLength(0);
    // the same port binds again right away (the fd was closed in close())
    const again = await factory.open({ family: 4, host: '127.0.0.1', port: socket.port, ipv6Only: false, onMessage: () => undefined });
    expect(again.port).toBe(socket.port);
    await again.close();
    client.close();
    target.close();
  });

  it('sending to a closed port or a bad destination is counted, and the socket keeps working', async () => {
    const { socket, got } = await nativeSocket(4, (msg, address, port, self) => self.send(msg, port, address));
    const closed = await dgramClient();
    const closedPort = closed.address().port;
    await new Promise<void>((done) => closed.close(() => done()));
    for (let i = 0; i < 20; i++) socket.send(Buffer.from('x'), closedPort, '127.0.0.1');
    socket.send(Buffer.from('x'), 9, 'not-an-ip');
    socket.send(Buffer.from('x'), 0, '127.0.0.1');
    socket.send(Buffer.alloc(70_000), 9, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
    // Three bad destinations; ICMP port unreachable is not reported on an unconnected Linux UDP
    // socket, so the closed port costs nothing more than the send.
    expect(socket.takeErrors()).toBeGreaterThanOrEqual(3);
    const client = await dgramClient();
    const echoes = collect(client);
    for (let i = 0; i < 10; i++) client.send(`after${i}`, socket.port, '127.0.0.1');
    await eventually(() => echoes.length === 10, 5_000, 'echoes after the errors');
    expect(got).toHaveLength(10);
    await socket.close();
    client.close();
  });

  it('receives a maximum-size IPv4 datagram (65,507 bytes) whole', async () => {
    const sizes: number[] = [];
    const socket = await factory.open({ family: 4, host: '127.0.0.1', port: 0, ipv6Only: false, recvBufferSize: 1 << 20, onMessage: (msg) => sizes.push(msg.length) });
    const client = await dgramClient();
    client.setSendBufferSize(1 << 20);
    const big = Buffer.alloc(65_507, 0xab);
    client.send(big, socket.port, '127.0.0.1');
    client.send(Buffer.alloc(1), socket.port, '127.0.0.1');
    await eventually(() => sizes.length === 2, 5_000, 'both datagrams');
    expect(sizes).toEqual([65_507, 1]);
    await socket.close();
    client.close();
  });

  it('100,000 datagrams echoed in bursts: no crash, every datagram counted, memory flat', async () => {
    let received = 0;
    const { socket } = await nativeSocket(4, (msg, address, port, self) => {
      received++;
      self.send(msg, port, address);
    });
    const client = await dgramClient();
    client.setRecvBufferSize(4 << 20);
    client.setSendBufferSize(4 << 20);
    let echoed = 0;
    client.on('message', () => void echoed++);
    const payload = Buffer.alloc(200, 7);
    const rssBefore = process.memoryUsage().rss;
    let sent = 0;
    // Bursts of 1,000 with a wait for the echoes: loopback never drops unless a buffer overflows,
    // and the waiting keeps both buffers below that.
    for (let burst = 0; burst < 100; burst++) {
      for (let i = 0; i < 1_000; i++) client.send(payload, socket.port, '127.0.0.1');
      sent += 1_000;
      await eventually(() => echoed >= sent - 50, 10_000, `echoes of burst ${burst}`);
    }
    await eventually(() => echoed === sent, 10_000, 'all echoes');
    expect(received).toBe(100_000);
    const stats = (socket as DatagramSocket & { stats(): readonly number[] | undefined }).stats();
    expect(stats?.[0]).toBe(100_000);
    expect(stats?.[1]).toBe(100_000);
    // The arena and queue are preallocated: 100k datagrams must not grow the process by much.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await socket.close();
    client.close();
  }, 120_000);
});

describe('data path selection', () => {
  let cacheDir: string;
  beforeAll(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'hb-turn-native-'));
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('dataPath native with no compiler refuses to start with a typed error naming the reason', async () => {
    await expect(selectDataPath('native', { compiler: '/nonexistent/cc', cacheDir })).rejects.toBeInstanceOf(NativeUdpUnavailableError);
    await expect(startTestServer({ dataPath: 'native', nativeBuild: { compiler: '/nonexistent/cc', cacheDir } })).rejects.toThrow(/compiler \/nonexistent\/cc not found/);
  });

  it('auto with no compiler logs one warning with the reason, runs on dgram and still relays', async () => {
    const warnings: Array<{ obj: object; msg?: string }> = [];
    const logger: TurnLogger = { info: () => undefined, debug: () => undefined, warn: (obj, msg) => void warnings.push({ obj, msg }) };
    const server = await startTestServer({ dataPath: 'auto', nativeBuild: { compiler: '/nonexistent/cc', cacheDir }, logger, allowPeers: ['127.0.0.0/8'] });
    const peer = await UdpPeer.start();
    const client = await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp });
    try {
      expect(server.dataPath).toBe('dgram');
      expect(server.metrics.dataPath).toBe('dgram');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/native UDP data path unavailable/);
      expect(JSON.stringify(warnings[0]!.obj)).toMatch(/compiler \/nonexistent\/cc not found/);
      client.withCredentials(SECRET);
      const allocated = await client.allocate();
      expect(allocated.relayed).toBeDefined();
      await client.createPermission(peer.address);
      client.sendIndication(peer.address, Buffer.from('via dgram'));
      await peer.waitFor(1);
      expect(peer.received[0]!.data.toString()).toBe('via dgram');
    } finally {
      await client.close();
      await peer.close();
      await server.close();
    }
  });

  it.skipIf(!linux)('auto builds the addon into the cache directory once (atomic rename, no temp files left) and uses it', async () => {
    const path = await buildNativeUdp({ cacheDir });
    expect(path.startsWith(cacheDir)).toBe(true);
    expect(await buildNativeUdp({ cacheDir })).toBe(path);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(cacheDir)).toEqual([path.slice(cacheDir.length + 1)]);
    const server = await startTestServer({ dataPath: 'auto' });
    try {
      expect(server.dataPath).toBe('native');
      expect(server.metrics.dataPath).toBe('native');
    } finally {
      await server.close();
    }
  });
});

/**
 * The same short relay scenario on both UDP layers (the full suites run on the default layer,
 * and on dgram with `pnpm test:dgram`): UDP clients over IPv4 and IPv6 listeners, Send → peer,
 * peer → Data indication, ChannelBind, ChannelData both ways, hairpin between two allocations,
 * and relay error counting.
 */
describe.each(['native', 'dgram'] as const)('relay scenario on the %s UDP layer', (dataPath) => {
  it.skipIf(dataPath === 'native' && !linux).each([4, 6] as const)('IPv%s: Send, Data indication, ChannelData both ways, hairpin', async (family) => {
    const host = family === 4 ? '127.0.0.1' : '::1';
    const server = await startTestServer({
      dataPath,
      listen: { host: family === 4 ? '127.0.0.1' : '::', udpPort: 0, tcpPort: 0 },
      relay: { host, portMin: 40_000, portMax: 59_999 },
      allowPeers: family === 4 ? ['127.0.0.0/8'] : ['::1/128'],
    });
    const peer = await UdpPeer.start({ host, echo: true });
    const a = await TurnTestClient.connect({ transport: 'udp', host, port: server.ports.udp });
    const b = await TurnTestClient.connect({ transport: 'udp', host, port: server.ports.udp });
    try {
      expect(server.dataPath).toBe(dataPath);
      a.withCredentials(SECRET, 'a');
      b.withCredentials(SECRET, 'b');
      const ra = (await a.allocate({ family })).relayed!;
      const rb = (await b.allocate({ family })).relayed!;
      expect(ra.family).toBe(family);
      await a.createPermission(peer.address);
      for (let i = 0; i < 20; i++) a.sendIndication(peer.address, Buffer.from(`send-${i}`));
      const echoes: string[] = [];
      await eventually(() => {
        while (a.received.length > 0) echoes.push(a.received.shift()!.data.toString());
        return echoes.length >= 20;
      }, 10_000, '20 Data indications');
      expect(echoes.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `send-${i}`).sort());
      expect((await a.channelBind(0x4001, peer.address)).cls).toBe(MessageClass.Success);
      a.sendChannelData(0x4001, Buffer.from('over channel'));
      const back = await a.nextData((e) => e.via === 'channel');
      expect(back.channel).toBe(0x4001);
      expect(back.data.toString()).toBe('over channel');
      // hairpin: a → b's relayed address, in process
      await a.createPermission(rb);
      await b.createPermission(ra);
      a.sendIndication(rb, Buffer.from('hairpin'));
      const hair = await b.nextData((e) => e.data.toString() === 'hairpin');
      expect(hair.peer.port).toBe(ra.port);
      expect(server.metrics.relayed.clientToPeer.packets).toBeGreaterThanOrEqual(22);
      expect(server.metrics.dataPath).toBe(dataPath);
    } finally {
      await a.close();
      await b.close();
      await peer.close();
      await server.close();
    }
  });
});
