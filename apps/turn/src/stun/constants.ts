/** STUN/TURN numbers (RFC 8489 §18, RFC 8656 §18, RFC 6156). */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
export const FINGERPRINT_XOR = 0x5354554e;

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;
export type MethodCode = (typeof Method)[keyof typeof Method];

export const MessageClass = { Request: 0, Indication: 1, Success: 2, Error: 3 } as const;
export type MessageClassCode = (typeof MessageClass)[keyof typeof MessageClass];

/** RFC 8489 §5: the class bits C1 C0 are interleaved with the method bits. */
export function messageType(method: number, cls: MessageClassCode): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}
export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}
export function classOf(type: number): MessageClassCode {
  return (((type >> 4) & 1) | ((type >> 7) & 2)) as MessageClassCode;
}

/** Precomputed types of the two data-path messages. */
export const SEND_INDICATION = messageType(Method.Send, MessageClass.Indication); // 0x0016
export const DATA_INDICATION = messageType(Method.Data, MessageClass.Indication); // 0x0017

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  AdditionalAddressFamily: 0x8000,
  AddressErrorCode: 0x8001,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Icmp: 0x8004,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
  ResponseOrigin: 0x802b,
  OtherAddress: 0x802c,
} as const;

/**
 * Comprehension-required attributes (type < 0x8000) this server understands. Any other
 * comprehension-required attribute in a request gets 420 + UNKNOWN-ATTRIBUTES (RFC 8489 §7.3.1).
 * SHA-256 integrity, PASSWORD-ALGORITHM and USERHASH are NOT listed: we do not implement them,
 * so a request that insists on them learns so through 420 rather than being half-understood.
 * ICE's PRIORITY/USE-CANDIDATE are listed because a Binding request carrying them is harmless.
 */
export const KNOWN_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set([
  Attr.MappedAddress,
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.RequestedTransport,
  Attr.DontFragment,
  Attr.XorMappedAddress,
  Attr.ReservationToken,
  Attr.Priority,
  Attr.UseCandidate,
]);

export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  AllocationQuotaReached: 486,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const;

export const ERROR_REASONS: ReadonlyMap<number, string> = new Map([
  [300, 'Try Alternate'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [420, 'Unknown Attribute'],
  [437, 'Allocation Mismatch'],
  [438, 'Stale Nonce'],
  [440, 'Address Family not Supported'],
  [441, 'Wrong Credentials'],
  [442, 'Unsupported Transport Protocol'],
  [443, 'Peer Address Family Mismatch'],
  [486, 'Allocation Quota Reached'],
  [500, 'Server Error'],
  [508, 'Insufficient Capacity'],
]);

export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;
export const TRANSPORT_UDP = 17;

/**
 * RFC 8656 §12 narrows channel numbers to 0x4000..0x4FFF, but RFC 5766 §11 allowed 0x4000..0x7FFF
 * and RFC 5766 clients still pick from that range: coturn 4.6's turnutils_uclient draws uniformly
 * from 0x4000..0x7FFF *inclusive* and coturn 4.6 accepts 0x7FFF. Refusing 0x7FFF (RFC 5766 §11.1
 * says 0x7FFE) failed one uclient client in ≈ 8,192 with "channel bind: error 400". Every number
 * in the range frames unambiguously (first two bits 01), so we accept all of it.
 */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x7fff;
