// One TURN client allocation over UDP (RFC 8656): Allocate with the long-term credential dance,
// CreatePermission, ChannelBind, Refresh. Control-plane only; the data path is the caller's (it owns
// the socket's 'message' handler for non-STUN traffic through `onData`).

import { createSocket, type Socket } from 'node:dgram';
import {
  Attr,
  Class,
  decode,
  decodeXorAddress,
  encode,
  encodeXorAddress,
  errorCode,
  integrityOk,
  longTermKey,
  looksLikeStun,
  Method,
  newTransactionId,
  type Address,
  type AttrList,
  type StunMessage,
} from './stun.js';

export interface Credentials {
  username: string;
  password: string;
}

export class TurnError extends Error {
  override name = 'TurnError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (m: StunMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface TurnSessionOptions {
  server: Address;
  credentials: Credentials;
  /** Per-request bound: retransmit every 500 ms until then (RFC 8489 §6.2.1, simplified). */
  requestTimeoutMs?: number;
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export class TurnSession {
  readonly socket: Socket;
  relayed: Address | undefined;
  mapped: Address | undefined;
  /** Called for every datagram that is not a STUN response to one of our requests. */
  onData: (buf: Buffer) => void = () => undefined;
  private key: Buffer | undefined;
  private realm = '';
  private nonce = '';
  private readonly pending = new Map<string, Pending>();

  private constructor(
    readonly options: TurnSessionOptions,
    socket: Socket,
  ) {
    this.socket = socket;
    socket.on('message', (buf: Buffer) => {
      if (looksLikeStun(buf) && (buf[0]! & 0x01) !== 0) {
        // a response (success 0x01xx or error 0x01xx: class bit C1 set)
        let message: StunMessage;
        try {
          message = decode(buf);
        } catch {
          return;
        }
        const p = this.pending.get(message.transactionId.toString('hex'));
        if (p) {
          this.pending.delete(message.transactionId.toString('hex'));
          clearTimeout(p.timer);
          p.resolve(message);
          return;
        }
      }
      this.onData(buf);
    });
  }

  static async open(options: TurnSessionOptions): Promise<TurnSession> {
    const family = options.server.address.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({
      type: family,
      ...(options.recvBufferSize ? { recvBufferSize: options.recvBufferSize } : {}),
      ...(options.sendBufferSize ? { sendBufferSize: options.sendBufferSize } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, family === 'udp6' ? '::1' : '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    return new TurnSession(options, socket);
  }

  private transact(method: number, attrs: AttrList, authenticated: boolean): Promise<StunMessage> {
    const tid = newTransactionId();
    const all: Array<readonly [number, Buffer]> = [...attrs];
    if (authenticated && this.key) {
      all.push([Attr.Username, Buffer.from(this.options.credentials.username)]);
      all.push([Attr.Realm, Buffer.from(this.realm)]);
      all.push([Attr.Nonce, Buffer.from(this.nonce)]);
    }
    const message = encode(method, Class.Request, tid, all, authenticated ? this.key : undefined);
    const timeoutMs = this.options.requestTimeoutMs ?? 5_000;
    return new Promise<StunMessage>((resolve, reject) => {
      const started = Date.now();
      const send = (): void => this.socket.send(message, this.options.server.port, this.options.server.address);
      const tick = (): void => {
        if (Date.now() - started >= timeoutMs) {
          this.pending.delete(tid.toString('hex'));
          reject(new TurnError(`no response to method 0x${method.toString(16)} within ${timeoutMs} ms`));
          return;
        }
        send();
        entry.timer = setTimeout(tick, 500);
      };
      const entry: Pending = { resolve, reject, timer: setTimeout(tick, 500) };
      this.pending.set(tid.toString('hex'), entry);
      send();
    });
  }

  /** Sends an authenticated request, following one 401 (first contact) or 438 (stale nonce). */
  private async request(method: number, attrs: AttrList): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.transact(method, attrs, this.key !== undefined);
      if (response.cls === Class.Success) {
        if (this.key && !integrityOk(response, this.key)) throw new TurnError(`response to 0x${method.toString(16)} fails MESSAGE-INTEGRITY`);
        return response;
      }
      const err = errorCode(response);
      if (err && (err.code === 401 || err.code === 438) && response.attrs.has(Attr.Nonce)) {
        const realm = response.attrs.get(Attr.Realm)?.toString('utf8') ?? this.realm;
        this.nonce = response.attrs.get(Attr.Nonce)!.toString('utf8');
        if (err.code === 401 && this.key && realm === this.realm) throw new TurnError(`401 ${err.reason} with credentials`, 401);
        this.realm = realm;
        this.key = longTermKey(this.options.credentials.username, this.realm, this.options.credentials.password);
        continue;
      }
      throw new TurnError(`method 0x${method.toString(16)} failed: ${err ? `${err.code} ${err.reason}` : 'error without ERROR-CODE'}`, err?.code);
    }
    throw new TurnError(`method 0x${method.toString(16)}: too many challenges`);
  }

  async allocate(lifetime?: number): Promise<Address> {
    const attrs: Array<readonly [number, Buffer]> = [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]];
    if (lifetime !== undefined) attrs.push([Attr.Lifetime, u32(lifetime)]);
    const response = await this.request(Method.Allocate, attrs);
    const relayed = response.attrs.get(Attr.XorRelayedAddress);
    if (!relayed) throw new TurnError('Allocate success without XOR-RELAYED-ADDRESS');
    this.relayed = decodeXorAddress(relayed, response.transactionId);
    const mapped = response.attrs.get(Attr.XorMappedAddress);
    if (mapped) this.mapped = decodeXorAddress(mapped, response.transactionId);
    return this.relayed;
  }

  async createPermission(peer: Address): Promise<void> {
    const tid = newTransactionId();
    await this.request(Method.CreatePermission, [[Attr.XorPeerAddress, encodeXorAddress(peer, tid)]]);
  }

  async channelBind(channel: number, peer: Address): Promise<void> {
    const tid = newTransactionId();
    const ch = Buffer.alloc(4);
    ch.writeUInt16BE(channel, 0);
    await this.request(Method.ChannelBind, [
      [Attr.ChannelNumber, ch],
      [Attr.XorPeerAddress, encodeXorAddress(peer, tid)],
    ]);
  }

  async refresh(lifetime: number): Promise<void> {
    await this.request(Method.Refresh, [[Attr.Lifetime, u32(lifetime)]]);
  }

  send(buf: Buffer): void {
    this.socket.send(buf, this.options.server.port, this.options.server.address);
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TurnError('session closed'));
    }
    this.pending.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** One unauthenticated Binding request; resolves with the reflexive address, rejects after `timeoutMs`. */
export async function stunBinding(server: Address, timeoutMs = 1_000): Promise<Address> {
  const family = server.address.includes(':') ? 'udp6' : 'udp4';
  const socket = createSocket(family);
  const tid = newTransactionId();
  try {
    return await new Promise<Address>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TurnError(`no Binding response from ${server.address}:${server.port} within ${timeoutMs} ms`)), timeoutMs);
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.on('message', (buf: Buffer) => {
        try {
          const m = decode(buf);
          if (!m.transactionId.equals(tid) || m.cls !== Class.Success) return;
          const value = m.attrs.get(Attr.XorMappedAddress);
          if (!value) return;
          clearTimeout(timer);
          resolve(decodeXorAddress(value, m.transactionId));
        } catch {
          // not ours
        }
      });
      socket.send(encode(Method.Binding, Class.Request, tid, []), server.port, server.address);
    });
  } finally {
    socket.close();
  }
}
