import { randomBytes } from 'node:crypto';
import { ipToBytes, type TransportAddress } from './address.js';
import type { DatagramSocket } from './native-udp.js';
import { ByteBucket } from './rate-limit.js';

export type ClientTransport = 'udp' | 'tcp' | 'tls';

/** How the relay reaches one client: the 5-tuple's far end and a send function. */
export interface ClientLink {
  readonly transport: ClientTransport;
  /** Unique per 5-tuple (per connection for TCP/TLS). */
  readonly key: string;
  /** The client's address as reported (XOR-MAPPED-ADDRESS) and policed: IPv4-mapped forms unmapped. */
  readonly client: TransportAddress;
  /** Stream transports need 4-byte padding after ChannelData (RFC 8656 §12.5). */
  readonly stream: boolean;
  /** UDP only: the source as the listener socket reports it (the data-path lookup key). */
  readonly udpSource?: { readonly address: string; readonly port: number };
  /** Sends the buffers back-to-back as one datagram or one write. */
  send(parts: readonly Buffer[]): void;
  /** Sends one complete datagram or frame (the data path: no buffer list). */
  sendOne(frame: Buffer): void;
  /**
   * UDP on the native layer only: sends the first `length` bytes of a buffer the caller reuses
   * (copied before it returns), so the data path builds frames in one scratch buffer.
   */
  readonly sendScratch?: (buf: Buffer, length: number) => void;
}

export interface ChannelBinding {
  readonly number: number;
  readonly peer: TransportAddress;
  /** `${address}|${port}` */
  readonly peerKey: string;
  expiresAt: number;
}

/**
 * One TURN allocation (RFC 8656 §2.2): a relay socket owned by one client 5-tuple, with its
 * permissions (per peer IP) and channel bindings. The server owns the lifecycle; `close()` is
 * idempotent and always closes the relay socket (node-turn leaked them: spec/turn.md §3).
 */
export class TurnAllocation {
  readonly link: ClientLink;
  readonly username: string;
  readonly integrityKey: Buffer;
  readonly relay: DatagramSocket;
  /** The relay port as bound. */
  readonly relayPort: number;
  /** The relayed transport address as told to the client (after external-IP mapping). */
  readonly relayed: TransportAddress;
  readonly family: 4 | 6;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Peer IP (canonical) → expiry (ms). */
  readonly permissions = new Map<string, number>();
  readonly channels = new Map<number, ChannelBinding>();
  readonly channelsByPeer = new Map<string, ChannelBinding>();
  /** The same bindings by peer port, then peer IP: the per-packet lookup builds no key string. */
  readonly #channelsByPort = new Map<number, Map<string, ChannelBinding>>();
  /** RFC 8656 §12: a number or peer that was bound cannot be rebound differently for 5 minutes. */
  readonly channelCooldown = new Map<number, { peerKey: string; until: number }>();
  readonly toPeer: ByteBucket;
  readonly toClient: ByteBucket;
  /** The Allocate that created this allocation, for retransmissions (RFC 8656 §7.2). */
  readonly allocateTransactionId: string;
  readonly allocateResponse: Buffer;
  /** Transaction IDs of Data indications: a random prefix and a counter (no per-packet crypto). */
  readonly #dataTid = randomBytes(12);
  readonly #addressBytes = new Map<string, Uint8Array>();
  #dataCounter = 0;
  #closed = false;

  constructor(init: {
    link: ClientLink;
    username: string;
    integrityKey: Buffer;
    relay: DatagramSocket;
    relayPort: number;
    relayed: TransportAddress;
    family: 4 | 6;
    expiresAt: number;
    bandwidthBps: number;
    allocateTransactionId: string;
    allocateResponse: Buffer;
  }) {
    this.link = init.link;
    this.username = init.username;
    this.integrityKey = init.integrityKey;
    this.relay = init.relay;
    this.relayPort = init.relayPort;
    this.relayed = init.relayed;
    this.family = init.family;
    this.expiresAt = init.expiresAt;
    this.toPeer = new ByteBucket(init.bandwidthBps);
    this.toClient = new ByteBucket(init.bandwidthBps);
    this.allocateTransactionId = init.allocateTransactionId;
    this.allocateResponse = init.allocateResponse;
  }

  get closed(): boolean {
    return this.#closed;
  }

  nextDataTransactionId(): Buffer {
    this.#dataCounter = (this.#dataCounter + 1) >>> 0;
    this.#dataTid.writeUInt32BE(this.#dataCounter, 8);
    return this.#dataTid;
  }

  /** The peer IP's bytes for Data indication headers, parsed once per permitted peer. */
  addressBytes(ip: string): Uint8Array | undefined {
    let bytes = this.#addressBytes.get(ip);
    if (bytes === undefined) {
      bytes = ipToBytes(ip);
      // Only permitted peers reach here, and sweep() forgets them with their permission.
      if (bytes !== undefined) this.#addressBytes.set(ip, bytes);
    }
    return bytes;
  }

  /** Installs `binding` in both peer indexes (the caller keeps `channels` by number). */
  bindChannel(binding: ChannelBinding): void {
    this.channelsByPeer.set(binding.peerKey, binding);
    let byIp = this.#channelsByPort.get(binding.peer.port);
    if (byIp === undefined) {
      byIp = new Map();
      this.#channelsByPort.set(binding.peer.port, byIp);
    }
    byIp.set(binding.peer.address, binding);
  }

  /** Removes `binding` from both peer indexes, if it is the one installed there. */
  unbindChannel(binding: ChannelBinding): void {
    if (this.channelsByPeer.get(binding.peerKey) === binding) this.channelsByPeer.delete(binding.peerKey);
    const byIp = this.#channelsByPort.get(binding.peer.port);
    if (byIp?.get(binding.peer.address) === binding) {
      byIp.delete(binding.peer.address);
      if (byIp.size === 0) this.#channelsByPort.delete(binding.peer.port);
    }
  }

  /** The channel bound to a peer (hot path: no allocation without channels pays a lookup). */
  channelFor(ip: string, port: number): ChannelBinding | undefined {
    if (this.channels.size === 0) return undefined;
    return this.#channelsByPort.get(port)?.get(ip);
  }

  hasPermission(ip: string, now: number): boolean {
    const until = this.permissions.get(ip);
    return until !== undefined && until > now;
  }

  /** Drops expired permissions and channels (called by the server's sweep). */
  sweep(now: number): void {
    for (const [ip, until] of this.permissions) {
      if (until <= now) {
        this.permissions.delete(ip);
        this.#addressBytes.delete(ip);
      }
    }
    for (const [number, channel] of this.channels) {
      if (channel.expiresAt <= now) {
        this.channels.delete(number);
        this.unbindChannel(channel);
      }
    }
    for (const [number, cooldown] of this.channelCooldown) if (cooldown.until <= now) this.channelCooldown.delete(number);
  }

  /** Closes the relay socket and stops the timer. Idempotent. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    void this.relay.close();
    return true;
  }
}
