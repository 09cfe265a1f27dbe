import { describe, expect, it } from 'vitest';
import { TurnAllocation, type ChannelBinding } from '../src/allocation.js';
import type { TransportAddress } from '../src/address.js';
import type { DatagramSocket } from '../src/native-udp.js';

/** A relay socket stand-in (these tests never send). */
function fakeRelay(): DatagramSocket {
  let closed = false;
  return {
    kind: 'dgram',
    port: 50_000,
    get closed() {
      return closed;
    },
    send: () => undefined,
    sendParts: () => undefined,
    prepare: () => undefined,
    takeErrors: () => 0,
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** The channel indexes the data path reads per packet (TurnAllocation.channelFor), unit-tested. */
function allocation(): TurnAllocation {
  return new TurnAllocation({
    link: { transport: 'udp', key: 'udp|127.0.0.1|1', client: { family: 4, address: '127.0.0.1', port: 1 }, stream: false, send: () => undefined, sendOne: () => undefined },
    username: 'u',
    integrityKey: Buffer.alloc(16),
    relay: fakeRelay(),
    relayPort: 50_000,
    relayed: { family: 4, address: '127.0.0.1', port: 50_000 },
    family: 4,
    expiresAt: Date.now() + 600_000,
    bandwidthBps: 0,
    allocateTransactionId: '00',
    allocateResponse: Buffer.alloc(0),
  });
}

function bind(a: TurnAllocation, number: number, peer: TransportAddress, expiresAt: number): ChannelBinding {
  const binding: ChannelBinding = { number, peer, peerKey: `${peer.address}|${peer.port}`, expiresAt };
  a.channels.set(number, binding);
  a.bindChannel(binding);
  return binding;
}

describe('TurnAllocation channel indexes', () => {
  const peer: TransportAddress = { family: 4, address: '8.8.8.8', port: 3478 };

  it('finds a bound peer by IP and port, nothing for another port or IP, nothing without channels', () => {
    const a = allocation();
    expect(a.channelFor('8.8.8.8', 3478)).toBeUndefined();
    const binding = bind(a, 0x4000, peer, Date.now() + 60_000);
    expect(a.channelFor('8.8.8.8', 3478)).toBe(binding);
    expect(a.channelFor('8.8.8.8', 3479)).toBeUndefined();
    expect(a.channelFor('8.8.4.4', 3478)).toBeUndefined();
    a.close();
  });

  it('sweeping an expired binding does not remove a newer binding of the same peer', () => {
    const a = allocation();
    const now = Date.now();
    const old = bind(a, 0x4000, peer, now - 1);
    const fresh = bind(a, 0x4001, peer, now + 60_000);
    expect(a.channelFor(peer.address, peer.port)).toBe(fresh);
    a.sweep(now);
    expect(a.channels.has(old.number)).toBe(false);
    expect(a.channelFor(peer.address, peer.port)).toBe(fresh);
    expect(a.channelsByPeer.get(fresh.peerKey)).toBe(fresh);
    a.unbindChannel(fresh);
    a.channels.delete(fresh.number);
    expect(a.channelFor(peer.address, peer.port)).toBeUndefined();
    expect(a.channelsByPeer.size).toBe(0);
    a.close();
  });
});
