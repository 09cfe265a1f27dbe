import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { bytesToIp, ipToBytes, type TransportAddress } from '../address.js';
import {
  Attr,
  classOf,
  ERROR_REASONS,
  FAMILY_IPV4,
  FAMILY_IPV6,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  KNOWN_REQUIRED_ATTRIBUTES,
  MAGIC_COOKIE,
  messageType,
  methodOf,
  type MessageClassCode,
} from './constants.js';

/**
 * The strict control-plane codec (RFC 8489 §5, §14, §15). `decodeStun` never throws on hostile
 * input: it returns a typed failure, and the caller counts and drops. The message keeps views
 * into the received buffer (no copies); callers must not keep it past the packet handler.
 */

/** Why a datagram or frame was not accepted as STUN. Each reason is a metrics label. */
export type StunDecodeFailure =
  | 'truncated'
  | 'not-stun'
  | 'bad-cookie'
  | 'bad-length'
  | 'bad-attribute-length'
  | 'too-many-attributes'
  | 'bad-fingerprint'
  | 'fingerprint-not-last';

/** Attribute floods cost CPU per attribute; a real TURN request has fewer than 16. */
export const MAX_ATTRIBUTES = 64;

export interface StunMessage {
  readonly method: number;
  readonly cls: MessageClassCode;
  readonly transactionId: Buffer;
  /** The whole message (a view into the received buffer). */
  readonly raw: Buffer;
  /** First occurrence of each attribute before MESSAGE-INTEGRITY (RFC 8489 §14: later duplicates ignored). */
  readonly attributes: ReadonlyMap<number, Buffer>;
  /** Every XOR-PEER-ADDRESS before MESSAGE-INTEGRITY (CreatePermission may carry several). */
  readonly peerAddresses: readonly Buffer[];
  /** Comprehension-required attributes not in KNOWN_REQUIRED_ATTRIBUTES, in order of appearance. */
  readonly unknownRequired: readonly number[];
  /** Offset of the MESSAGE-INTEGRITY attribute header, or -1. */
  readonly integrityOffset: number;
  readonly hasFingerprint: boolean;
}

export type DecodeResult = { ok: true; message: StunMessage } | { ok: false; reason: StunDecodeFailure };

/** RFC 8489 §5: top two bits zero, length a multiple of 4, the magic cookie. */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= HEADER_LENGTH && (buf[0]! & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

export function decodeStun(buf: Buffer): DecodeResult {
  if (buf.length < HEADER_LENGTH) return { ok: false, reason: 'truncated' };
  if ((buf[0]! & 0xc0) !== 0) return { ok: false, reason: 'not-stun' };
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) return { ok: false, reason: 'bad-cookie' };
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_LENGTH + length !== buf.length) return { ok: false, reason: 'bad-length' };
  const type = buf.readUInt16BE(0);
  const attributes = new Map<number, Buffer>();
  const unknownRequired: number[] = [];
  const peerAddresses: Buffer[] = [];
  let integrityOffset = -1;
  let hasFingerprint = false;
  let count = 0;
  let offset = HEADER_LENGTH;
  while (offset < buf.length) {
    if (offset + 4 > buf.length) return { ok: false, reason: 'bad-attribute-length' };
    if (++count > MAX_ATTRIBUTES) return { ok: false, reason: 'too-many-attributes' };
    const attrType = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const valueStart = offset + 4;
    const next = valueStart + ((attrLength + 3) & ~3);
    if (next > buf.length) return { ok: false, reason: 'bad-attribute-length' };
    if (hasFingerprint) return { ok: false, reason: 'fingerprint-not-last' };
    if (attrType === Attr.Fingerprint) {
      if (attrLength !== 4) return { ok: false, reason: 'bad-attribute-length' };
      const expected = (crc32(buf.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
      if (buf.readUInt32BE(valueStart) !== expected) return { ok: false, reason: 'bad-fingerprint' };
      hasFingerprint = true;
    } else if (integrityOffset < 0) {
      // RFC 8489 §14.5: everything after MESSAGE-INTEGRITY except FINGERPRINT is ignored.
      if (attrType === Attr.MessageIntegrity) {
        if (attrLength !== 20) return { ok: false, reason: 'bad-attribute-length' };
        integrityOffset = offset;
      } else if (attrType === Attr.XorPeerAddress) {
        peerAddresses.push(buf.subarray(valueStart, valueStart + attrLength));
        if (!attributes.has(attrType)) attributes.set(attrType, buf.subarray(valueStart, valueStart + attrLength));
      } else if (!attributes.has(attrType)) {
        attributes.set(attrType, buf.subarray(valueStart, valueStart + attrLength));
        if (attrType < 0x8000 && !KNOWN_REQUIRED_ATTRIBUTES.has(attrType)) unknownRequired.push(attrType);
      }
    }
    offset = next;
  }
  return {
    ok: true,
    message: {
      method: methodOf(type),
      cls: classOf(type),
      transactionId: buf.subarray(8, 20),
      raw: buf,
      attributes,
      peerAddresses,
      unknownRequired,
      integrityOffset,
      hasFingerprint,
    },
  };
}

/** The long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1) of a decoded message, in constant time. */
export function verifyIntegrity(message: StunMessage, key: Buffer): boolean {
  const at = message.integrityOffset;
  if (at < 0) return false;
  const header = Buffer.from(message.raw.subarray(0, HEADER_LENGTH));
  // The length covers everything up to and including MESSAGE-INTEGRITY (RFC 8489 §14.5).
  header.writeUInt16BE(at + 24 - HEADER_LENGTH, 2);
  const mac = createHmac('sha1', key).update(header).update(message.raw.subarray(HEADER_LENGTH, at)).digest();
  return timingSafeEqual(mac, message.raw.subarray(at + 4, at + 24));
}

// ---------------------------------------------------------------------------------------------
// Attribute values

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === FAMILY_IPV4 && value.length === 8) {
    const bytes = new Uint8Array(4);
    for (let i = 0; i < 4; i++) bytes[i] = value[4 + i]! ^ ((MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff);
    return { family: 4, address: bytesToIp(bytes), port };
  }
  if (family === FAMILY_IPV6 && value.length === 20) {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const mask = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : transactionId[i - 4]!;
      bytes[i] = value[4 + i]! ^ mask;
    }
    return { family: 6, address: bytesToIp(bytes), port };
  }
  return undefined;
}

export function encodeXorAddress(address: TransportAddress, transactionId: Buffer): Buffer {
  const bytes = ipToBytes(address.address);
  if (bytes === undefined) throw new TypeError(`not an IP address: ${address.address}`);
  const out = Buffer.alloc(4 + bytes.length);
  out[1] = bytes.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), 2);
  for (let i = 0; i < bytes.length; i++) {
    const mask = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : transactionId[i - 4]!;
    out[4 + i] = bytes[i]! ^ mask;
  }
  return out;
}

export function encodeErrorCode(code: number, reason = ERROR_REASONS.get(code) ?? 'Error'): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  text.copy(out, 4);
  return out;
}

export function decodeErrorCode(value: Buffer): { code: number; reason: string } | undefined {
  if (value.length < 4) return undefined;
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

export function encodeUInt32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

export function encodeUnknownAttributes(types: readonly number[]): Buffer {
  const out = Buffer.alloc(types.length * 2);
  types.forEach((t, i) => out.writeUInt16BE(t, i * 2));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeOptions {
  /** Adds MESSAGE-INTEGRITY with this key (every authenticated response: spec/turn.md §4.2 item 4). */
  integrityKey?: Buffer;
  /** Adds FINGERPRINT (default true). */
  fingerprint?: boolean;
}

/** Builds one STUN message. Attributes are written in the order given. */
export function encodeStun(
  method: number,
  cls: MessageClassCode,
  transactionId: Buffer,
  attributes: ReadonlyArray<readonly [number, Buffer]>,
  options: EncodeOptions = {},
): Buffer {
  let bodyLength = 0;
  for (const [, value] of attributes) bodyLength += 4 + ((value.length + 3) & ~3);
  const withIntegrity = options.integrityKey !== undefined;
  const withFingerprint = options.fingerprint ?? true;
  const total = HEADER_LENGTH + bodyLength + (withIntegrity ? 24 : 0) + (withFingerprint ? 8 : 0);
  const out = Buffer.alloc(total);
  out.writeUInt16BE(messageType(method, cls), 0);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8, 0, 12);
  let offset = HEADER_LENGTH;
  for (const [type, value] of attributes) {
    out.writeUInt16BE(type, offset);
    out.writeUInt16BE(value.length, offset + 2);
    value.copy(out, offset + 4);
    offset += 4 + ((value.length + 3) & ~3);
  }
  if (options.integrityKey !== undefined) {
    out.writeUInt16BE(offset + 24 - HEADER_LENGTH, 2);
    const mac = createHmac('sha1', options.integrityKey).update(out.subarray(0, offset)).digest();
    out.writeUInt16BE(Attr.MessageIntegrity, offset);
    out.writeUInt16BE(20, offset + 2);
    mac.copy(out, offset + 4);
    offset += 24;
  }
  if (withFingerprint) {
    out.writeUInt16BE(offset + 8 - HEADER_LENGTH, 2);
    const fp = (crc32(out.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
    out.writeUInt16BE(Attr.Fingerprint, offset);
    out.writeUInt16BE(4, offset + 2);
    out.writeUInt32BE(fp, offset + 4);
    offset += 8;
  }
  out.writeUInt16BE(offset - HEADER_LENGTH, 2);
  return out;
}
