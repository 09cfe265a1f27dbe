import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportAddress } from '../src/address.js';
import { PeerPolicy } from '../src/peer-policy.js';
import type { TurnServerHandle } from '../src/server.js';
import { TurnTestClient, UdpPeer } from './helpers/client.js';
import { SECRET, startTestServer } from './helpers/server.js';

/**
 * spec/turn.md §5 T4: every denied peer class is refused with 403 on CreatePermission and
 * ChannelBind, Send to it relays nothing, a public control address is allowed, and the allow
 * list re-opens exactly what it names. Real server, real client, loopback only.
 */

const DENIED_V4: Array<[string, string]> = [
  ['loopback', '127.0.0.1'],
  ['loopback (other)', '127.1.2.3'],
  ['RFC 1918 10/8', '10.1.2.3'],
  ['RFC 1918 172.16/12', '172.16.0.1'],
  ['RFC 1918 172.31', '172.31.255.254'],
  ['RFC 1918 192.168/16', '192.168.1.1'],
  ['metadata service', '169.254.169.254'],
  ['link-local', '169.254.1.1'],
  ['CGNAT 100.64/10', '100.64.0.1'],
  ['CGNAT upper end', '100.127.255.254'],
  ['this network 0/8', '0.0.0.0'],
  ['multicast', '224.0.0.1'],
  ['multicast SSDP', '239.255.255.250'],
  ['broadcast', '255.255.255.255'],
  ['reserved 240/4', '240.0.0.1'],
  ['TEST-NET-1', '192.0.2.1'],
];

const DENIED_V6: Array<[string, string]> = [
  ['loopback ::1', '::1'],
  ['unspecified ::', '::'],
  ['unique local fc00::/7', 'fc00::1'],
  ['unique local fd..', 'fd12:3456::1'],
  ['link-local fe80::/10', 'fe80::1'],
  ['multicast ff02::1', 'ff02::1'],
  ['v4-mapped loopback', '::ffff:127.0.0.1'],
  ['v4-mapped 10/8', '::ffff:10.0.0.1'],
  ['v4-mapped metadata', '::ffff:169.254.169.254'],
  ['v4-mapped 192.168', '::ffff:192.168.0.1'],
  ['v4-mapped CGNAT', '::ffff:100.64.0.1'],
  ['v4-compatible loopback', '::127.0.0.1'],
  ['NAT64 of metadata', '64:ff9b::a9fe:a9fe'],
  ['6to4 of loopback', '2002:7f00:1::1'],
  ['documentation 2001:db8::/32', '2001:db8::1'],
];

const peerAt = (address: string, port = 40_404): TransportAddress => ({ family: address.includes(':') ? 6 : 4, address, port });

describe('SSRF matrix: secure defaults (no allow list)', () => {
  let server: TurnServerHandle;
  let v4: TurnTestClient;
  let v6: TurnTestClient;
  let victim: UdpPeer;

  beforeAll(async () => {
    server = await startTestServer({ relay: { host: '127.0.0.1', host6: '::1', portMin: 40_000, portMax: 59_999 } });
    victim = await UdpPeer.start();
    v4 = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET);
    v6 = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET);
    expect((await v4.allocate()).cls).toBe(2);
    const a6 = await v6.allocate({ family: 6 });
    expect(a6.cls).toBe(2);
    expect(a6.relayed?.address).toBe('::1');
  });

  afterAll(async () => {
    await v4.close();
    await v6.close();
    await victim.close();
    await server.close();
  });

  it.each(DENIED_V4)('IPv4 %s (%s): CreatePermission and ChannelBind → 403 with MESSAGE-INTEGRITY', async (_name, address) => {
    const permission = await v4.createPermission(peerAt(address));
    expect(permission.error?.code).toBe(403);
    expect(permission.integrityOk).toBe(true);
    const bind = await v4.channelBind(0x4000, peerAt(address));
    expect(bind.error?.code).toBe(403);
    expect(bind.integrityOk).toBe(true);
  });

  it.each(DENIED_V6)('IPv6 %s (%s): CreatePermission and ChannelBind → 403', async (_name, address) => {
    expect((await v6.createPermission(peerAt(address))).error?.code).toBe(403);
    expect((await v6.channelBind(0x4000, peerAt(address))).error?.code).toBe(403);
  });

  it("the relay's own listener ports → 403; another allocation's loopback relayed address → 403 by the IP rules", async () => {
    for (const port of [server.ports.udp, server.ports.tcp]) {
      expect((await v4.channelBind(0x4001, peerAt('127.0.0.1', port))).error?.code).toBe(403);
    }
    const relayed = (await v6.allocate()).error; // 437 on the same 5-tuple: fine, we only need v4's relayed address
    expect(relayed?.code).toBe(437);
    const other = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET);
    const allocation = await other.allocate();
    // Hairpin relaying is allowed (docs/turn.md "Peer policy"), but only subject to the IP
    // policy: a loopback relayed address needs 127.0.0.1 in allowPeers, which this relay lacks.
    expect((await v4.createPermission(allocation.relayed!)).error?.code).toBe(403);
    expect((await v4.channelBind(0x4002, allocation.relayed!)).error?.code).toBe(403);
    await other.close();
  });

  it('one denied peer among several refuses the whole CreatePermission (all or nothing)', async () => {
    const response = await v4.createPermission(peerAt('8.8.8.8'), peerAt('10.0.0.1'));
    expect(response.error?.code).toBe(403);
  });

  it('public control addresses are allowed (no packet needs to be sent to them)', async () => {
    const permission = await v4.createPermission(peerAt('8.8.8.8'));
    expect(permission.cls).toBe(2);
    expect(permission.integrityOk).toBe(true);
    expect((await v4.channelBind(0x4010, peerAt('8.8.8.8', 53))).cls).toBe(2);
    expect((await v6.createPermission(peerAt('2001:4860:4860::8888'))).cls).toBe(2);
  });

  it('Send to a loopback victim relays nothing, and the drop is counted; the refusals are counted too', async () => {
    const before = server.metrics;
    expect((await v4.createPermission(victim.address)).error?.code).toBe(403);
    expect((await v4.channelBind(0x4003, victim.address)).error?.code).toBe(403);
    for (let i = 0; i < 5; i++) v4.sendIndication(victim.address, Buffer.from(`probe ${i}`));
    v4.sendChannelData(0x4003, Buffer.from('probe via channel'));
    // A Binding round trip orders after the probes on the same socket pair.
    expect((await v4.request(1, [], { auth: false })).cls).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(victim.received).toEqual([]);
    const after = server.metrics;
    expect(after.refusals['forbidden-peer'] - before.refusals['forbidden-peer']).toBe(2);
    expect(after.drops['no-permission'] - before.drops['no-permission']).toBe(5);
    expect(after.drops['no-channel'] - before.drops['no-channel']).toBe(1);
    expect(after.relayed.clientToPeer.packets).toBe(before.relayed.clientToPeer.packets);
  });
});

describe('SSRF matrix: the allow list', () => {
  it('without 127.0.0.1 in allowPeers relaying to a loopback peer is 403; with it, data flows both ways', async () => {
    const echo = await UdpPeer.start({ echo: true });
    const strict = await startTestServer();
    const open = await startTestServer({ allowPeers: ['127.0.0.1/32', '10.0.0.0/8'] });
    try {
      const denied = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: strict.ports.udp })).withCredentials(SECRET);
      expect((await denied.allocate()).cls).toBe(2);
      expect((await denied.createPermission(echo.address)).error?.code).toBe(403);
      await denied.close();

      const client = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: open.ports.udp })).withCredentials(SECRET);
      expect((await client.allocate()).cls).toBe(2);
      expect((await client.createPermission(echo.address)).cls).toBe(2);
      client.sendIndication(echo.address, Buffer.from('through the allow list'));
      expect((await client.nextData()).data.toString()).toBe('through the allow list');
      // Exactly what is listed: 10/8 yes, other private ranges still no.
      expect((await client.createPermission(peerAt('10.9.8.7'))).cls).toBe(2);
      expect((await client.createPermission(peerAt('192.168.1.1'))).error?.code).toBe(403);
      expect((await client.createPermission(peerAt('127.0.0.2'))).error?.code).toBe(403);
      // Our own ports stay refused on an allow-listed IP.
      expect((await client.channelBind(0x4000, peerAt('127.0.0.1', open.ports.udp))).error?.code).toBe(403);
      expect((await client.channelBind(0x4000, peerAt('127.0.0.1', open.ports.tcp))).error?.code).toBe(403);
      const before = open.metrics.drops['denied-peer'];
      client.sendIndication(peerAt('127.0.0.1', open.ports.udp), Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
      expect((await client.request(1, [], { auth: false })).cls).toBe(2);
      expect(open.metrics.drops['denied-peer']).toBe(before + 1);
      await client.close();
    } finally {
      await strict.close();
      await open.close();
      await echo.close();
    }
  });
});

describe('hairpin: two allocations of one relay reach each other (docs/turn.md "Peer policy")', () => {
  // The external IP is what clients see in XOR-RELAYED-ADDRESS; it is a public address (IP policy
  // allows it) that need not be reachable from the relay itself: delivery is in process.
  const EXTERNAL = '1.2.3.4';
  let server: TurnServerHandle;
  let a: TurnTestClient;
  let b: TurnTestClient;
  let relayedA: TransportAddress;
  let relayedB: TransportAddress;

  beforeAll(async () => {
    server = await startTestServer({ externalIp: EXTERNAL });
    a = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET, 'alice');
    b = (await TurnTestClient.connect({ transport: 'tcp', host: '127.0.0.1', port: server.ports.tcp })).withCredentials(SECRET, 'bob');
    const allocA = await a.allocate();
    const allocB = await b.allocate();
    relayedA = allocA.relayed!;
    relayedB = allocB.relayed!;
    expect(relayedA.address).toBe(EXTERNAL);
    expect(relayedB.address).toBe(EXTERNAL);
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await server.close();
  });

  it('nothing reaches a target allocation that has no permission for the sender, and the drop is counted', async () => {
    expect((await a.createPermission(relayedB)).cls).toBe(2);
    const before = server.metrics;
    a.sendIndication(relayedB, Buffer.from('not yet'));
    expect((await a.request(1, [], { auth: false })).cls).toBe(2);
    expect(server.metrics.drops['no-permission'] - before.drops['no-permission']).toBe(1);
    expect(b.received).toEqual([]);
  });

  it('Send → Data indication and ChannelData → ChannelData both ways, from the relayed address the other side knows', async () => {
    expect((await b.createPermission(relayedA)).cls).toBe(2);
    a.sendIndication(relayedB, Buffer.from('a to b by Send'));
    const atB = await b.nextData();
    expect(atB.data.toString()).toBe('a to b by Send');
    expect(atB.peer).toEqual(relayedA);
    expect(atB.via).toBe('data-indication');
    b.sendIndication(relayedA, Buffer.from('b to a by Send'));
    const atA = await a.nextData();
    expect(atA.data.toString()).toBe('b to a by Send');
    expect(atA.peer).toEqual(relayedB);

    expect((await a.channelBind(0x4100, relayedB)).cls).toBe(2);
    expect((await b.channelBind(0x4200, relayedA)).cls).toBe(2);
    a.sendChannelData(0x4100, Buffer.from('a to b by channel'));
    const chB = await b.nextData();
    expect(chB).toMatchObject({ via: 'channel', channel: 0x4200 });
    expect(chB.data.toString()).toBe('a to b by channel');
    b.sendChannelData(0x4200, Buffer.from('b to a by channel'));
    const chA = await a.nextData();
    expect(chA).toMatchObject({ via: 'channel', channel: 0x4100 });
    expect(chA.data.toString()).toBe('b to a by channel');
  });

  it('the listener ports on the external IP stay refused', async () => {
    expect((await a.channelBind(0x4300, { family: 4, address: EXTERNAL, port: server.ports.udp })).error?.code).toBe(403);
    const before = server.metrics.drops['denied-peer'];
    a.sendIndication({ family: 4, address: EXTERNAL, port: server.ports.tcp }, Buffer.from('to the control port'));
    expect((await a.request(1, [], { auth: false })).cls).toBe(2);
    expect(server.metrics.drops['denied-peer']).toBe(before + 1);
  });

  it('once the target allocation is gone, nothing is delivered to a later one on another port', async () => {
    const c = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: server.ports.udp })).withCredentials(SECRET, 'carol');
    const allocC = await c.allocate();
    expect((await c.createPermission(relayedA)).cls).toBe(2);
    expect((await c.refresh(0)).cls).toBe(2);
    const before = server.metrics;
    a.sendIndication(allocC.relayed!, Buffer.from('to a closed allocation'));
    expect((await a.request(1, [], { auth: false })).cls).toBe(2);
    expect(c.received).toEqual([]);
    expect(server.metrics.relayed.peerToClient.packets).toBe(before.relayed.peerToClient.packets);
    expect(server.metrics.drops['no-allocation']).toBe(before.drops['no-allocation'] + 1);
    await c.close();
  });
});

describe('PeerPolicy (unit)', () => {
  const policy = new PeerPolicy({ allow: ['192.168.7.0/24', '::ffff:10.1.1.1'], ownIps: ['1.2.3.4'], ownPorts: { listeners: [3478, 5349] } });

  it('judges every denied class and the allow list', () => {
    for (const [, address] of [...DENIED_V4, ...DENIED_V6]) expect(policy.checkIp(address), address).toBe('denied');
    expect(policy.checkIp('8.8.8.8')).toBe('allowed');
    expect(policy.checkIp('192.168.7.9')).toBe('allowed');
    expect(policy.checkIp('::ffff:192.168.7.9')).toBe('allowed');
    expect(policy.checkIp('192.168.8.9')).toBe('denied');
    expect(policy.checkIp('10.1.1.1')).toBe('allowed');
    expect(policy.checkIp('garbage')).toBe('invalid');
  });

  it('refuses our own listener ports on our own IPs, in every notation; relay ports are ordinary peers', () => {
    expect(policy.check({ family: 4, address: '1.2.3.4', port: 3478 })).toBe('own-address');
    expect(policy.check({ family: 4, address: '1.2.3.4', port: 50_000 })).toBe('allowed');
    expect(policy.isOwnIp('::ffff:1.2.3.4')).toBe(true);
    expect(policy.isOwnIp('8.8.8.8')).toBe(false);
    expect(policy.check({ family: 6, address: '::ffff:1.2.3.4', port: 5349 })).toBe('own-address');
    expect(policy.isOwnAddress('::ffff:1.2.3.4', 5349)).toBe(true);
    expect(policy.check({ family: 4, address: '1.2.3.4', port: 50_001 })).toBe('allowed');
    expect(policy.check({ family: 4, address: '8.8.8.8', port: 3478 })).toBe('allowed');
  });

  it('rejects malformed CIDRs at construction', () => {
    const make = (allow: string[]) => () => new PeerPolicy({ allow, ownIps: [], ownPorts: { listeners: [] } });
    expect(make(['10.0.0.0/33'])).toThrow(TypeError);
    expect(make(['10.0.0.0/x'])).toThrow(TypeError);
    expect(make(['example.com'])).toThrow(TypeError);
  });
});
