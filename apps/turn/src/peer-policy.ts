import { bytesToIp, ipToBytes, type TransportAddress } from './address.js';

/**
 * Which peers a client may reach through the relay (spec/turn.md §3 SSRF matrix, §4.2 item 6).
 * Deny by default everything that is not the public Internet; an explicit allow list re-opens
 * ranges (the bridge's private address, a loopback echo peer in tests). The relay's own
 * listener (control) ports are refused even when allow-listed: relaying into ourselves is how
 * node-turn answered its own Binding requests. Its relay ports are not: a relayed address is
 * another client's allocation, which only passes on what its own permissions let through
 * (hairpin relaying, docs/turn.md "Peer policy").
 */

interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const ip = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = ipToBytes(ip);
  if (bytes === undefined) throw new TypeError(`not an IP range: ${text}`);
  const max = bytes.length * 8;
  const prefix = slash >= 0 ? Number(text.slice(slash + 1)) : max;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new TypeError(`bad prefix length in ${text}`);
  }
  return { bytes, prefix };
}

/** An operator's IPv4-mapped range (::ffff:10.0.0.0/104) means that IPv4 range: peers are judged unmapped. */
function parseListCidr(text: string): Cidr {
  const { bytes, prefix } = parseCidr(text);
  if (bytes.length === 16 && prefix >= 96 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { bytes: bytes.slice(12), prefix: prefix - 96 };
  }
  return { bytes, prefix };
}

function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/** Not the public Internet (IANA special-purpose registries), plus multicast and broadcast. */
export const DEFAULT_DENIED_V4: readonly string[] = [
  '0.0.0.0/8', // "this network", incl. 0.0.0.0
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // CGNAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, incl. the 169.254.169.254 metadata service
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, incl. 255.255.255.255 broadcast
];

export const DEFAULT_DENIED_V6: readonly string[] = [
  '::/96', // unspecified, loopback, deprecated IPv4-compatible
  '100::/64', // discard-only
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
];

/** IPv6 forms that carry an IPv4 address: judged as that IPv4 address. */
const EMBEDDED_V4: ReadonlyArray<{ cidr: Cidr; at: number }> = [
  { cidr: parseCidr('::ffff:0:0/96'), at: 12 }, // IPv4-mapped
  { cidr: parseCidr('64:ff9b::/96'), at: 12 }, // NAT64 well-known prefix
  { cidr: parseCidr('2002::/16'), at: 2 }, // 6to4
];

export type PeerVerdict = 'allowed' | 'denied' | 'own-address' | 'invalid';

export interface PeerPolicyOptions {
  /** CIDRs allowed despite the deny list. */
  allow?: readonly string[];
  /** Extra CIDRs denied on top of the defaults. */
  deny?: readonly string[];
  /** IPs of this relay (listener, relay and external addresses, local interfaces). */
  ownIps: readonly string[];
  /**
   * Listener (control) ports of this relay on those IPs. Relay ports are NOT refused: two clients
   * of one relay reach each other relay-to-relay (docs/turn.md, "hairpin"), policed by the IP
   * rules and by the target allocation's own permissions.
   */
  ownPorts: { listeners: readonly number[] };
}

export class PeerPolicy {
  readonly #allow: Cidr[];
  readonly #deny: Cidr[];
  readonly #ownIps: Set<string>;
  readonly #listenerPorts: Set<number>;

  constructor(options: PeerPolicyOptions) {
    this.#allow = (options.allow ?? []).map(parseListCidr);
    this.#deny = [...[...DEFAULT_DENIED_V4, ...DEFAULT_DENIED_V6].map(parseCidr), ...(options.deny ?? []).map(parseListCidr)];
    this.#ownIps = new Set();
    for (const ip of options.ownIps) {
      const bytes = ipToBytes(ip);
      if (bytes !== undefined) this.#ownIps.add(bytesToIp(bytes));
    }
    this.#listenerPorts = new Set(options.ownPorts.listeners);
  }

  /** Verdict for an IP alone (CreatePermission installs per IP; RFC 8656 §9). */
  checkIp(ip: string): PeerVerdict {
    const bytes = ipToBytes(ip);
    if (bytes === undefined) return 'invalid';
    const judged = embeddedV4(bytes) ?? bytes;
    if (this.#allow.some((c) => inCidr(judged, c) || inCidr(bytes, c))) return 'allowed';
    if (this.#deny.some((c) => inCidr(judged, c) || inCidr(bytes, c))) return 'denied';
    return 'allowed';
  }

  /** Verdict for a transport address: the IP rules, then the relay's own listener ports. */
  check(peer: TransportAddress): PeerVerdict {
    const verdict = this.checkIp(peer.address);
    if (verdict !== 'allowed') return verdict;
    return this.isOwnAddress(peer.address, peer.port) ? 'own-address' : 'allowed';
  }

  /** True for one of our listener ports on one of our own (or a loopback) IP. */
  isOwnAddress(ip: string, port: number): boolean {
    if (!this.#listenerPorts.has(port)) return false;
    return this.isOwnIp(ip);
  }

  /** True for one of our own IPs (or a loopback / unspecified one), in any notation. */
  isOwnIp(ip: string): boolean {
    const bytes = ipToBytes(ip);
    if (bytes === undefined) return true;
    const judged = embeddedV4(bytes) ?? bytes;
    const text = bytesToIp(judged);
    return this.#ownIps.has(text) || isLoopbackOrUnspecified(judged);
  }
}

function embeddedV4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  for (const { cidr, at } of EMBEDDED_V4) if (inCidr(bytes, cidr)) return bytes.subarray(at, at + 4);
  return undefined;
}

function isLoopbackOrUnspecified(bytes: Uint8Array): boolean {
  if (bytes.length === 4) return bytes[0] === 127 || bytes[0] === 0;
  for (let i = 0; i < 15; i++) if (bytes[i] !== 0) return false;
  return bytes[15] === 0 || bytes[15] === 1;
}
