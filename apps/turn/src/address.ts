import { isIPv4, isIPv6 } from 'node:net';

/** A transport address as the relay sees it: canonical text, family and port. */
export interface TransportAddress {
  family: 4 | 6;
  /** Canonical text (dotted quad, or RFC 5952 lower-case compressed IPv6). */
  address: string;
  port: number;
}

/** Parses an IPv4 or IPv6 literal into 4 or 16 bytes; undefined for anything else. */
export function ipToBytes(ip: string): Uint8Array | undefined {
  if (isIPv4(ip)) {
    const out = new Uint8Array(4);
    const parts = ip.split('.');
    for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
    return out;
  }
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes the last two groups.
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    tail = ipToBytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const rest = halves.length > 1 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const groups = halves.length > 1 ? [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    const value = parseInt(groups[i] ?? '', 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/**
 * The IPv6 groups to write as `::` (RFC 5952 §4.2: the longest run of two or more zero groups, the
 * first on a tie): [start, length], or [-1, 0] when there is none.
 */
export function longestZeroRun(groups: readonly number[]): [start: number, length: number] {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  return [bestStart, bestLen];
}

/** Formats 4 or 16 bytes; IPv6 per RFC 5952 (longest run of ≥ 2 zero groups compressed). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  const [bestStart, bestLen] = longestZeroRun(groups);
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an IP literal (so that permission keys match whatever form a peer used). */
export function canonicalIp(ip: string): string | undefined {
  const bytes = ipToBytes(ip);
  return bytes === undefined ? undefined : bytesToIp(bytes);
}

/**
 * A client address as a dual-stack socket reports it: `::ffff:1.2.3.4` is the IPv4 client
 * 1.2.3.4 and is reported (XOR-MAPPED-ADDRESS) and policed as such.
 */
export function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export function familyOf(ip: string): 4 | 6 {
  return isIPv4(ip) ? 4 : 6;
}
