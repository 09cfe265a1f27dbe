// A minimal STUN (RFC 5389) encoder/decoder for ICE connectivity checks (RFC 8445 §7.1.2), enough to
// play the part of an ICE agent in front of mediasoup's WebRtcServer. It exists to prove
// mediasoup-offline-build.md §10 item 8: a check carrying ICE-CONTROLLED must be answered in a way
// Chrome accepts (jitsi-client-protocol.md §8.2), never with a 487 lacking MESSAGE-INTEGRITY.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const MAGIC_COOKIE = 0x2112a442;
/** RFC 5389 §15.5: FINGERPRINT is the CRC-32 of the message XOR-ed with this constant ("STUN"). */
const FINGERPRINT_XOR = 0x5354554e;

export const StunClass = {
  BindingRequest: 0x0001,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
} as const;

export const StunAttr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  XorMappedAddress: 0x0020,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, the one zlib and RFC 5389 §15.5 use). */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hmacSha1(key: string, data: Uint8Array): Buffer {
  // RFC 5389 §15.4: short-term credentials, so the key is the password itself (ICE: RFC 8445 §7.2.2).
  return createHmac('sha1', key).update(data).digest();
}

function attribute(type: number, value: Uint8Array): Buffer {
  const padded = Math.ceil(value.length / 4) * 4;
  const out = Buffer.alloc(4 + padded);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  Buffer.from(value).copy(out, 4);
  return out;
}

export interface BindingRequestOptions {
  /** `<remote (server) ufrag>:<local ufrag>` (RFC 8445 §7.2.2). */
  username: string;
  /** The server's ICE password: the request is signed with the password of the agent it is sent to. */
  password: string;
  priority: number;
  role: 'controlled' | 'controlling';
  useCandidate?: boolean;
  tieBreaker?: bigint;
  transactionId?: Buffer;
}

/** Builds a signed Binding request: USERNAME, PRIORITY, ICE-CONTROLL(ED|ING), [USE-CANDIDATE], MI, FINGERPRINT. */
export function encodeBindingRequest(options: BindingRequestOptions): { packet: Buffer; transactionId: Buffer } {
  const transactionId = options.transactionId ?? randomBytes(12);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(options.priority >>> 0, 0);
  const tieBreaker = Buffer.alloc(8);
  tieBreaker.writeBigUInt64BE(options.tieBreaker ?? randomBytes(8).readBigUInt64BE(0), 0);
  const attrs = [
    attribute(StunAttr.Username, Buffer.from(options.username, 'utf8')),
    attribute(StunAttr.Priority, priority),
    attribute(options.role === 'controlled' ? StunAttr.IceControlled : StunAttr.IceControlling, tieBreaker),
  ];
  if (options.useCandidate) attrs.push(attribute(StunAttr.UseCandidate, new Uint8Array(0)));
  let body = Buffer.concat(attrs);

  const header = (bodyLength: number): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(StunClass.BindingRequest, 0);
    h.writeUInt16BE(bodyLength, 2);
    h.writeUInt32BE(MAGIC_COOKIE, 4);
    transactionId.copy(h, 8);
    return h;
  };

  // RFC 5389 §15.4: the HMAC covers everything before MESSAGE-INTEGRITY, with the length field
  // already counting the MESSAGE-INTEGRITY attribute (24 bytes) but not FINGERPRINT.
  const mi = hmacSha1(options.password, Buffer.concat([header(body.length + 24), body]));
  body = Buffer.concat([body, attribute(StunAttr.MessageIntegrity, mi)]);
  // §15.5: FINGERPRINT covers everything before it, with the length field counting it (8 bytes).
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(Buffer.concat([header(body.length + 8), body])) ^ FINGERPRINT_XOR) >>> 0, 0);
  body = Buffer.concat([body, attribute(StunAttr.Fingerprint, fp)]);
  return { packet: Buffer.concat([header(body.length), body]), transactionId };
}

export interface StunAttribute {
  type: number;
  /** Offset of the attribute header in the message. */
  offset: number;
  value: Buffer;
}

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
  raw: Buffer;
}

/** Parses a STUN message; throws on anything that is not one. */
export function decodeStun(raw: Buffer): StunMessage {
  if (raw.length < 20) throw new Error(`STUN message too short (${raw.length} bytes)`);
  if (raw.readUInt32BE(4) !== MAGIC_COOKIE) throw new Error('no STUN magic cookie');
  const length = raw.readUInt16BE(2);
  if (20 + length !== raw.length) throw new Error(`STUN length ${length} does not match datagram ${raw.length}`);
  const attributes: StunAttribute[] = [];
  let offset = 20;
  while (offset + 4 <= raw.length) {
    const type = raw.readUInt16BE(offset);
    const len = raw.readUInt16BE(offset + 2);
    if (offset + 4 + len > raw.length) throw new Error(`STUN attribute 0x${type.toString(16)} overruns the message`);
    attributes.push({ type, offset, value: raw.subarray(offset + 4, offset + 4 + len) });
    offset += 4 + Math.ceil(len / 4) * 4;
  }
  return { type: raw.readUInt16BE(0), transactionId: raw.subarray(8, 20), attributes, raw };
}

export function findAttribute(message: StunMessage, type: number): StunAttribute | undefined {
  return message.attributes.find((a) => a.type === type);
}

/** Checks MESSAGE-INTEGRITY against `password` (RFC 5389 §15.4); false when absent or wrong. */
export function verifyMessageIntegrity(message: StunMessage, password: string): boolean {
  const mi = findAttribute(message, StunAttr.MessageIntegrity);
  if (!mi || mi.value.length !== 20) return false;
  const signed = Buffer.from(message.raw.subarray(0, mi.offset));
  // The length field must count up to the end of MESSAGE-INTEGRITY (FINGERPRINT may follow it).
  signed.writeUInt16BE(mi.offset + 24 - 20, 2);
  return timingSafeEqual(hmacSha1(password, signed), mi.value);
}

/** Checks that FINGERPRINT is present, last, and correct (RFC 5389 §15.5). */
export function verifyFingerprint(message: StunMessage): boolean {
  const fp = findAttribute(message, StunAttr.Fingerprint);
  if (!fp || fp.value.length !== 4 || fp !== message.attributes.at(-1)) return false;
  return ((crc32(message.raw.subarray(0, fp.offset)) ^ FINGERPRINT_XOR) >>> 0) === fp.value.readUInt32BE(0);
}

/** XOR-MAPPED-ADDRESS (RFC 5389 §15.2), IPv4 only (the tests run on 127.0.0.1). */
export function decodeXorMappedAddress(message: StunMessage): { address: string; port: number } | undefined {
  const attr = findAttribute(message, StunAttr.XorMappedAddress);
  if (!attr || attr.value.length < 8 || attr.value[1] !== 0x01) return undefined;
  const port = attr.value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const ip = (attr.value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return { address: [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.'), port };
}

/** ERROR-CODE (RFC 5389 §15.6) as a number, e.g. 487. */
export function decodeErrorCode(message: StunMessage): number | undefined {
  const attr = findAttribute(message, StunAttr.ErrorCode);
  if (!attr || attr.value.length < 4) return undefined;
  return (attr.value[2] ?? 0) * 100 + (attr.value[3] ?? 0);
}
