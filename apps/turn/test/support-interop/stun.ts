// A small STUN/TURN client codec for the interop tests and the benchmark's load client
// (RFC 8489 / RFC 8656, long-term credentials with the TURN REST API username `expiry:user`).
// It is test tooling, written independently of the relay in src/, so the relay is measured by a
// client that shares none of its code. Control-plane messages are built and parsed generically; the
// data path (Send indication, ChannelData) uses prebuilt templates so the load client stays cheap.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const Class = { Request: 0x0000, Indication: 0x0010, Success: 0x0100, Error: 0x0110 } as const;

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

export interface Address {
  address: string;
  port: number;
}

export interface StunMessage {
  method: number;
  cls: number;
  transactionId: Buffer;
  /** First occurrence of each attribute (RFC 8489 §14: later duplicates are ignored). */
  attrs: Map<number, Buffer>;
  /** The whole message as received, for integrity checks. */
  raw: Buffer;
}

export class StunDecodeError extends Error {
  override name = 'StunDecodeError';
}

export function messageType(method: number, cls: number): number {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | cls;
}

function splitType(type: number): { method: number; cls: number } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  return { method, cls: type & 0x0110 };
}

export function newTransactionId(): Buffer {
  return randomBytes(12);
}

/** Long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/** TURN REST API credentials (draft-uberti-behave-turn-rest): username `expiry:user`, password base64(HMAC-SHA1). */
export function restCredentials(secret: string, user: string, ttlSeconds = 86_400): { username: string; password: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

export type AttrList = ReadonlyArray<readonly [number, Buffer]>;

/**
 * Encodes a STUN message. With `key`, MESSAGE-INTEGRITY is appended (HMAC-SHA1 over the message with the
 * length field covering it, RFC 8489 §14.5); with `fingerprint`, FINGERPRINT last (§14.7).
 */
export function encode(method: number, cls: number, transactionId: Buffer, attrs: AttrList, key?: Buffer, fingerprint = true): Buffer {
  const parts: Buffer[] = [];
  let bodyLength = 0;
  for (const [type, value] of attrs) {
    const padded = (value.length + 3) & ~3;
    const attr = Buffer.alloc(4 + padded);
    attr.writeUInt16BE(type, 0);
    attr.writeUInt16BE(value.length, 2);
    value.copy(attr, 4);
    parts.push(attr);
    bodyLength += attr.length;
  }
  const header = Buffer.alloc(20);
  header.writeUInt16BE(messageType(method, cls), 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  let message = Buffer.concat([header, ...parts]);
  if (key) {
    message.writeUInt16BE(bodyLength + 24, 2);
    const mac = createHmac('sha1', key).update(message).digest();
    const attr = Buffer.alloc(24);
    attr.writeUInt16BE(Attr.MessageIntegrity, 0);
    attr.writeUInt16BE(20, 2);
    mac.copy(attr, 4);
    message = Buffer.concat([message, attr]);
    bodyLength += 24;
  }
  if (fingerprint) {
    message.writeUInt16BE(bodyLength + 8, 2);
    const attr = Buffer.alloc(8);
    attr.writeUInt16BE(Attr.Fingerprint, 0);
    attr.writeUInt16BE(4, 2);
    attr.writeUInt32BE((crc32(message) ^ 0x5354554e) >>> 0, 4);
    message = Buffer.concat([message, attr]);
    bodyLength += 8;
  }
  message.writeUInt16BE(bodyLength, 2);
  return message;
}

/** True when the first byte says STUN (top two bits 00); ChannelData starts with 01. */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= 20 && (buf[0]! & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

export function decode(buf: Buffer): StunMessage {
  if (buf.length < 20) throw new StunDecodeError(`message of ${buf.length} bytes is shorter than a STUN header`);
  if ((buf[0]! & 0xc0) !== 0) throw new StunDecodeError('not a STUN message (top bits set)');
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunDecodeError('wrong magic cookie');
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length > buf.length) throw new StunDecodeError(`bad message length ${length} for ${buf.length} bytes`);
  const raw = buf.subarray(0, 20 + length);
  const { method, cls } = splitType(buf.readUInt16BE(0));
  const attrs = new Map<number, Buffer>();
  let offset = 20;
  while (offset + 4 <= raw.length) {
    const type = raw.readUInt16BE(offset);
    const len = raw.readUInt16BE(offset + 2);
    if (offset + 4 + len > raw.length) throw new StunDecodeError(`attribute 0x${type.toString(16)} overruns the message`);
    if (!attrs.has(type)) attrs.set(type, raw.subarray(offset + 4, offset + 4 + len));
    offset += 4 + ((len + 3) & ~3);
  }
  return { method, cls, transactionId: Buffer.from(raw.subarray(8, 20)), attrs, raw };
}

/** Checks MESSAGE-INTEGRITY of a received message (RFC 8489 §14.5). */
export function integrityOk(message: StunMessage, key: Buffer): boolean {
  const raw = message.raw;
  let offset = 20;
  while (offset + 4 <= raw.length) {
    const type = raw.readUInt16BE(offset);
    const len = raw.readUInt16BE(offset + 2);
    if (type === Attr.MessageIntegrity) {
      if (len !== 20 || offset + 24 > raw.length) return false;
      const covered = Buffer.from(raw.subarray(0, offset));
      covered.writeUInt16BE(offset - 20 + 24, 2);
      const mac = createHmac('sha1', key).update(covered).digest();
      return mac.equals(raw.subarray(offset + 4, offset + 24));
    }
    offset += 4 + ((len + 3) & ~3);
  }
  return false;
}

export function errorCode(message: StunMessage): { code: number; reason: string } | undefined {
  const value = message.attrs.get(Attr.ErrorCode);
  if (!value || value.length < 4) return undefined;
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

export function encodeXorAddress(addr: Address, transactionId: Buffer): Buffer {
  if (isIPv4(addr.address)) {
    const out = Buffer.alloc(8);
    out[1] = 0x01;
    out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
    const octets = addr.address.split('.').map(Number);
    out.writeUInt32BE((((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) ^ MAGIC_COOKIE) >>> 0, 4);
    return out;
  }
  const out = Buffer.alloc(20);
  out[1] = 0x02;
  out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
  const ip = ipv6Bytes(addr.address);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  for (let i = 0; i < 16; i++) out[4 + i] = ip[i]! ^ mask[i]!;
  return out;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): Address {
  if (value.length < 8) throw new StunDecodeError('XOR address too short');
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 0x01) {
    const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    return { address: [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.'), port };
  }
  if (family === 0x02 && value.length >= 20) {
    const mask = Buffer.alloc(16);
    mask.writeUInt32BE(MAGIC_COOKIE, 0);
    transactionId.copy(mask, 4);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((value[4 + i]! ^ mask[i]!) << 8) | (value[5 + i]! ^ mask[i + 1]!)).toString(16));
    return { address: groups.join(':'), port };
  }
  throw new StunDecodeError(`unknown address family ${String(family)}`);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

// --- data path -------------------------------------------------------------------------------

/** A Send indication template for `peer` with a `payloadLength`-byte DATA attribute; the payload starts at `payloadOffset`. */
export function sendIndicationTemplate(peer: Address, payloadLength: number): { buf: Buffer; payloadOffset: number } {
  const tid = newTransactionId();
  const peerAttr = encodeXorAddress(peer, tid);
  const padded = (payloadLength + 3) & ~3;
  const buf = Buffer.alloc(20 + 4 + peerAttr.length + 4 + padded);
  buf.writeUInt16BE(messageType(Method.Send, Class.Indication), 0);
  buf.writeUInt16BE(buf.length - 20, 2);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  tid.copy(buf, 8);
  let o = 20;
  buf.writeUInt16BE(Attr.XorPeerAddress, o);
  buf.writeUInt16BE(peerAttr.length, o + 2);
  peerAttr.copy(buf, o + 4);
  o += 4 + peerAttr.length;
  buf.writeUInt16BE(Attr.Data, o);
  buf.writeUInt16BE(payloadLength, o + 2);
  return { buf, payloadOffset: o + 4 };
}

/** A ChannelData template (RFC 8656 §12.4): 4-byte header, payload at offset 4. */
export function channelDataTemplate(channel: number, payloadLength: number): { buf: Buffer; payloadOffset: number } {
  const buf = Buffer.alloc(4 + payloadLength);
  buf.writeUInt16BE(channel, 0);
  buf.writeUInt16BE(payloadLength, 2);
  return { buf, payloadOffset: 4 };
}

/**
 * The application payload of a datagram from the relay: ChannelData payload, or the DATA attribute of a
 * Data indication. Returns the offset and length inside `buf`, or undefined for anything else.
 */
export function relayedPayload(buf: Buffer): { offset: number; length: number } | undefined {
  if (buf.length < 4) return undefined;
  const first = buf[0]!;
  if ((first & 0xc0) === 0x40) {
    const length = buf.readUInt16BE(2);
    return 4 + length <= buf.length ? { offset: 4, length } : undefined;
  }
  if (buf.length < 20 || buf.readUInt16BE(0) !== messageType(Method.Data, Class.Indication)) return undefined;
  const end = Math.min(buf.length, 20 + buf.readUInt16BE(2));
  let o = 20;
  while (o + 4 <= end) {
    const type = buf.readUInt16BE(o);
    const len = buf.readUInt16BE(o + 2);
    if (type === Attr.Data) return o + 4 + len <= end ? { offset: o + 4, length: len } : undefined;
    o += 4 + ((len + 3) & ~3);
  }
  return undefined;
}
