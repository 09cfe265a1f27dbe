import { crc32 } from 'node:zlib';
import { bytesToIp } from '../address.js';
import { Attr, DATA_INDICATION, FINGERPRINT_XOR, HEADER_LENGTH, KNOWN_REQUIRED_ATTRIBUTES, MAGIC_COOKIE, SEND_INDICATION } from './constants.js';

/**
 * The data path (spec/turn.md §1.3, §4.2 item 5): Send indications and ChannelData are read in
 * place with no decoder objects and no copies; the payload handed to the relay socket is a view
 * into the received buffer. Headers for the other direction are a few bytes written in front of
 * the peer's untouched payload (scatter/gather send), so peer payloads are never reinterpreted.
 */

const COOKIE_HI = MAGIC_COOKIE >>> 16;

/** A parsed Send indication: the peer and a view of the DATA value. */
export interface SendIndication {
  family: 4 | 6;
  address: string;
  port: number;
  data: Buffer;
}

export type SendParseFailure = 'bad-length' | 'bad-attribute-length' | 'missing-peer' | 'missing-data' | 'unknown-attribute' | 'bad-fingerprint' | 'too-many-attributes';

/** Whether a datagram's first 8 bytes are a Send indication header (cheap pre-check). */
export function isSendIndication(buf: Buffer): boolean {
  return buf.length >= HEADER_LENGTH && buf.readUInt16BE(0) === SEND_INDICATION && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** Parses a Send indication (RFC 8656 §11.2) with the same strictness as the control codec. */
export function parseSendIndication(buf: Buffer): SendIndication | SendParseFailure {
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_LENGTH + length !== buf.length) return 'bad-length';
  let peer: Buffer | undefined;
  let data: Buffer | undefined;
  let offset = HEADER_LENGTH;
  let count = 0;
  let integritySeen = false;
  while (offset < buf.length) {
    if (offset + 4 > buf.length) return 'bad-attribute-length';
    if (++count > 64) return 'too-many-attributes';
    const type = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const start = offset + 4;
    const next = start + ((attrLength + 3) & ~3);
    if (next > buf.length) return 'bad-attribute-length';
    if (type === Attr.Fingerprint) {
      if (attrLength !== 4 || next !== buf.length) return 'bad-fingerprint';
      if (buf.readUInt32BE(start) !== ((crc32(buf.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0)) return 'bad-fingerprint';
    } else if (!integritySeen) {
      if (type === Attr.MessageIntegrity) integritySeen = true;
      else if (type === Attr.XorPeerAddress) peer ??= buf.subarray(start, start + attrLength);
      else if (type === Attr.Data) data ??= buf.subarray(start, start + attrLength);
      // RFC 8489 §6.3: an indication with unknown comprehension-required attributes is discarded.
      else if (type < 0x8000 && !KNOWN_REQUIRED_ATTRIBUTES.has(type)) return 'unknown-attribute';
    }
    offset = next;
  }
  if (peer === undefined || peer.length < 8) return 'missing-peer';
  if (data === undefined) return 'missing-data';
  const port = peer.readUInt16BE(2) ^ COOKIE_HI;
  if (peer[1] === 0x01 && peer.length === 8) {
    const a = peer[4]! ^ 0x21;
    const b = peer[5]! ^ 0x12;
    const c = peer[6]! ^ 0xa4;
    const d = peer[7]! ^ 0x42;
    return { family: 4, address: `${a}.${b}.${c}.${d}`, port, data };
  }
  if (peer[1] === 0x02 && peer.length === 20) {
    const bytes = new Uint8Array(16);
    bytes[0] = peer[4]! ^ 0x21;
    bytes[1] = peer[5]! ^ 0x12;
    bytes[2] = peer[6]! ^ 0xa4;
    bytes[3] = peer[7]! ^ 0x42;
    for (let i = 4; i < 16; i++) bytes[i] = peer[4 + i]! ^ buf[4 + i]!;
    return { family: 6, address: bytesToIp(bytes), port, data };
  }
  return 'missing-peer';
}

/** Length of a Data indication header up to and including the DATA attribute header. */
export function dataIndicationHeaderLength(family: 4 | 6): number {
  return HEADER_LENGTH + 4 + (family === 4 ? 8 : 20) + 4;
}

/**
 * Writes the header of a Data indication up to and including the DATA attribute header at the
 * start of `out` (which must hold dataIndicationHeaderLength(family) bytes) and returns its
 * length; the payload follows, then padding. No FINGERPRINT: RFC 8656 does not require it here
 * and it would cost a CRC over every relayed payload.
 */
export function writeDataIndicationHeader(out: Buffer, family: 4 | 6, addressBytes: Uint8Array, port: number, payloadLength: number, transactionId: Buffer): number {
  const peerLength = family === 4 ? 8 : 20;
  out.writeUInt16BE(DATA_INDICATION, 0);
  out.writeUInt16BE(4 + peerLength + 4 + ((payloadLength + 3) & ~3), 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8, 0, 12);
  out.writeUInt16BE(Attr.XorPeerAddress, 20);
  out.writeUInt16BE(peerLength, 22);
  out[24] = 0;
  out[25] = family === 4 ? 0x01 : 0x02;
  out.writeUInt16BE(port ^ COOKIE_HI, 26);
  out[28] = addressBytes[0]! ^ 0x21;
  out[29] = addressBytes[1]! ^ 0x12;
  out[30] = addressBytes[2]! ^ 0xa4;
  out[31] = addressBytes[3]! ^ 0x42;
  if (family === 6) for (let i = 4; i < 16; i++) out[28 + i] = addressBytes[i]! ^ transactionId[i - 4]!;
  const dataAt = 24 + peerLength;
  out.writeUInt16BE(Attr.Data, dataAt);
  out.writeUInt16BE(payloadLength, dataAt + 2);
  return dataAt + 4;
}

/** The same header as its own buffer. */
export function dataIndicationHeader(family: 4 | 6, addressBytes: Uint8Array, port: number, payloadLength: number, transactionId: Buffer): Buffer {
  const out = Buffer.allocUnsafe(dataIndicationHeaderLength(family));
  writeDataIndicationHeader(out, family, addressBytes, port, payloadLength, transactionId);
  return out;
}
