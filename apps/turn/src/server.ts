import { once } from 'node:events';
import { createServer as createTcpServer, isIP, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createSecureContext, createServer as createTlsServer, TLSSocket, type SecureContext, type Server as TlsServer } from 'node:tls';
import { canonicalIp, familyOf, unmapIp, type TransportAddress } from './address.js';
import { TurnAllocation, type ChannelBinding, type ClientLink, type ClientTransport } from './allocation.js';
import { RestAuthenticator } from './auth.js';
import { TurnCounters, type RefusalReason, type TurnMetricsSnapshot } from './metrics.js';
import { PeerPolicy } from './peer-policy.js';
import { selectDataPath, type DataPath, type DataPathMode, type DatagramFactory, type DatagramSocket, type NativeBuildOptions } from './native-udp.js';
import { MAX_PROXY_HEADER, parseProxyHeader } from './proxy-protocol.js';
import { SourceRateLimiter } from './rate-limit.js';
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  ErrorCode,
  MessageClass,
  Method,
  TRANSPORT_UDP,
} from './stun/constants.js';
import {
  decodeStun,
  decodeXorAddress,
  encodeErrorCode,
  encodeStun,
  encodeUInt32,
  encodeUnknownAttributes,
  encodeXorAddress,
  verifyIntegrity,
  type StunMessage,
} from './stun/codec.js';
import { dataIndicationHeaderLength, isSendIndication, parseSendIndication, writeDataIndicationHeader } from './stun/datapath.js';

/** Minimal logger surface (pino's), so the relay runs with or without @hummingbird/service. */
export interface TurnLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface TurnServerOptions {
  listen: {
    /** Address of the UDP/TCP/TLS listeners; `::` is dual-stack. */
    host: string;
    /** 0 picks a free port. */
    udpPort: number;
    tcpPort: number;
    /** TLS listener (needs `tls`); absent = no TLS listener. */
    tlsPort?: number;
    /** Address of the TLS listener if not `host` (loopback behind nginx with the PROXY protocol). */
    tlsHost?: string;
    /** False: no UDP listener (cluster workers other than the first; docs/turn.md). Default true. */
    udp?: boolean;
  };
  realm: string;
  /** TURN REST API shared secrets; the first is current, all are accepted (rotation overlap). */
  secrets: string[];
  relay: {
    /** IPv4 (or IPv6) address relay sockets bind. */
    host: string;
    /** Optional second relay address of the other family (RFC 6156 REQUESTED-ADDRESS-FAMILY). */
    host6?: string;
    portMin: number;
    portMax: number;
  };
  /** Public IPv4 address reported in XOR-RELAYED-ADDRESS when the relay host is behind NAT. */
  externalIp?: string;
  /** Same for the IPv6 relay. */
  externalIp6?: string;
  /** CIDRs allowed despite the deny list (e.g. the bridge's private address). */
  allowPeers?: string[];
  /** CIDRs denied on top of the built-in list. */
  denyPeers?: string[];
  /**
   * The whole relay range when this process serves only a slice of it (cluster mode: the other
   * workers' slices). Hairpin traffic to those ports goes through the kernel to the relay host,
   * and traffic arriving from them is reported as coming from the external IP (docs/turn.md).
   */
  ownRelayRange?: { min: number; max: number };
  tls?: {
    cert: string;
    key: string;
    /** Expect a PROXY protocol header (v2, or v1 as stock nginx sends) before the TLS handshake. */
    proxyProtocol?: boolean;
  };
  lifetimes?: {
    /** Allocation lifetime when the client asks for less or nothing (RFC 8656: 600 s). */
    allocationDefaultSec?: number;
    /** Cap on a requested allocation lifetime (coturn: 3600 s). */
    allocationMaxSec?: number;
    /** RFC 8656 §9: 300 s. */
    permissionSec?: number;
    /** RFC 8656 §12: 600 s. */
    channelSec?: number;
    /** How long a nonce stays fresh before 438. */
    nonceSec?: number;
  };
  quotas?: {
    allocationsPerUser?: number;
    allocationsTotal?: number;
    permissionsPerAllocation?: number;
    channelsPerAllocation?: number;
    /** Per allocation and direction, bits per second; 0 = unlimited. */
    bandwidthBps?: number;
    /** Requests per second per source IP from clients without an allocation. */
    unauthenticatedPerSecond?: number;
    unauthenticatedBurst?: number;
    /** Bound on the rate-limit table (memory). */
    rateLimitEntries?: number;
    /** TCP+TLS connections at once. */
    maxConnections?: number;
    /** A connection without an allocation is closed after this long. */
    halfOpenTimeoutMs?: number;
  };
  socketBuffers?: {
    /** SO_RCVBUF/SO_SNDBUF of the UDP listener (coturn used 4 MB). */
    listenerBytes?: number;
    relayBytes?: number;
  };
  /**
   * UDP socket layer (docs/turn.md, "Data path"): `auto` (default) = the native batched one
   * (recvmmsg/sendmmsg addon, built at start) when it builds, else Node's dgram with a warning;
   * `native` = that or a NativeUdpUnavailableError; `dgram` = Node's dgram.
   */
  dataPath?: DataPathMode;
  /** Compiler and cache directory for the native data path (tests point these elsewhere). */
  nativeBuild?: NativeBuildOptions;
  logger?: TurnLogger;
}

export interface TurnServerHandle {
  readonly ports: { udp: number; tcp: number; tls?: number };
  /** The UDP socket layer in use (known after start). */
  readonly dataPath: DataPath;
  /** A fresh snapshot of the counters on every read. */
  readonly metrics: TurnMetricsSnapshot;
  /** Stops new allocations; resolves when the existing ones have ended (expiry or Refresh 0). */
  drain(): Promise<void>;
  /** Closes every listener, connection and relay socket. Idempotent. */
  close(): Promise<void>;
}

const NO_LOG: TurnLogger = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const MAX_STREAM_BACKLOG = 1 << 20;
const PROXY_HEADER_TIMEOUT_MS = 5_000;
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

type Resolved = Required<NonNullable<TurnServerOptions['lifetimes']>> & Required<NonNullable<TurnServerOptions['quotas']>> & {
  listenerBytes: number;
  relayBytes: number;
};

function resolve(options: TurnServerOptions): Resolved {
  const l = options.lifetimes ?? {};
  const q = options.quotas ?? {};
  const b = options.socketBuffers ?? {};
  return {
    allocationDefaultSec: l.allocationDefaultSec ?? 600,
    allocationMaxSec: l.allocationMaxSec ?? 3600,
    permissionSec: l.permissionSec ?? 300,
    channelSec: l.channelSec ?? 600,
    nonceSec: l.nonceSec ?? 600,
    allocationsPerUser: q.allocationsPerUser ?? 32,
    allocationsTotal: q.allocationsTotal ?? 10_000,
    permissionsPerAllocation: q.permissionsPerAllocation ?? 256,
    channelsPerAllocation: q.channelsPerAllocation ?? 256,
    bandwidthBps: q.bandwidthBps ?? 20_000_000,
    unauthenticatedPerSecond: q.unauthenticatedPerSecond ?? 50,
    unauthenticatedBurst: q.unauthenticatedBurst ?? 200,
    rateLimitEntries: q.rateLimitEntries ?? 65_536,
    maxConnections: q.maxConnections ?? 10_000,
    halfOpenTimeoutMs: q.halfOpenTimeoutMs ?? 30_000,
    listenerBytes: b.listenerBytes ?? 4 * 1024 * 1024,
    relayBytes: b.relayBytes ?? 1024 * 1024,
  };
}

function validate(options: TurnServerOptions): void {
  const { relay, listen } = options;
  if (!Number.isInteger(relay.portMin) || !Number.isInteger(relay.portMax) || relay.portMin < 1 || relay.portMax > 65_535 || relay.portMin > relay.portMax) {
    throw new TypeError(`relay port range must be 1..65535 with portMin <= portMax, got ${relay.portMin}-${relay.portMax}`);
  }
  if (isIP(relay.host) === 0) throw new TypeError(`relay.host must be an IP address, got ${relay.host}`);
  if (relay.host6 !== undefined && isIP(relay.host6) !== 6) throw new TypeError(`relay.host6 must be an IPv6 address, got ${relay.host6}`);
  if (isIP(listen.host) === 0) throw new TypeError(`listen.host must be an IP address, got ${listen.host}`);
  if (listen.tlsHost !== undefined && isIP(listen.tlsHost) === 0) throw new TypeError(`listen.tlsHost must be an IP address, got ${listen.tlsHost}`);
  if (options.externalIp !== undefined && isIP(options.externalIp) === 0) throw new TypeError(`externalIp must be an IP address`);
  if (options.externalIp6 !== undefined && isIP(options.externalIp6) !== 6) throw new TypeError(`externalIp6 must be an IPv6 address`);
  if (listen.tlsPort !== undefined && options.tls === undefined) throw new TypeError('listen.tlsPort needs tls.cert and tls.key');
  if (options.realm.length === 0) throw new TypeError('realm must not be empty');
  // Timers cap at 2^31 ms (≈ 24.8 days); a longer lifetime would fire at once.
  for (const [name, value] of Object.entries(options.lifetimes ?? {})) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 86_400)) throw new TypeError(`lifetimes.${name} must be an integer in 1..86400, got ${value}`);
  }
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** Request context: the client link plus what we know after authentication. */
interface Authenticated {
  username: string;
  key: Buffer;
}

/**
 * The relay. One instance owns its listeners, allocations and timers; `close()` releases all.
 * Hot paths (ChannelData and Send in, peer datagrams out) avoid the control codec entirely.
 */
export class TurnServer implements TurnServerHandle {
  readonly #options: TurnServerOptions;
  readonly #cfg: Resolved;
  readonly #log: TurnLogger;
  readonly #auth: RestAuthenticator;
  readonly #limiter: SourceRateLimiter;
  readonly #counters = new TurnCounters();
  #policy!: PeerPolicy;
  readonly #allocations = new Map<string, TurnAllocation>();
  /** UDP allocations by client port, then client address (as the socket reports it). */
  readonly #udpAllocations = new Map<number, Map<string, TurnAllocation>>();
  readonly #pendingAllocations = new Set<string>();
  readonly #perUser = new Map<string, number>();
  readonly #relayPortsInUse = new Set<number>();
  /** Live allocations by relay port (ports are unique across both families): hairpin delivery. */
  readonly #allocationsByRelayPort = new Map<number, TurnAllocation>();
  readonly #relayPortMin: number;
  readonly #relayPortMax: number;
  /** Own IPs as exact text, the cheap first test before the policy's notation-proof one. */
  readonly #ownIpText = new Set<string>();
  /** Canonical external IPs and bound relay hosts (hairpin checks compare canonical text). */
  readonly #externalIp: string | undefined;
  readonly #externalIp6: string | undefined;
  readonly #relayBound4: string | undefined;
  readonly #relayBound6: string | undefined;
  #relayCursor: number;
  /** Frames for native UDP links are built here (a datagram plus the largest TURN header). */
  readonly #scratch = Buffer.allocUnsafeSlow(65_536 + 64);
  #udp: DatagramSocket | undefined;
  #sockets: DatagramFactory | undefined;
  #tcp: TcpServer | undefined;
  #tls: TcpServer | TlsServer | undefined;
  readonly #streams = new Set<TcpSocket>();
  /** Keys of stream links whose connection is still open (an Allocate may finish after a close). */
  readonly #openStreamKeys = new Set<string>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #streamSerial = 0;
  #ports: { udp: number; tcp: number; tls?: number } = { udp: 0, tcp: 0 };
  #draining = false;
  #drainWaiters: Array<() => void> = [];
  #closing: Promise<void> | undefined;

  constructor(options: TurnServerOptions) {
    validate(options);
    this.#options = options;
    this.#cfg = resolve(options);
    this.#log = options.logger ?? NO_LOG;
    this.#auth = new RestAuthenticator({ realm: options.realm, secrets: options.secrets, nonceLifetimeSec: this.#cfg.nonceSec });
    this.#limiter = new SourceRateLimiter({ perSecond: this.#cfg.unauthenticatedPerSecond, burst: this.#cfg.unauthenticatedBurst, maxEntries: this.#cfg.rateLimitEntries });
    const span = options.relay.portMax - options.relay.portMin + 1;
    this.#relayCursor = options.relay.portMin + Math.floor(Math.random() * span);
    this.#relayPortMin = options.relay.portMin;
    this.#relayPortMax = options.relay.portMax;
    const canon = (ip: string | undefined): string | undefined => (ip === undefined ? undefined : (canonicalIp(ip) ?? ip));
    this.#externalIp = canon(options.externalIp);
    this.#externalIp6 = canon(options.externalIp6);
    this.#relayBound4 = canon(this.#relayHost(4));
    this.#relayBound6 = canon(this.#relayHost(6));
  }

  #relayBound(family: 4 | 6): string | undefined {
    return family === 4 ? this.#relayBound4 : this.#relayBound6;
  }

  get ports(): { udp: number; tcp: number; tls?: number } {
    return { ...this.#ports };
  }

  get dataPath(): DataPath {
    return this.#sockets?.kind ?? 'dgram';
  }

  get metrics(): TurnMetricsSnapshot {
    // Socket errors are counted by the socket layer; collect them at read time.
    let errors = this.#udp?.takeErrors() ?? 0;
    for (const allocation of this.#allocations.values()) errors += allocation.relay.takeErrors();
    this.#counters.drops['relay-send-error'] += errors;
    return this.#counters.snapshot({ allocations: this.#allocations.size, connections: this.#streams.size, draining: this.#draining, dataPath: this.dataPath });
  }

  get draining(): boolean {
    return this.#draining;
  }

  async start(): Promise<this> {
    const { listen } = this.#options;
    const v6 = familyOf(listen.host) === 6;
    // Throws NativeUdpUnavailableError for `dataPath: native` when the addon cannot be had.
    const selected = await selectDataPath(this.#options.dataPath ?? 'auto', this.#options.nativeBuild);
    this.#sockets = selected.factory;
    if (selected.fallbackReason !== undefined) {
      this.#log.warn({ reason: selected.fallbackReason }, 'turn: native UDP data path unavailable, using Node dgram');
    }
    try {
      if (listen.udp ?? true) {
        const udp: DatagramSocket = await selected.factory.open({
          family: v6 ? 6 : 4,
          host: listen.host,
          port: listen.udpPort,
          ipv6Only: false,
          recvBufferSize: this.#cfg.listenerBytes,
          sendBufferSize: this.#cfg.listenerBytes,
          // Never called before open() returned (datagrams arrive in later loop turns).
          onMessage: (msg, address, port) => this.#onUdp(udp, msg, address, port),
        });
        this.#udp = udp;
        this.#ports.udp = udp.port;
      }

      const tcp = createTcpServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
        this.#acceptStream(socket, 'tcp', { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
      });
      this.#tcp = tcp;
      tcp.maxConnections = this.#cfg.maxConnections;
      tcp.on('drop', () => this.#counters.drop('connection-limit'));
      tcp.listen({ port: listen.tcpPort, host: listen.host, ipv6Only: false });
      await once(tcp, 'listening');
      this.#ports.tcp = (tcp.address() as { port: number }).port;

      if (listen.tlsPort !== undefined && this.#options.tls !== undefined) {
        const context = createSecureContext({ cert: this.#options.tls.cert, key: this.#options.tls.key });
        const server = this.#options.tls.proxyProtocol === true ? this.#proxiedTlsServer(context) : this.#plainTlsServer(this.#options.tls);
        this.#tls = server;
        server.maxConnections = this.#cfg.maxConnections;
        server.on('drop', () => this.#counters.drop('connection-limit'));
        server.listen({ port: listen.tlsPort, host: listen.tlsHost ?? listen.host, ipv6Only: false });
        await once(server, 'listening');
        this.#ports.tls = (server.address() as { port: number }).port;
      }
    } catch (error) {
      await this.close();
      throw error;
    }

    const ownIps = new Set<string>([listen.host, listen.tlsHost ?? listen.host, this.#options.relay.host, '0.0.0.0', '::']);
    if (this.#options.relay.host6 !== undefined) ownIps.add(this.#options.relay.host6);
    if (this.#options.externalIp !== undefined) ownIps.add(this.#options.externalIp);
    if (this.#options.externalIp6 !== undefined) ownIps.add(this.#options.externalIp6);
    for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) ownIps.add(info.address);
    const listeners = [listen.udpPort, this.#ports.udp, this.#ports.tcp, ...(this.#ports.tls === undefined ? [] : [this.#ports.tls])].filter((p) => p > 0);
    this.#policy = new PeerPolicy({
      allow: this.#options.allowPeers,
      deny: this.#options.denyPeers,
      ownIps: [...ownIps],
      ownPorts: { listeners },
    });
    for (const ip of ownIps) this.#ownIpText.add(ip);
    const sweepMs = Math.max(250, Math.min(10_000, (Math.min(this.#cfg.permissionSec, this.#cfg.channelSec) * 1000) / 4));
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepMs);
    this.#sweepTimer.unref();
    this.#log.info({ ports: this.#ports, dataPath: this.dataPath, relay: { host: this.#options.relay.host, host6: this.#options.relay.host6 } }, 'turn: listening');
    return this;
  }

  drain(): Promise<void> {
    this.#draining = true;
    if (this.#allocations.size === 0 && this.#pendingAllocations.size === 0) return Promise.resolve();
    return new Promise((resolveDrain) => this.#drainWaiters.push(resolveDrain));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#draining = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    for (const allocation of [...this.#allocations.values()]) this.#release(allocation, 'server-closed');
    for (const socket of this.#streams) socket.destroy();
    const closing: Array<Promise<unknown>> = [];
    if (this.#udp !== undefined) {
      const udp = this.#udp;
      closing.push(udp.close());
    }
    for (const server of [this.#tcp, this.#tls]) {
      if (server?.listening === true) closing.push(new Promise<void>((done) => server.close(() => done())));
    }
    await Promise.all(closing);
    for (const waiter of this.#drainWaiters.splice(0)) waiter();
  }

  // -------------------------------------------------------------------------------------------
  // Listeners

  #plainTlsServer(material: { cert: string; key: string }): TlsServer {
    const server = createTlsServer({ cert: material.cert, key: material.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, (socket) => {
      this.#acceptStream(socket, 'tls', { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
    });
    server.on('tlsClientError', () => undefined);
    return server;
  }

  /** A TCP server that reads the PROXY header (v2 or v1), then runs TLS on the rest of the stream. */
  #proxiedTlsServer(context: SecureContext): TcpServer {
    return createTcpServer({ noDelay: true }, (raw) => {
      raw.on('error', () => undefined);
      let buffered: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => fail(), PROXY_HEADER_TIMEOUT_MS);
      const fail = (): void => {
        clearTimeout(timer);
        raw.removeListener('data', onData);
        this.#counters.drop('proxy-header');
        raw.destroy();
      };
      const onData = (chunk: Buffer): void => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const header = parseProxyHeader(buffered);
        if (header === 'incomplete') {
          if (buffered.length > MAX_PROXY_HEADER) fail();
          return;
        }
        if (header === 'invalid') return fail();
        clearTimeout(timer);
        raw.removeListener('data', onData);
        raw.pause();
        const rest = buffered.subarray(header.length);
        if (rest.length > 0) raw.unshift(rest);
        const remote =
          header.kind === 'proxy' ? { address: header.sourceAddress, port: header.sourcePort } : { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
        const tlsSocket = new TLSSocket(raw, { isServer: true, secureContext: context });
        const handshake = setTimeout(() => tlsSocket.destroy(), TLS_HANDSHAKE_TIMEOUT_MS);
        tlsSocket.on('error', () => undefined);
        tlsSocket.once('close', () => clearTimeout(handshake));
        tlsSocket.once('secure', () => {
          clearTimeout(handshake);
          this.#acceptStream(tlsSocket, 'tls', remote);
        });
      };
      raw.on('data', onData);
    });
  }

  #acceptStream(socket: TcpSocket, transport: ClientTransport, remote: { address: string; port: number }): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    this.#streams.add(socket);
    socket.setNoDelay(true);
    const clientIp = canonicalIp(unmapIp(remote.address)) ?? remote.address;
    const client: TransportAddress = { family: familyOf(clientIp), address: clientIp, port: remote.port };
    const key = `${transport}|${clientIp}|${remote.port}|#${++this.#streamSerial}`;
    const link: ClientLink = {
      transport,
      key,
      client,
      stream: true,
      send: (parts) => {
        if (socket.writableLength > MAX_STREAM_BACKLOG || !socket.writable) {
          this.#counters.drop('backpressure');
          return;
        }
        if (parts.length === 1) {
          socket.write(parts[0]!);
          return;
        }
        socket.cork();
        for (const part of parts) socket.write(part);
        socket.uncork();
      },
      sendOne: (frame) => {
        if (socket.writableLength > MAX_STREAM_BACKLOG || !socket.writable) {
          this.#counters.drop('backpressure');
          return;
        }
        socket.write(frame);
      },
    };
    const halfOpen = setTimeout(() => {
      if (!this.#allocations.has(key)) {
        this.#counters.drop('half-open-timeout');
        socket.destroy();
      }
    }, this.#cfg.halfOpenTimeoutMs);
    this.#openStreamKeys.add(key);
    let pending: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      let offset = 0;
      // RFC 8656 §12.5: STUN messages and ChannelData share the stream; the first two bits tell.
      while (buf.length - offset >= 4) {
        const kind = buf[offset]! & 0xc0;
        const length = buf.readUInt16BE(offset + 2);
        let frame: number;
        let total: number;
        if (kind === 0) {
          if (length % 4 !== 0) return this.#streamError(socket);
          frame = total = 20 + length;
        } else if (kind === 0x40) {
          frame = 4 + length;
          total = 4 + ((length + 3) & ~3);
        } else {
          return this.#streamError(socket);
        }
        if (buf.length - offset < total) break;
        const message = buf.subarray(offset, offset + frame);
        offset += total;
        if (kind === 0x40) this.#fromClientChannelData(this.#allocations.get(key), message);
        else this.#onStunFromClient(link, message);
        if (socket.destroyed) return;
      }
      if (offset < buf.length) pending = buf.subarray(offset);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      // A frame cut short by the close is a dropped frame too.
      if (pending !== undefined) this.#counters.drop('truncated');
      clearTimeout(halfOpen);
      this.#streams.delete(socket);
      this.#openStreamKeys.delete(key);
      const allocation = this.#allocations.get(key);
      if (allocation !== undefined) this.#release(allocation, 'connection-closed');
    });
  }

  #streamError(socket: TcpSocket): void {
    this.#counters.drop('stream-framing');
    socket.destroy();
  }

  /** One datagram on the UDP listener from `address`:`port` (the socket layer's text). */
  #onUdp(udp: DatagramSocket, msg: Buffer, address: string, port: number): void {
    const first = msg.length > 0 ? msg[0]! : 0xff;
    // Hot path: find the allocation by port, then address, without building a key string.
    if ((first & 0xc0) === 0x40) {
      this.#fromClientChannelData(this.#udpAllocations.get(port)?.get(address), msg);
      return;
    }
    if (isSendIndication(msg)) {
      this.#fromClientSend(this.#udpAllocations.get(port)?.get(address), msg);
      return;
    }
    const key = `udp|${address}|${port}`;
    const clientIp = unmapIp(address);
    const client: TransportAddress = { family: familyOf(clientIp), address: clientIp, port };
    const scratch = udp.prepare(port, address);
    this.#onStunFromClient(
      {
        transport: 'udp',
        key,
        client,
        stream: false,
        send: (parts) => udp.sendParts(parts, port, address),
        // A single buffer skips dgram's buffer-list handling.
        sendOne: (frame) => udp.send(frame, port, address),
        ...(scratch !== undefined ? { sendScratch: scratch } : {}),
        udpSource: { address, port },
      },
      // The native layer's buffer is reused for the next batch; the control plane may keep
      // views into a request past an await (Allocate), so it gets its own copy.
      udp.kind === 'native' ? Buffer.from(msg) : msg,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Data path

  #fromClientChannelData(allocation: TurnAllocation | undefined, msg: Buffer): void {
    if (allocation === undefined) return this.#counters.drop('no-allocation');
    if (msg.length < 4) return this.#counters.drop('bad-channel-data');
    const number = msg.readUInt16BE(0);
    const length = msg.readUInt16BE(2);
    // Over UDP the datagram may carry padding (RFC 8656 §12.5) but never less than announced.
    if (length > msg.length - 4 || msg.length - 4 - length > 3) return this.#counters.drop('bad-channel-data');
    const channel = allocation.channels.get(number);
    const now = Date.now();
    if (channel === undefined || channel.expiresAt <= now) return this.#counters.drop('no-channel');
    if (!allocation.hasPermission(channel.peer.address, now)) return this.#counters.drop('no-permission');
    if (!allocation.toPeer.take(length, now)) return this.#counters.drop('bandwidth');
    this.#toPeer(allocation, msg.subarray(4, 4 + length), channel.peer.port, channel.peer.address);
  }

  #fromClientSend(allocation: TurnAllocation | undefined, msg: Buffer): void {
    if (allocation === undefined) return this.#counters.drop('no-allocation');
    const send = parseSendIndication(msg);
    if (typeof send === 'string') return this.#counters.drop(send);
    if (send.family !== allocation.family) return this.#counters.drop('denied-peer');
    const now = Date.now();
    // Permissions are only ever installed for allowed IPs; the port check stops relaying into
    // our own listener ports on an allow-listed IP (spec/turn.md §4.2 item 6; relay ports are
    // allowed, see #toPeer).
    if (!allocation.hasPermission(send.address, now)) return this.#counters.drop('no-permission');
    if (this.#policy.isOwnAddress(send.address, send.port)) return this.#counters.drop('denied-peer');
    if (!allocation.toPeer.take(send.data.length, now)) return this.#counters.drop('bandwidth');
    this.#toPeer(allocation, send.data, send.port, send.address);
  }

  #toPeer(allocation: TurnAllocation, payload: Buffer, port: number, address: string): void {
    this.#counters.toPeerPackets++;
    this.#counters.toPeerBytes += payload.length;
    // Hairpin: the peer is another allocation of this relay (two relay-only browsers on one
    // server). Handed over in process, as if it had arrived on the target's relay socket from our
    // relayed address as the clients know it (XOR-RELAYED-ADDRESS, external IP included): no
    // syscall pair, works when the external IP is not reachable from inside, and the target's
    // own permission check (#fromPeer) decides as for any peer. The range check keeps this off
    // the ordinary path.
    if (port >= this.#relayPortMin && port <= this.#relayPortMax) {
      const target = this.#allocationsByRelayPort.get(port);
      if (target !== undefined && target.family === allocation.family && this.#isRelayIp(address, target.family)) {
        return this.#fromPeer(target, payload, allocation.relayed.address, allocation.relayed.port);
      }
      // Our external IP on a relay port with no live allocation behind it: nobody to deliver to,
      // and the NAT in front of us must not be sent traffic on its behalf.
      if (address === (allocation.family === 4 ? this.#externalIp : this.#externalIp6)) return this.#counters.drop('no-allocation');
    }
    const sibling = this.#options.ownRelayRange;
    if (sibling !== undefined && port >= sibling.min && port <= sibling.max && this.#isOwnIp(address)) {
      // Another worker's allocation: reach its socket where it is bound, not via the external IP.
      const host = this.#relayHost(allocation.family);
      if (host !== undefined && !isWildcard(host)) address = host;
    }
    // Send errors (ICMP unreachable, full buffers) are counted by the socket layer.
    allocation.relay.send(payload, port, address);
  }

  #isOwnIp(address: string): boolean {
    return this.#ownIpText.has(address) || this.#policy.isOwnIp(address);
  }

  /** Whether `address` names where our relay sockets of `family` are: the advertised (external) or bound IP, any own IP when bound to the wildcard. */
  #isRelayIp(address: string, family: 4 | 6): boolean {
    if (address === (family === 4 ? this.#externalIp : this.#externalIp6)) return true;
    const host = this.#relayHost(family);
    if (host === undefined) return false;
    return isWildcard(host) ? this.#isOwnIp(address) : address === this.#relayBound(family);
  }

  #fromRelaySocket(allocation: TurnAllocation, msg: Buffer, address: string, port: number): void {
    let peerIp = allocation.family === 4 ? address : (canonicalIp(address) ?? address);
    const sibling = this.#options.ownRelayRange;
    if (sibling !== undefined && port >= sibling.min && port <= sibling.max && peerIp === this.#relayHost(allocation.family)) {
      // From another worker's allocation (hairpin through the kernel): the client knows that
      // allocation by its XOR-RELAYED-ADDRESS, so name it the same way.
      const external = allocation.family === 4 ? this.#options.externalIp : this.#options.externalIp6;
      if (external !== undefined) peerIp = canonicalIp(external) ?? external;
    }
    this.#fromPeer(allocation, msg, peerIp, port);
  }

  /** A datagram for the client of `allocation` from peer `peerIp`:`peerPort` (canonical text). */
  #fromPeer(allocation: TurnAllocation, msg: Buffer, peerIp: string, peerPort: number): void {
    const now = Date.now();
    if (!allocation.hasPermission(peerIp, now)) return this.#counters.drop('no-permission');
    if (!allocation.toClient.take(msg.length, now)) return this.#counters.drop('bandwidth');
    const link = allocation.link;
    const length = msg.length;
    const channel = allocation.channelFor(peerIp, peerPort);
    // Native UDP copies the frame into its send queue: build it in one reused buffer.
    const scratch = link.sendScratch;
    // The peer's bytes are copied as they came behind our header, never parsed (spec/turn.md §3).
    // One buffer per frame: a 4-to-48-byte header plus a payload copy was ≈ 0.5 µs cheaper per
    // send than dgram's buffer-list path in a micro-benchmark (within noise in `pnpm bench`).
    if (channel !== undefined && channel.expiresAt > now) {
      // Padding to 4 bytes only on streams (RFC 8656 §12.5).
      const total = 4 + (link.stream ? (length + 3) & ~3 : length);
      const frame = scratch !== undefined ? this.#scratch : Buffer.allocUnsafe(total);
      frame.writeUInt16BE(channel.number, 0);
      frame.writeUInt16BE(length, 2);
      msg.copy(frame, 4);
      if (total > 4 + length) frame.fill(0, 4 + length, total);
      if (scratch !== undefined) scratch(frame, total);
      else link.sendOne(frame);
    } else {
      const bytes = allocation.addressBytes(peerIp);
      if (bytes === undefined) return this.#counters.drop('no-permission');
      const headerLength = dataIndicationHeaderLength(allocation.family);
      const total = headerLength + ((length + 3) & ~3);
      const frame = scratch !== undefined ? this.#scratch : Buffer.allocUnsafe(total);
      writeDataIndicationHeader(frame, allocation.family, bytes, peerPort, length, allocation.nextDataTransactionId());
      msg.copy(frame, headerLength);
      if (total > headerLength + length) frame.fill(0, headerLength + length, total);
      if (scratch !== undefined) scratch(frame, total);
      else link.sendOne(frame);
    }
    this.#counters.toClientPackets++;
    this.#counters.toClientBytes += msg.length;
  }

  // -------------------------------------------------------------------------------------------
  // Control plane

  #onStunFromClient(link: ClientLink, raw: Buffer): void {
    if (isSendIndication(raw)) return this.#fromClientSend(this.#allocations.get(link.key), raw);
    const decoded = decodeStun(raw);
    if (!decoded.ok) return this.#counters.drop(decoded.reason);
    const message = decoded.message;
    if (message.cls !== MessageClass.Request) return this.#counters.drop('unexpected-class');
    const allocation = this.#allocations.get(link.key);
    // Clients without an allocation are unauthenticated so far: rate-limited per source IP.
    if (allocation === undefined && !this.#limiter.take(link.client.address)) return this.#counters.drop('rate-limited');
    this.#counters.requests++;

    if (message.method === Method.Binding) {
      if (message.unknownRequired.length > 0) return this.#unknownAttributes(link, message, undefined);
      return this.#reply(link, message, MessageClass.Success, [[Attr.XorMappedAddress, encodeXorAddress(link.client, message.transactionId)]], undefined);
    }
    if (message.method !== Method.Allocate && message.method !== Method.Refresh && message.method !== Method.CreatePermission && message.method !== Method.ChannelBind) {
      return this.#error(link, message, ErrorCode.BadRequest, 'bad-request', undefined);
    }
    const auth = this.#authenticate(link, message);
    if (auth === undefined) return;
    if (message.unknownRequired.length > 0) return this.#unknownAttributes(link, message, auth.key);
    // RFC 8656 §7.2: an Allocate on a 5-tuple that has an allocation is 437 whoever asks (checked
    // in #allocate); 441 is for the other requests of another user on it.
    if (allocation !== undefined && allocation.username !== auth.username && message.method !== Method.Allocate) {
      return this.#error(link, message, ErrorCode.WrongCredentials, 'wrong-credentials', auth.key);
    }
    switch (message.method) {
      case Method.Allocate:
        return void this.#allocate(link, message, auth, allocation);
      case Method.Refresh:
        return this.#refresh(link, message, auth, allocation);
      case Method.CreatePermission:
        return this.#createPermission(link, message, auth, allocation);
      default:
        return this.#channelBind(link, message, auth, allocation);
    }
  }

  /** Long-term credentials with REST usernames (RFC 8489 §9.2); answers the failures itself. */
  #authenticate(link: ClientLink, message: StunMessage): Authenticated | undefined {
    if (message.integrityOffset < 0) return this.#challenge(link, message, ErrorCode.Unauthorized, 'unauthorized');
    const username = message.attributes.get(Attr.Username);
    const realm = message.attributes.get(Attr.Realm);
    const nonce = message.attributes.get(Attr.Nonce);
    if (username === undefined || realm === undefined || nonce === undefined) {
      return this.#error(link, message, ErrorCode.BadRequest, 'bad-request', undefined);
    }
    const nonceCheck = this.#auth.checkNonce(nonce.toString('latin1'), link.client.address);
    if (nonceCheck !== 'ok') return this.#challenge(link, message, ErrorCode.StaleNonce, 'stale-nonce');
    if (realm.toString('utf8') !== this.#auth.realm) return this.#challenge(link, message, ErrorCode.Unauthorized, 'unauthorized');
    const name = username.toString('utf8');
    const credentials = this.#auth.credentials(name);
    if (!credentials.ok) return this.#challenge(link, message, ErrorCode.Unauthorized, 'unauthorized');
    for (const key of credentials.keys) {
      if (verifyIntegrity(message, key)) return { username: name, key };
    }
    return this.#challenge(link, message, ErrorCode.Unauthorized, 'unauthorized');
  }

  #challenge(link: ClientLink, message: StunMessage, code: number, reason: RefusalReason): undefined {
    this.#counters.refuse(reason);
    this.#send(link, message.method, MessageClass.Error, message.transactionId, [
      [Attr.ErrorCode, encodeErrorCode(code)],
      [Attr.Realm, Buffer.from(this.#auth.realm, 'utf8')],
      [Attr.Nonce, Buffer.from(this.#auth.makeNonce(link.client.address), 'latin1')],
    ], undefined);
    return undefined;
  }

  #unknownAttributes(link: ClientLink, message: StunMessage, key: Buffer | undefined): void {
    this.#counters.refuse('unknown-attribute');
    this.#send(link, message.method, MessageClass.Error, message.transactionId, [
      [Attr.ErrorCode, encodeErrorCode(ErrorCode.UnknownAttribute)],
      [Attr.UnknownAttributes, encodeUnknownAttributes(message.unknownRequired.slice(0, 16))],
    ], key);
  }

  #error(link: ClientLink, message: StunMessage, code: number, reason: RefusalReason, key: Buffer | undefined): undefined {
    this.#counters.refuse(reason);
    this.#send(link, message.method, MessageClass.Error, message.transactionId, [[Attr.ErrorCode, encodeErrorCode(code)]], key);
    return undefined;
  }

  #reply(link: ClientLink, message: StunMessage, cls: 2 | 3, attributes: Array<readonly [number, Buffer]>, key: Buffer | undefined): void {
    this.#send(link, message.method, cls, message.transactionId, attributes, key);
  }

  #send(link: ClientLink, method: number, cls: 2 | 3, transactionId: Buffer, attributes: Array<readonly [number, Buffer]>, key: Buffer | undefined): Buffer {
    const out = encodeStun(method, cls, transactionId, attributes, { integrityKey: key });
    link.send([out]);
    return out;
  }

  #lifetimeFrom(message: StunMessage): number {
    const value = message.attributes.get(Attr.Lifetime);
    const requested = value !== undefined && value.length === 4 ? value.readUInt32BE(0) : this.#cfg.allocationDefaultSec;
    return Math.max(this.#cfg.allocationDefaultSec, Math.min(requested, this.#cfg.allocationMaxSec));
  }

  async #allocate(link: ClientLink, message: StunMessage, auth: Authenticated, existing: TurnAllocation | undefined): Promise<void> {
    const tid = message.transactionId.toString('hex');
    if (existing !== undefined) {
      // A retransmission gets the original answer; anything else on this 5-tuple is 437.
      if (existing.allocateTransactionId === tid && existing.username === auth.username) return void link.send([existing.allocateResponse]);
      return void this.#error(link, message, ErrorCode.AllocationMismatch, 'allocation-mismatch', auth.key);
    }
    if (this.#pendingAllocations.has(link.key)) return; // its answer is on the way
    if (this.#draining) return void this.#error(link, message, ErrorCode.InsufficientCapacity, 'draining', auth.key);
    const transport = message.attributes.get(Attr.RequestedTransport);
    if (transport === undefined || transport.length !== 4) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    if (transport[0] !== TRANSPORT_UDP) return void this.#error(link, message, ErrorCode.UnsupportedTransportProtocol, 'unsupported-transport', auth.key);
    const familyAttr = message.attributes.get(Attr.RequestedAddressFamily);
    const reservation = message.attributes.get(Attr.ReservationToken);
    if (reservation !== undefined) {
      // We never hand out reservation tokens (EVEN-PORT's R bit is not honoured), so none is valid.
      if (familyAttr !== undefined || reservation.length !== 8) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
      return void this.#error(link, message, ErrorCode.InsufficientCapacity, 'insufficient-capacity', auth.key);
    }
    let family: 4 | 6 = 4;
    if (familyAttr !== undefined) {
      if (familyAttr.length !== 4) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
      if (familyAttr[0] === 0x01) family = 4;
      else if (familyAttr[0] === 0x02) family = 6;
      else return void this.#error(link, message, ErrorCode.AddressFamilyNotSupported, 'address-family', auth.key);
    }
    const relayHost = this.#relayHost(family);
    if (relayHost === undefined) return void this.#error(link, message, ErrorCode.AddressFamilyNotSupported, 'address-family', auth.key);
    const evenPort = message.attributes.get(Attr.EvenPort);
    if (evenPort !== undefined && evenPort.length !== 1) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    const userCount = this.#perUser.get(auth.username) ?? 0;
    if (userCount >= this.#cfg.allocationsPerUser) return void this.#error(link, message, ErrorCode.AllocationQuotaReached, 'quota-user', auth.key);
    if (this.#allocations.size + this.#pendingAllocations.size >= this.#cfg.allocationsTotal) {
      return void this.#error(link, message, ErrorCode.AllocationQuotaReached, 'quota-total', auth.key);
    }
    const lifetime = this.#lifetimeFrom(message);

    // The message is a view into the received buffer; keep what we need past the await.
    const transactionId = Buffer.from(message.transactionId);
    this.#pendingAllocations.add(link.key);
    this.#perUser.set(auth.username, userCount + 1);
    let relay: { socket: DatagramSocket; port: number } | undefined;
    // Datagrams that arrive before the allocation exists have nobody to go to (as with a dgram
    // socket that has no 'message' listener yet).
    const owner: { allocation?: TurnAllocation } = {};
    try {
      relay = await this.#bindRelay(family, relayHost, evenPort !== undefined, (msg, address, port) => {
        if (owner.allocation !== undefined) this.#fromRelaySocket(owner.allocation, msg, address, port);
      });
    } finally {
      this.#pendingAllocations.delete(link.key);
    }
    if (relay === undefined || this.#closing !== undefined || (link.stream && !this.#streamOpen(link))) {
      if (relay !== undefined) void relay.socket.close();
      this.#decrementUser(auth.username);
      this.#notifyDrain();
      if (relay === undefined) {
        this.#counters.refuse('insufficient-capacity');
        this.#send(link, Method.Allocate, MessageClass.Error, transactionId, [[Attr.ErrorCode, encodeErrorCode(ErrorCode.InsufficientCapacity)]], auth.key);
      }
      return;
    }
    const external = family === 4 ? this.#options.externalIp : this.#options.externalIp6;
    const relayedIp = external ?? (isWildcard(relayHost) ? this.#guessLocalIp(family) : relayHost);
    const relayed: TransportAddress = { family, address: canonicalIp(relayedIp) ?? relayedIp, port: relay.port };
    const response = encodeStun(
      Method.Allocate,
      MessageClass.Success,
      transactionId,
      [
        [Attr.XorRelayedAddress, encodeXorAddress(relayed, transactionId)],
        [Attr.Lifetime, encodeUInt32(lifetime)],
        [Attr.XorMappedAddress, encodeXorAddress(link.client, transactionId)],
      ],
      { integrityKey: auth.key },
    );
    const allocation = new TurnAllocation({
      link,
      username: auth.username,
      integrityKey: auth.key,
      relay: relay.socket,
      relayPort: relay.port,
      relayed,
      family,
      expiresAt: Date.now() + lifetime * 1000,
      bandwidthBps: this.#cfg.bandwidthBps,
      allocateTransactionId: tid,
      allocateResponse: response,
    });
    owner.allocation = allocation;
    this.#allocationsByRelayPort.set(relay.port, allocation);
    this.#allocations.set(link.key, allocation);
    if (link.udpSource !== undefined) {
      const byAddress = this.#udpAllocations.get(link.udpSource.port) ?? new Map<string, TurnAllocation>();
      byAddress.set(link.udpSource.address, allocation);
      this.#udpAllocations.set(link.udpSource.port, byAddress);
    }
    this.#armExpiry(allocation, lifetime);
    this.#counters.allocationsCreated++;
    link.send([response]);
  }

  #streamOpen(link: ClientLink): boolean {
    return this.#openStreamKeys.has(link.key);
  }

  #refresh(link: ClientLink, message: StunMessage, auth: Authenticated, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return void this.#error(link, message, ErrorCode.AllocationMismatch, 'allocation-mismatch', auth.key);
    const familyAttr = message.attributes.get(Attr.RequestedAddressFamily);
    if (familyAttr !== undefined && familyAttr[0] !== (allocation.family === 4 ? 0x01 : 0x02)) {
      return void this.#error(link, message, ErrorCode.PeerAddressFamilyMismatch, 'peer-address-family', auth.key);
    }
    const value = message.attributes.get(Attr.Lifetime);
    const requested = value !== undefined && value.length === 4 ? value.readUInt32BE(0) : undefined;
    if (requested === 0) {
      this.#release(allocation, 'refresh-0');
      this.#reply(link, message, MessageClass.Success, [[Attr.Lifetime, encodeUInt32(0)]], auth.key);
      return;
    }
    const lifetime = this.#lifetimeFrom(message);
    allocation.expiresAt = Date.now() + lifetime * 1000;
    this.#armExpiry(allocation, lifetime);
    this.#reply(link, message, MessageClass.Success, [[Attr.Lifetime, encodeUInt32(lifetime)]], auth.key);
  }

  /** Decodes and polices one XOR-PEER-ADDRESS; answers the error itself and returns undefined. */
  #peerFrom(link: ClientLink, message: StunMessage, value: Buffer | undefined, auth: Authenticated, allocation: TurnAllocation, checkPort: boolean): TransportAddress | undefined {
    const peer = value === undefined ? undefined : decodeXorAddress(value, message.transactionId);
    if (peer === undefined) return this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    if (peer.family !== allocation.family) return this.#error(link, message, ErrorCode.PeerAddressFamilyMismatch, 'peer-address-family', auth.key);
    // CreatePermission is per IP (RFC 8656 §9: the port is ignored); ChannelBind names a port,
    // and our own listener ports are refused even on an allow-listed IP (relay ports are not:
    // hairpin relaying, docs/turn.md "Peer policy").
    const verdict = checkPort ? this.#policy.check(peer) : this.#policy.checkIp(peer.address);
    if (verdict !== 'allowed') return this.#error(link, message, ErrorCode.Forbidden, 'forbidden-peer', auth.key);
    return peer;
  }

  #createPermission(link: ClientLink, message: StunMessage, auth: Authenticated, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return void this.#error(link, message, ErrorCode.AllocationMismatch, 'allocation-mismatch', auth.key);
    if (message.peerAddresses.length === 0) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    const peers: TransportAddress[] = [];
    // All or nothing (RFC 8656 §10.2): one refused peer refuses the whole request.
    for (const value of message.peerAddresses) {
      const peer = this.#peerFrom(link, message, value, auth, allocation, false);
      if (peer === undefined) return;
      peers.push(peer);
    }
    const now = Date.now();
    const fresh = peers.filter((p) => !allocation.permissions.has(p.address)).length;
    if (allocation.permissions.size + fresh > this.#cfg.permissionsPerAllocation) {
      allocation.sweep(now);
      if (allocation.permissions.size + fresh > this.#cfg.permissionsPerAllocation) {
        return void this.#error(link, message, ErrorCode.InsufficientCapacity, 'insufficient-capacity', auth.key);
      }
    }
    for (const peer of peers) allocation.permissions.set(peer.address, now + this.#cfg.permissionSec * 1000);
    this.#reply(link, message, MessageClass.Success, [], auth.key);
  }

  #channelBind(link: ClientLink, message: StunMessage, auth: Authenticated, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return void this.#error(link, message, ErrorCode.AllocationMismatch, 'allocation-mismatch', auth.key);
    const numberAttr = message.attributes.get(Attr.ChannelNumber);
    const number = numberAttr !== undefined && numberAttr.length === 4 ? numberAttr.readUInt16BE(0) : -1;
    if (number < CHANNEL_MIN || number > CHANNEL_MAX) return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    const peer = this.#peerFrom(link, message, message.attributes.get(Attr.XorPeerAddress), auth, allocation, true);
    if (peer === undefined) return;
    const now = Date.now();
    const peerKey = `${peer.address}|${peer.port}`;
    const byNumber = allocation.channels.get(number);
    const byPeer = allocation.channelsByPeer.get(peerKey);
    // RFC 8656 §11.2: a number is bound to one peer and a peer to one number for the binding's
    // life, and neither may be rebound differently for 5 minutes after it expired.
    const live = (c: ChannelBinding | undefined): boolean => c !== undefined && c.expiresAt > now;
    if ((live(byNumber) && byNumber?.peerKey !== peerKey) || (live(byPeer) && byPeer?.number !== number)) {
      return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    }
    const cooldown = allocation.channelCooldown.get(number);
    if (!live(byNumber) && cooldown !== undefined && cooldown.until > now && cooldown.peerKey !== peerKey) {
      return void this.#error(link, message, ErrorCode.BadRequest, 'bad-request', auth.key);
    }
    if (!live(byNumber) && allocation.channels.size >= this.#cfg.channelsPerAllocation) {
      allocation.sweep(now);
      if (allocation.channels.size >= this.#cfg.channelsPerAllocation) {
        return void this.#error(link, message, ErrorCode.InsufficientCapacity, 'insufficient-capacity', auth.key);
      }
    }
    if (!allocation.permissions.has(peer.address) && allocation.permissions.size >= this.#cfg.permissionsPerAllocation) {
      return void this.#error(link, message, ErrorCode.InsufficientCapacity, 'insufficient-capacity', auth.key);
    }
    const expiresAt = now + this.#cfg.channelSec * 1000;
    if (byNumber !== undefined && live(byNumber)) {
      byNumber.expiresAt = expiresAt;
    } else {
      if (byNumber !== undefined) allocation.unbindChannel(byNumber);
      const binding: ChannelBinding = { number, peer, peerKey, expiresAt };
      allocation.channels.set(number, binding);
      allocation.bindChannel(binding);
    }
    allocation.channelCooldown.set(number, { peerKey, until: expiresAt + 300_000 });
    // RFC 8656 §11.2: a ChannelBind also installs or refreshes the permission for the peer.
    const permissionUntil = now + this.#cfg.permissionSec * 1000;
    allocation.permissions.set(peer.address, Math.max(permissionUntil, allocation.permissions.get(peer.address) ?? 0));
    this.#reply(link, message, MessageClass.Success, [], auth.key);
  }

  // -------------------------------------------------------------------------------------------
  // Allocation bookkeeping

  #relayHost(family: 4 | 6): string | undefined {
    const { host, host6 } = this.#options.relay;
    if (familyOf(host) === family) return host;
    if (family === 6 && host6 !== undefined) return host6;
    return undefined;
  }

  #guessLocalIp(family: 4 | 6): string {
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) if (!info.internal && familyOf(info.address) === family) return info.address;
    }
    return family === 4 ? '127.0.0.1' : '::1';
  }

  async #bindRelay(family: 4 | 6, host: string, even: boolean, onMessage: (msg: Buffer, address: string, port: number) => void): Promise<{ socket: DatagramSocket; port: number } | undefined> {
    const { portMin, portMax } = this.#options.relay;
    const sockets = this.#sockets;
    if (sockets === undefined) return undefined;
    const span = portMax - portMin + 1;
    const attempts = Math.min(span, 64);
    for (let tried = 0, step = 0; tried < attempts && step < span; step++) {
      const port = this.#relayCursor;
      this.#relayCursor = port >= portMax ? portMin : port + 1;
      if (this.#relayPortsInUse.has(port) || (even && port % 2 !== 0)) continue;
      tried++;
      this.#relayPortsInUse.add(port);
      try {
        const socket = await sockets.open({
          family,
          host,
          port,
          ipv6Only: true,
          // the kernel caps buffer sizes at net.core.[rw]mem_max; the socket works either way
          recvBufferSize: this.#cfg.relayBytes,
          sendBufferSize: this.#cfg.relayBytes,
          onMessage,
          onClose: () => this.#relayPortsInUse.delete(port),
        });
        return { socket, port };
      } catch {
        // taken by someone else (EADDRINUSE): try the next port
        this.#relayPortsInUse.delete(port);
      }
    }
    return undefined;
  }

  #armExpiry(allocation: TurnAllocation, lifetimeSec: number): void {
    if (allocation.timer !== undefined) clearTimeout(allocation.timer);
    allocation.timer = setTimeout(() => this.#release(allocation, 'expired'), lifetimeSec * 1000);
  }

  #release(allocation: TurnAllocation, why: string): void {
    if (!allocation.close()) return;
    this.#counters.drops['relay-send-error'] += allocation.relay.takeErrors();
    if (this.#allocations.get(allocation.link.key) === allocation) this.#allocations.delete(allocation.link.key);
    if (this.#allocationsByRelayPort.get(allocation.relayPort) === allocation) this.#allocationsByRelayPort.delete(allocation.relayPort);
    const source = allocation.link.udpSource;
    if (source !== undefined) {
      const byAddress = this.#udpAllocations.get(source.port);
      if (byAddress?.get(source.address) === allocation) byAddress.delete(source.address);
      if (byAddress?.size === 0) this.#udpAllocations.delete(source.port);
    }
    this.#decrementUser(allocation.username);
    this.#counters.allocationsClosed++;
    this.#log.debug({ relayPort: allocation.relayPort, why }, 'turn: allocation closed');
    this.#notifyDrain();
  }

  #decrementUser(username: string): void {
    const count = (this.#perUser.get(username) ?? 1) - 1;
    if (count <= 0) this.#perUser.delete(username);
    else this.#perUser.set(username, count);
  }

  #notifyDrain(): void {
    if (this.#draining && this.#allocations.size === 0 && this.#pendingAllocations.size === 0) {
      for (const waiter of this.#drainWaiters.splice(0)) waiter();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const allocation of this.#allocations.values()) allocation.sweep(now);
  }
}

export async function startTurnServer(options: TurnServerOptions): Promise<TurnServerHandle> {
  const server = new TurnServer(options);
  return server.start();
}
