import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ipToBytes } from '../src/address.js';
import { buildProxyV2 } from '../src/proxy-protocol.js';
import { encodeStun } from '../src/stun/codec.js';
import { Attr, MessageClass, Method } from '../src/stun/constants.js';
import type { TurnServerHandle, TurnServerOptions } from '../src/server.js';
import { TurnTestClient, UdpPeer, type Transport } from './helpers/client.js';
import { eventually, SECRET, selfSignedCert, startTestServer } from './helpers/server.js';

/** spec/turn.md §5 T5/T7 and §4.2 items 1, 4, 5: the allocation lifecycle and both data paths. */

let servers: TurnServerHandle[] = [];
let clients: TurnTestClient[] = [];
let peers: UdpPeer[] = [];
afterEach(async () => {
  for (const c of clients) await c.close();
  for (const p of peers) await p.close();
  for (const s of servers) await s.close();
  servers = [];
  clients = [];
  peers = [];
});

let tlsMaterial: { cert: string; key: string };
beforeAll(() => {
  tlsMaterial = selfSignedCert();
});

async function start(overrides: Partial<TurnServerOptions> = {}): Promise<TurnServerHandle> {
  const s = await startTestServer({ allowPeers: ['127.0.0.1', '::1'], ...overrides });
  servers.push(s);
  return s;
}

async function client(s: TurnServerHandle, transport: Transport = 'udp', extra: { preamble?: Buffer; host?: string } = {}): Promise<TurnTestClient> {
  const port = transport === 'udp' ? s.ports.udp : transport === 'tcp' ? s.ports.tcp : s.ports.tls!;
  const c = await TurnTestClient.connect({ transport, host: extra.host ?? '127.0.0.1', port, ca: tlsMaterial.cert, preamble: extra.preamble });
  c.withCredentials(SECRET);
  clients.push(c);
  return c;
}

async function peer(echo = true, host = '127.0.0.1'): Promise<UdpPeer> {
  const p = await UdpPeer.start({ echo, host });
  peers.push(p);
  return p;
}

/** True when we can bind the port ourselves, i.e. the relay released it. */
async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

describe('Allocate', () => {
  it('a second Allocate on the same 5-tuple → 437; a retransmission gets the original answer', async () => {
    const s = await start();
    for (const transport of ['udp', 'tcp'] as const) {
      const c = await client(s, transport);
      const tid = randomBytes(12);
      const first = await c.allocate({ transactionId: tid });
      expect(first.cls).toBe(2);
      const again = await c.allocate({ transactionId: tid });
      expect(again.raw.equals(first.raw)).toBe(true);
      const second = await c.allocate();
      expect(second.error?.code).toBe(437);
      expect(second.integrityOk).toBe(true);
    }
    expect(s.metrics.allocations).toBe(2);
  });

  it('honours LIFETIME within [default, max]', async () => {
    const s = await start({ lifetimes: { allocationDefaultSec: 600, allocationMaxSec: 3600 } });
    expect((await (await client(s)).allocate({ lifetime: 1200 })).lifetime).toBe(1200);
    expect((await (await client(s)).allocate({ lifetime: 99_999 })).lifetime).toBe(3600);
    expect((await (await client(s)).allocate({ lifetime: 10 })).lifetime).toBe(600);
    expect((await (await client(s)).allocate()).lifetime).toBe(600);
  });

  it('success responses carry XOR-RELAYED/MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT; externalIp is what the client is told', async () => {
    const s = await start({ externalIp: '198.51.100.20' });
    const c = await client(s);
    const response = await c.allocate();
    expect(response.integrityOk).toBe(true);
    expect(response.message.hasFingerprint).toBe(true);
    expect(response.relayed?.address).toBe('198.51.100.20');
    expect(response.mapped).toEqual({ family: 4, address: '127.0.0.1', port: c.localPort });
    // The mapping is cosmetic for the relay itself: the socket is bound on relay.host.
    const echo = await peer();
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    c.sendIndication(echo.address, Buffer.from('via external'));
    expect((await c.nextData()).data.toString()).toBe('via external');
  });

  it('refuses bad Allocates with the right codes, all integrity-protected', async () => {
    const s = await start();
    const c = await client(s);
    const tcpTransport = await c.request(Method.Allocate, [[Attr.RequestedTransport, Buffer.from([6, 0, 0, 0])]]);
    expect(tcpTransport.error?.code).toBe(442);
    expect(tcpTransport.integrityOk).toBe(true);
    expect((await c.request(Method.Allocate, [])).error?.code).toBe(400);
    expect((await c.allocate({ family: 6 })).error?.code).toBe(440); // no IPv6 relay configured
    const badFamily = await c.allocate({ extra: [[Attr.RequestedAddressFamily, Buffer.from([3, 0, 0, 0])]] });
    expect(badFamily.error?.code).toBe(440);
    const unknown = await c.allocate({ extra: [[0x7777, Buffer.alloc(4)]] });
    expect(unknown.error?.code).toBe(420);
    expect(unknown.integrityOk).toBe(true);
    expect(unknown.message.attributes.get(Attr.UnknownAttributes)?.readUInt16BE(0)).toBe(0x7777);
    const token = await c.allocate({ extra: [[Attr.ReservationToken, Buffer.alloc(8)]] });
    expect(token.error?.code).toBe(508);
    expect(((await c.allocate({ extra: [[Attr.EvenPort, Buffer.from([0x80])]] })).relayed?.port ?? 1) % 2).toBe(0);
    expect(s.metrics.allocations).toBe(1);
  });

  it('Binding: XOR-MAPPED-ADDRESS without auth; an unknown comprehension-required attribute → 420 + UNKNOWN-ATTRIBUTES', async () => {
    const s = await start();
    const c = await client(s);
    const ok = await c.request(Method.Binding, [], { auth: false });
    expect(ok.cls).toBe(2);
    const bad = await c.request(Method.Binding, [[0x0003, Buffer.alloc(4)], [0xc0de, Buffer.alloc(0)], [0x7abc, Buffer.alloc(0)]], { auth: false });
    expect(bad.error?.code).toBe(420);
    const list = bad.message.attributes.get(Attr.UnknownAttributes)!;
    expect([list.readUInt16BE(0), list.readUInt16BE(2)]).toEqual([0x0003, 0x7abc]);
    expect(bad.message.integrityOffset).toBe(-1);
  });
});

describe('Refresh and expiry release the relay socket', () => {
  it('Refresh(600) keeps the allocation; Refresh(0) closes the relay socket and stops forwarding', async () => {
    const s = await start();
    const c = await client(s);
    const echo = await peer();
    const { relayed } = await c.allocate();
    expect((await c.refresh(600)).lifetime).toBe(600);
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    c.sendIndication(echo.address, Buffer.from('alive'));
    expect((await c.nextData()).data.toString()).toBe('alive');
    expect(await portIsFree(relayed!.port)).toBe(false);
    const zero = await c.refresh(0);
    expect(zero.cls).toBe(2);
    expect(zero.lifetime).toBe(0);
    expect(zero.integrityOk).toBe(true);
    await eventually(() => portIsFree(relayed!.port), 2_000, 'relay port released');
    expect(s.metrics.allocations).toBe(0);
    expect((await c.createPermission(echo.address)).error?.code).toBe(437);
    expect((await c.refresh(600)).error?.code).toBe(437);
  });

  it('expiry (lifetime 1 s) closes the socket: the port is free and a peer datagram goes nowhere', async () => {
    const s = await start({ lifetimes: { allocationDefaultSec: 1, allocationMaxSec: 1 } });
    const c = await client(s);
    const echo = await peer(false);
    const { relayed, lifetime } = await c.allocate({ lifetime: 600 });
    expect(lifetime).toBe(1);
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    await eventually(() => s.metrics.allocations === 0, 5_000, 'expiry');
    await eventually(() => portIsFree(relayed!.port), 2_000, 'relay port released');
    const before = s.metrics.relayed.peerToClient.packets;
    echo.send(Buffer.from('too late'), relayed!);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.metrics.relayed.peerToClient.packets).toBe(before);
    expect(c.received).toEqual([]);
    expect((await c.refresh(600)).error?.code).toBe(437);
  });

  it('closing a TCP connection releases its allocation', async () => {
    const s = await start();
    const c = await client(s, 'tcp');
    const { relayed } = await c.allocate();
    expect(s.metrics.allocations).toBe(1);
    await c.close();
    await eventually(() => s.metrics.allocations === 0, 5_000, 'allocation released');
    await eventually(() => portIsFree(relayed!.port), 2_000, 'relay port released');
  });

  it('a TCP connection that never allocates is closed after the half-open timeout', async () => {
    const s = await start({ quotas: { halfOpenTimeoutMs: 300 } });
    const socket = tcpConnect({ host: '127.0.0.1', port: s.ports.tcp });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await closed;
    expect(s.metrics.drops['half-open-timeout']).toBe(1);
  });
});

describe('permission and channel expiry', () => {
  it('after the permission lifetime, peer data is dropped; CreatePermission renews it', async () => {
    const s = await start({ lifetimes: { permissionSec: 1 } });
    const c = await client(s);
    const echo = await peer(false);
    const { relayed } = await c.allocate();
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    echo.send(Buffer.from('in time'), relayed!);
    expect((await c.nextData()).data.toString()).toBe('in time');
    await new Promise((r) => setTimeout(r, 1_300));
    const dropsBefore = s.metrics.drops['no-permission'];
    echo.send(Buffer.from('expired'), relayed!);
    await eventually(() => s.metrics.drops['no-permission'] > dropsBefore, 3_000, 'drop counted');
    expect(c.received).toEqual([]);
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    echo.send(Buffer.from('renewed'), relayed!);
    expect((await c.nextData()).data.toString()).toBe('renewed');
  });

  it('after the channel lifetime, ChannelData is dropped and peer data falls back to Data indications', async () => {
    const s = await start({ lifetimes: { channelSec: 1, permissionSec: 60 } });
    const c = await client(s);
    const echo = await peer(false);
    const { relayed } = await c.allocate();
    expect((await c.channelBind(0x4005, echo.address)).cls).toBe(2);
    echo.send(Buffer.from('on channel'), relayed!);
    const first = await c.nextData();
    expect(first.via).toBe('channel');
    await new Promise((r) => setTimeout(r, 1_300));
    const before = s.metrics.drops['no-channel'];
    c.sendChannelData(0x4005, Buffer.from('late'));
    await eventually(() => s.metrics.drops['no-channel'] === before + 1, 3_000, 'channel drop counted');
    echo.send(Buffer.from('after expiry'), relayed!);
    const second = await c.nextData();
    expect(second.via).toBe('data-indication');
    expect(second.data.toString()).toBe('after expiry');
  });

  it('ChannelBind rules: one number per peer, one peer per number, numbers in range', async () => {
    const s = await start();
    const c = await client(s);
    const a = await peer();
    const b = await peer();
    await c.allocate();
    expect((await c.channelBind(0x4001, a.address)).cls).toBe(2);
    expect((await c.channelBind(0x4001, a.address)).cls).toBe(2); // refresh
    expect((await c.channelBind(0x4001, b.address)).error?.code).toBe(400);
    expect((await c.channelBind(0x4002, a.address)).error?.code).toBe(400);
    expect((await c.channelBind(0x3fff, b.address)).error?.code).toBe(400);
    expect((await c.channelBind(0x8000, b.address)).error?.code).toBe(400);
  });
});

describe('both data paths in both directions', () => {
  const sizes = [1, 3, 4, 5, 99, 1200];

  async function exercise(transport: Transport, s: TurnServerHandle, host = '127.0.0.1', extra: { preamble?: Buffer } = {}): Promise<void> {
    const c = await client(s, transport, { ...extra, host });
    const echo = await peer(true, host === '::1' ? '::1' : '127.0.0.1');
    const allocation = await c.allocate(host === '::1' ? { family: 6 } : {});
    expect(allocation.cls).toBe(2);
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    // Send indication out, Data indication back.
    for (const size of sizes) {
      const payload = randomBytes(size);
      c.sendIndication(echo.address, payload);
      const back = await c.nextData((e) => e.data.equals(payload));
      expect(back.via).toBe('data-indication');
      expect(back.peer.port).toBe(echo.address.port);
    }
    // ChannelData out, ChannelData back.
    expect((await c.channelBind(0x4abc, echo.address)).integrityOk).toBe(true);
    for (const size of sizes) {
      const payload = randomBytes(size);
      c.sendChannelData(0x4abc, payload);
      const back = await c.nextData((e) => e.data.equals(payload));
      expect(back.via).toBe('channel');
      expect(back.channel).toBe(0x4abc);
    }
    // The echo peer saw exactly our payloads, from the relayed address.
    expect(echo.received.length).toBe(sizes.length * 2);
    expect(new Set(echo.received.map((r) => r.from.port))).toEqual(new Set([allocation.relayed!.port]));
  }

  it('UDP', async () => {
    const s = await start();
    await exercise('udp', s);
    expect(s.metrics.relayed.clientToPeer.packets).toBe(12);
    expect(s.metrics.relayed.peerToClient.packets).toBe(12);
  });

  it('TCP (RFC 8656 §12.5 framing with padding)', async () => {
    const s = await start();
    await exercise('tcp', s);
  });

  it('TLS with a self-signed certificate from openssl', async () => {
    const s = await start({ listen: { host: '127.0.0.1', udpPort: 0, tcpPort: 0, tlsPort: 0 }, tls: tlsMaterial });
    expect(s.ports.tls).toBeGreaterThan(0);
    await exercise('tls', s);
  });

  it('TLS behind a PROXY v2 header: the proxied client address is honoured', async () => {
    const s = await start({ listen: { host: '127.0.0.1', udpPort: 0, tcpPort: 0, tlsPort: 0 }, tls: { ...tlsMaterial, proxyProtocol: true } });
    const preamble = buildProxyV2({ address: '192.0.2.77', port: 61_234 }, { address: '127.0.0.1', port: 443 }, 4, ipToBytes);
    const c = await client(s, 'tls', { preamble });
    const allocation = await c.allocate();
    expect(allocation.mapped).toEqual({ family: 4, address: '192.0.2.77', port: 61_234 });
    const binding = await c.request(Method.Binding, [], { auth: false });
    expect(binding.cls).toBe(2);
    await exercise('tls', s, '127.0.0.1', { preamble: buildProxyV2({ address: '198.51.100.1', port: 1000 }, { address: '127.0.0.1', port: 443 }, 4, ipToBytes) });
  });

  it('TLS behind a PROXY v1 line (stock nginx `proxy_protocol on`) on its own loopback address: the proxied address is honoured too', async () => {
    const s = await start({ listen: { host: '::1', tlsHost: '127.0.0.1', udpPort: 0, tcpPort: 0, tlsPort: 0 }, tls: { ...tlsMaterial, proxyProtocol: true } });
    const c = await client(s, 'tls', { preamble: Buffer.from('PROXY TCP6 2001:db8::77 ::1 40000 443\r\n') });
    const allocation = await c.allocate();
    expect(allocation.mapped).toEqual({ family: 6, address: '2001:db8::77', port: 40_000 });
  });

  it('PROXY-protocol listener: a connection without a valid header is closed and counted', async () => {
    const s = await start({ listen: { host: '127.0.0.1', udpPort: 0, tcpPort: 0, tlsPort: 0 }, tls: { ...tlsMaterial, proxyProtocol: true } });
    for (const junk of [Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])]) {
      const socket = tcpConnect({ host: '127.0.0.1', port: s.ports.tls! });
      socket.on('error', () => undefined);
      socket.write(junk);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    }
    expect(s.metrics.drops['proxy-header']).toBe(2);
  });

  it('IPv6: listener on ::1, IPv6 relay (REQUESTED-ADDRESS-FAMILY), IPv6 peer', async () => {
    const s = await start({ listen: { host: '::1', udpPort: 0, tcpPort: 0 }, relay: { host: '127.0.0.1', host6: '::1', portMin: 40_000, portMax: 59_999 } });
    await exercise('udp', s, '::1');
    await exercise('tcp', s, '::1');
  });

  it('peer payloads are never reinterpreted: ChannelData look-alikes arrive intact (spec T7)', async () => {
    const s = await start();
    const c = await client(s);
    const echo = await peer(false);
    const { relayed } = await c.allocate();
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    const lookalike = Buffer.from('4000000401020304', 'hex');
    echo.send(lookalike, relayed!);
    const unbound = await c.nextData();
    expect(unbound.via).toBe('data-indication');
    expect(unbound.data.equals(lookalike)).toBe(true);
    expect((await c.channelBind(0x4001, echo.address)).cls).toBe(2);
    const nested = Buffer.from('4001000409090909', 'hex');
    echo.send(nested, relayed!);
    const bound = await c.nextData();
    expect(bound.via).toBe('channel');
    expect(bound.data.equals(nested)).toBe(true);
    const stunLike = encodeStun(Method.Binding, MessageClass.Success, randomBytes(12), [[Attr.Software, Buffer.from('peer')]]);
    echo.send(stunLike, relayed!);
    expect((await c.nextData()).data.equals(stunLike)).toBe(true);
  });

  it('bandwidth cap per allocation: the excess is dropped and counted', async () => {
    const s = await start({ quotas: { bandwidthBps: 80_000 } });
    const c = await client(s);
    const echo = await peer(false);
    await c.allocate();
    expect((await c.channelBind(0x4001, echo.address)).cls).toBe(2);
    for (let i = 0; i < 200; i++) c.sendChannelData(0x4001, Buffer.alloc(1000, i));
    await eventually(() => s.metrics.relayed.clientToPeer.packets + s.metrics.drops.bandwidth >= 200, 5_000, 'all 200 accounted');
    expect(s.metrics.drops.bandwidth).toBeGreaterThan(100);
    expect(s.metrics.relayed.clientToPeer.packets).toBeGreaterThan(50);
  });
});

describe('drain', () => {
  it('stops new allocations (508), lets existing ones relay, resolves when they are gone', async () => {
    const s = await start();
    const c = await client(s);
    const echo = await peer();
    await c.allocate();
    expect((await c.createPermission(echo.address)).cls).toBe(2);
    let drained = false;
    const draining = s.drain().then(() => {
      drained = true;
    });
    expect(s.metrics.draining).toBe(true);
    const late = await (await client(s)).allocate();
    expect(late.error?.code).toBe(508);
    expect(s.metrics.refusals.draining).toBe(1);
    c.sendIndication(echo.address, Buffer.from('still relaying'));
    expect((await c.nextData()).data.toString()).toBe('still relaying');
    expect(drained).toBe(false);
    expect((await c.refresh(0)).cls).toBe(2);
    await draining;
    expect(drained).toBe(true);
  });
});
