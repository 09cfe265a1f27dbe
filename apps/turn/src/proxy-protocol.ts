/**
 * PROXY protocol version 2 (haproxy's proxy-protocol.txt §2.2), as nginx's `stream` module sends
 * it with `proxy_protocol on` in front of our TLS listener (the 443 SNI mux of seed 001). Only
 * the binary v2 header is accepted; v1 text and garbage are refused.
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
