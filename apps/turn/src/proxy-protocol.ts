import { isIPv4, isIPv6 } from 'node:net';

/**
 * The PROXY protocol (haproxy's proxy-protocol.txt) in front of our TLS listener, for the 443
 * SNI mux of seed 001. Version 2 (binary, §2.2) is what HAProxy's `send-proxy-v2` and most
 * load balancers send; stock nginx's `stream { proxy_protocol on; }` sends version 1 (text,
 * §2.1) — nginx has no v2 writer (its v2 support is for reading) — so both are accepted.
 * Garbage, a bare TLS ClientHello and malformed headers are refused.
 */

export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export type ProxyHeader =
  | { kind: 'proxy'; family: 4 | 6; sourceAddress: string; sourcePort: number; destinationAddress: string; destinationPort: number; length: number }
  /** LOCAL command, or an address family we do not relay (UNIX, UNSPEC): use the real peer. */
  | { kind: 'local'; length: number };

export type ProxyParse = ProxyHeader | 'incomplete' | 'invalid';

/** Upper bound on a header we wait for (16-byte fixed part + addresses + TLVs). */
export const MAX_PROXY_HEADER = 16 + 536;

function ipv6Text(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + i * 2).toString(16));
  return groups.join(':');
}

/** §2.1: the longest v1 line, CRLF included. */
export const MAX_PROXY_V1 = 107;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

/** Either version, decided by the first bytes. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  const have = Math.min(buf.length, V1_PREFIX.length);
  if (have > 0 && buf.subarray(0, have).equals(V1_PREFIX.subarray(0, have))) return parseProxyV1(buf);
  return parseProxyV2(buf);
}

export function parseProxyV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= MAX_PROXY_V1 ? 'invalid' : 'incomplete';
  if (end + 2 > MAX_PROXY_V1) return 'invalid';
  const parts = buf.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (parts[0] !== 'PROXY') return 'invalid';
  if (parts[1] === 'UNKNOWN') return { kind: 'local', length };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return 'invalid';
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const valid = proto === 'TCP4' ? isIPv4 : isIPv6;
  const port = (text: string): number => (/^(0|[1-9]\d{0,4})$/.test(text) ? Number(text) : -1);
  const sourcePort = port(sport);
  const destinationPort = port(dport);
  if (!valid(src) || !valid(dst) || sourcePort < 0 || sourcePort > 65_535 || destinationPort < 0 || destinationPort > 65_535) return 'invalid';
  return { kind: 'proxy', family: proto === 'TCP4' ? 4 : 6, sourceAddress: src, sourcePort, destinationAddress: dst, destinationPort, length };
}

export function parseProxyV2(buf: Buffer): ProxyParse {
  const have = Math.min(buf.length, 12);
  if (!buf.subarray(0, have).equals(PROXY_V2_SIGNATURE.subarray(0, have))) return 'invalid';
  if (buf.length < 16) return 'incomplete';
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return 'invalid';
  const command = verCmd & 0x0f;
  if (command > 1) return 'invalid';
  const famProto = buf[13]!;
  const bodyLength = buf.readUInt16BE(14);
  const length = 16 + bodyLength;
  if (length > MAX_PROXY_HEADER) return 'invalid';
  if (buf.length < length) return 'incomplete';
  if (command === 0) return { kind: 'local', length };
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (transport !== 1 && transport !== 0) return 'invalid';
  if (family === 1) {
    if (bodyLength < 12) return 'invalid';
    const ip = (at: number): string => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return { kind: 'proxy', family: 4, sourceAddress: ip(16), destinationAddress: ip(20), sourcePort: buf.readUInt16BE(24), destinationPort: buf.readUInt16BE(26), length };
  }
  if (family === 2) {
    if (bodyLength < 36) return 'invalid';
    return {
      kind: 'proxy',
      family: 6,
      sourceAddress: ipv6Text(buf, 16),
      destinationAddress: ipv6Text(buf, 32),
      sourcePort: buf.readUInt16BE(48),
      destinationPort: buf.readUInt16BE(50),
      length,
    };
  }
  return { kind: 'local', length };
}

/** Builds a v2 PROXY header (tests and tools; nginx does this in production). */
export function buildProxyV2(source: { address: string; port: number }, destination: { address: string; port: number }, family: 4 | 6, toBytes: (ip: string) => Uint8Array | undefined): Buffer {
  const addrLength = family === 4 ? 4 : 16;
  const body = Buffer.alloc(addrLength * 2 + 4);
  const src = toBytes(source.address);
  const dst = toBytes(destination.address);
  if (src?.length !== addrLength || dst?.length !== addrLength) throw new TypeError('address family mismatch');
  body.set(src, 0);
  body.set(dst, addrLength);
  body.writeUInt16BE(source.port, addrLength * 2);
  body.writeUInt16BE(destination.port, addrLength * 2 + 2);
  const head = Buffer.alloc(16);
  PROXY_V2_SIGNATURE.copy(head, 0);
  head[12] = 0x21;
  head[13] = family === 4 ? 0x11 : 0x21;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}
