import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TransportAddress } from '../../src/address.js';
import { mintRestCredentials } from '../../src/auth.js';
import { decodeErrorCode, decodeStun, decodeXorAddress, encodeStun, encodeUInt32, encodeXorAddress, longTermKey, verifyIntegrity, type StunMessage } from '../../src/stun/codec.js';
import { Attr, Method, MessageClass, DATA_INDICATION } from '../../src/stun/constants.js';

/**
 * A small TURN client for the tests (UDP, TCP, TLS, TLS behind a PROXY v2 header). It speaks
 * through our codec, so codec bugs could hide symmetrically here: the RFC 5769 vectors in
 * codec.test.ts pin the codec to the RFC, and coturn's turnutils_uclient (part B) checks
 * interop independently.
 */

export interface Response {
  message: StunMessage;
  raw: Buffer;
  cls: number;
  error?: { code: number; reason: string };
  /** Whether MESSAGE-INTEGRITY verified with the client's key. */
  integrityOk: boolean;
}

export interface DataEvent {
  peer: TransportAddress;
  data: Buffer;
  via: 'data-indication' | 'channel';
  channel?: number;
}

export type Transport = 'udp' | 'tcp' | 'tls';

export interface ClientOptions {
  transport: Transport;
  host: string;
  port: number;
  /** TLS: skip certificate checks (self-signed test cert). */
  ca?: string;
  /** Bytes written before anything else on a stream (a PROXY v2 header). */
  preamble?: Buffer;
  username?: string;
  password?: string;
  realm?: string;
  timeoutMs?: number;
}

export class TurnTestClient extends EventEmitter<{ data: [DataEvent]; stray: [Buffer] }> {
  readonly transport: Transport;
  username: string | undefined;
  password: string | undefined;
  realm: string | undefined;
  nonce: string | undefined;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #udp: UdpSocket | undefined;
  #stream: TcpSocket | undefined;
  #pending = Buffer.alloc(0);
  readonly #waiting = new Map<string, (response: Buffer) => void>();
  readonly received: DataEvent[] = [];
  closedByServer = false;

  private constructor(options: ClientOptions) {
    super();
    this.transport = options.transport;
    this.#host = options.host;
    this.#port = options.port;
    this.username = options.username;
    this.password = options.password;
    this.realm = options.realm;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  static async connect(options: ClientOptions): Promise<TurnTestClient> {
    const client = new TurnTestClient(options);
    await client.#open(options);
    return client;
  }

  /** REST credentials for `user` (null: Prosody's bare `<expiry>` form) signed with `secret`. */
  withCredentials(secret: string, user: string | null = 'alice', ttlSec = 3600): this {
    const c = mintRestCredentials(secret, user ?? undefined, ttlSec);
    this.username = c.username;
    this.password = c.password;
    return this;
  }

  get key(): Buffer | undefined {
    if (this.username === undefined || this.password === undefined || this.realm === undefined) return undefined;
    return longTermKey(this.username, this.realm, this.password);
  }

  get localPort(): number {
    if (this.#udp !== undefined) return this.#udp.address().port;
    return this.#stream?.localPort ?? 0;
  }

  async #open(options: ClientOptions): Promise<void> {
    if (options.transport === 'udp') {
      const udp = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
      this.#udp = udp;
      udp.on('message', (msg) => this.#onMessage(msg));
      udp.bind(0, options.host.includes(':') ? '::1' : '127.0.0.1');
      await once(udp, 'listening');
      return;
    }
    let stream: TcpSocket;
    if (options.transport === 'tcp') {
      stream = tcpConnect({ host: options.host, port: options.port });
      await once(stream, 'connect');
    } else if (options.preamble !== undefined) {
      const raw = tcpConnect({ host: options.host, port: options.port });
      await once(raw, 'connect');
      raw.write(options.preamble);
      stream = tlsConnect({ socket: raw, ca: options.ca, rejectUnauthorized: options.ca !== undefined, servername: 'turn.test' });
      await once(stream, 'secureConnect');
    } else {
      stream = tlsConnect({ host: options.host, port: options.port, ca: options.ca, rejectUnauthorized: options.ca !== undefined, servername: 'turn.test' });
      await once(stream, 'secureConnect');
    }
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => this.#onStreamData(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      this.closedByServer = true;
    });
  }

  #onStreamData(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 4) {
      const channel = (this.#pending[0]! & 0xc0) === 0x40;
      const length = this.#pending.readUInt16BE(2);
      const frame = channel ? 4 + length : 20 + length;
      const total = channel ? 4 + ((length + 3) & ~3) : frame;
      if (this.#pending.length < total) return;
      const message = this.#pending.subarray(0, frame);
      this.#pending = this.#pending.subarray(total);
      this.#onMessage(Buffer.from(message));
    }
  }

  #onMessage(msg: Buffer): void {
    if (msg.length >= 4 && (msg[0]! & 0xc0) === 0x40) {
      const length = msg.readUInt16BE(2);
      const event: DataEvent = { peer: { family: 4, address: '', port: 0 }, data: msg.subarray(4, 4 + length), via: 'channel', channel: msg.readUInt16BE(0) };
      this.received.push(event);
      this.emit('data', event);
      return;
    }
    const decoded = decodeStun(msg);
    if (!decoded.ok) {
      this.emit('stray', msg);
      return;
    }
    const m = decoded.message;
    if (msg.readUInt16BE(0) === DATA_INDICATION) {
      const peerValue = m.attributes.get(Attr.XorPeerAddress);
      const data = m.attributes.get(Attr.Data);
      const peer = peerValue === undefined ? undefined : decodeXorAddress(peerValue, m.transactionId);
      if (peer !== undefined && data !== undefined) {
        const event: DataEvent = { peer, data: Buffer.from(data), via: 'data-indication' };
        this.received.push(event);
        this.emit('data', event);
      }
      return;
    }
    const waiter = this.#waiting.get(m.transactionId.toString('hex'));
    if (waiter !== undefined) waiter(msg);
    else this.emit('stray', msg);
  }

  /** Sends raw bytes (fuzz, hand-made frames). */
  sendRaw(buf: Buffer): void {
    if (this.#udp !== undefined) this.#udp.send(buf, this.#port, this.#host);
    else this.#stream?.write(buf);
  }

  /** One transaction; retransmits over UDP (RFC 8489 §6.2.1, shortened). */
  async transact(raw: Buffer, transactionId: Buffer): Promise<Buffer> {
    const id = transactionId.toString('hex');
    return new Promise<Buffer>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (response: Buffer | Error): void => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        if (response instanceof Error) reject(response);
        else resolve(response);
      };
      this.#waiting.set(id, finish);
      const attempt = (): void => {
        if (++tries > (this.#udp !== undefined ? 5 : 1)) return finish(new Error(`no response to transaction ${id}`));
        this.sendRaw(raw);
        timer = setTimeout(attempt, this.#udp !== undefined ? this.#timeoutMs / 5 : this.#timeoutMs);
      };
      attempt();
    });
  }

  /** A request; with `auth`, answers the 401/438 challenge and signs with MESSAGE-INTEGRITY. */
  async request(method: number, attributes: Array<readonly [number, Buffer]>, options: { auth?: boolean; transactionId?: Buffer; fingerprint?: boolean } = {}): Promise<Response> {
    const auth = options.auth ?? method !== Method.Binding;
    for (let round = 0; round < 3; round++) {
      const tid = options.transactionId ?? randomBytes(12);
      const signed: Array<readonly [number, Buffer]> = [...attributes];
      let key: Buffer | undefined;
      if (auth && this.nonce !== undefined && this.realm !== undefined && this.username !== undefined) {
        signed.push([Attr.Username, Buffer.from(this.username, 'utf8')], [Attr.Realm, Buffer.from(this.realm, 'utf8')], [Attr.Nonce, Buffer.from(this.nonce, 'latin1')]);
        key = this.key;
      }
      const raw = encodeStun(method, MessageClass.Request, tid, signed, { integrityKey: key, fingerprint: options.fingerprint ?? true });
      const responseRaw = await this.transact(raw, tid);
      const response = this.#toResponse(responseRaw);
      const code = response.error?.code;
      if (auth && (code === 401 || code === 438) && round < 2 && (key === undefined || code === 438)) {
        this.realm ??= response.message.attributes.get(Attr.Realm)?.toString('utf8');
        this.nonce = response.message.attributes.get(Attr.Nonce)?.toString('latin1');
        continue;
      }
      return response;
    }
    throw new Error('authentication did not converge');
  }

  #toResponse(raw: Buffer): Response {
    const decoded = decodeStun(raw);
    if (!decoded.ok) throw new Error(`undecodable response: ${decoded.reason}`);
    const message = decoded.message;
    const errorValue = message.attributes.get(Attr.ErrorCode);
    const key = this.key;
    return {
      message,
      raw,
      cls: message.cls,
      error: errorValue === undefined ? undefined : decodeErrorCode(errorValue),
      integrityOk: key !== undefined && message.integrityOffset >= 0 && verifyIntegrity(message, key),
    };
  }

  async allocate(options: { lifetime?: number; family?: 4 | 6; extra?: Array<readonly [number, Buffer]>; transactionId?: Buffer } = {}): Promise<Response & { relayed?: TransportAddress; mapped?: TransportAddress; lifetime?: number }> {
    const attrs: Array<readonly [number, Buffer]> = [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]];
    if (options.lifetime !== undefined) attrs.push([Attr.Lifetime, encodeUInt32(options.lifetime)]);
    if (options.family !== undefined) attrs.push([Attr.RequestedAddressFamily, Buffer.from([options.family === 4 ? 1 : 2, 0, 0, 0])]);
    attrs.push(...(options.extra ?? []));
    const response = await this.request(Method.Allocate, attrs, { transactionId: options.transactionId });
    const tid = response.message.transactionId;
    const relayedValue = response.message.attributes.get(Attr.XorRelayedAddress);
    const mappedValue = response.message.attributes.get(Attr.XorMappedAddress);
    const lifetimeValue = response.message.attributes.get(Attr.Lifetime);
    return {
      ...response,
      relayed: relayedValue === undefined ? undefined : decodeXorAddress(relayedValue, tid),
      mapped: mappedValue === undefined ? undefined : decodeXorAddress(mappedValue, tid),
      lifetime: lifetimeValue?.readUInt32BE(0),
    };
  }

  async refresh(lifetime?: number): Promise<Response & { lifetime?: number }> {
    const response = await this.request(Method.Refresh, lifetime === undefined ? [] : [[Attr.Lifetime, encodeUInt32(lifetime)]]);
    return { ...response, lifetime: response.message.attributes.get(Attr.Lifetime)?.readUInt32BE(0) };
  }

  createPermission(...peers: TransportAddress[]): Promise<Response> {
    const tid = randomBytes(12);
    // XOR-PEER-ADDRESS depends on the transaction ID (IPv6): encode with the one we send.
    return this.request(
      Method.CreatePermission,
      peers.map((p) => [Attr.XorPeerAddress, encodeXorAddress(p, tid)] as const),
      { transactionId: tid },
    );
  }

  channelBind(channel: number, peer: TransportAddress): Promise<Response> {
    const tid = randomBytes(12);
    return this.request(
      Method.ChannelBind,
      [
        [Attr.ChannelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0])],
        [Attr.XorPeerAddress, encodeXorAddress(peer, tid)],
      ],
      { transactionId: tid },
    );
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    const tid = randomBytes(12);
    this.sendRaw(encodeStun(Method.Send, MessageClass.Indication, tid, [[Attr.XorPeerAddress, encodeXorAddress(peer, tid)], [Attr.Data, data]], { fingerprint: false }));
  }

  sendChannelData(channel: number, data: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(data.length, 2);
    const pad = this.transport === 'udp' ? 0 : (4 - (data.length % 4)) % 4;
    this.sendRaw(Buffer.concat([header, data, Buffer.alloc(pad)]));
  }

  /** Resolves with the next relayed payload matching `filter`. */
  nextData(filter: (event: DataEvent) => boolean = () => true, timeoutMs = 5_000): Promise<DataEvent> {
    const already = this.received.find(filter);
    if (already !== undefined) {
      this.received.splice(this.received.indexOf(already), 1);
      return Promise.resolve(already);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('data', onData);
        reject(new Error('no relayed data arrived'));
      }, timeoutMs);
      const onData = (event: DataEvent): void => {
        if (!filter(event)) return;
        clearTimeout(timer);
        this.off('data', onData);
        this.received.splice(this.received.indexOf(event), 1);
        resolve(event);
      };
      this.on('data', onData);
    });
  }

  async close(): Promise<void> {
    if (this.#udp !== undefined) {
      const udp = this.#udp;
      this.#udp = undefined;
      await new Promise<void>((done) => udp.close(() => done()));
    }
    if (this.#stream !== undefined && !this.#stream.destroyed) {
      const stream = this.#stream;
      stream.destroy();
      await once(stream, 'close');
    }
  }
}

/** A UDP socket on loopback that records what it receives and can echo it back. */
export class UdpPeer {
  readonly socket: UdpSocket;
  readonly received: Array<{ data: Buffer; from: TransportAddress }> = [];
  readonly #events = new EventEmitter();

  private constructor(socket: UdpSocket, echo: boolean) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => {
      const from: TransportAddress = { family: rinfo.family === 'IPv6' ? 6 : 4, address: rinfo.address, port: rinfo.port };
      this.received.push({ data, from });
      this.#events.emit('message');
      if (echo) socket.send(data, rinfo.port, rinfo.address);
    });
  }

  static async start(options: { host?: string; echo?: boolean } = {}): Promise<UdpPeer> {
    const host = options.host ?? '127.0.0.1';
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.bind(0, host);
    await once(socket, 'listening');
    return new UdpPeer(socket, options.echo ?? false);
  }

  get address(): TransportAddress {
    const a = this.socket.address();
    return { family: a.family === 'IPv6' ? 6 : 4, address: a.address, port: a.port };
  }

  send(data: Buffer, to: TransportAddress): void {
    this.socket.send(data, to.port, to.address);
  }

  async waitFor(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`peer got ${this.received.length} of ${count} datagrams`);
      await Promise.race([once(this.#events, 'message'), new Promise((r) => setTimeout(r, Math.min(left, 200)))]);
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => this.socket.close(() => done()));
  }
}
