import type { StunDecodeFailure } from './stun/codec.js';
import type { SendParseFailure } from './stun/datapath.js';

/** Why a request got an error response. Fixed label set (also the Prometheus `reason` label). */
export const REFUSAL_REASONS = [
  'unauthorized',
  'stale-nonce',
  'bad-request',
  'unknown-attribute',
  'allocation-mismatch',
  'wrong-credentials',
  'forbidden-peer',
  'quota-user',
  'quota-total',
  'insufficient-capacity',
  'draining',
  'address-family',
  'peer-address-family',
  'unsupported-transport',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Why a packet or frame was dropped without an answer. */
export const DROP_REASONS = [
  'truncated',
  'not-stun',
  'bad-cookie',
  'bad-length',
  'bad-attribute-length',
  'too-many-attributes',
  'bad-fingerprint',
  'fingerprint-not-last',
  'missing-peer',
  'missing-data',
  'unknown-attribute',
  'unexpected-class',
  'bad-channel-data',
  'no-allocation',
  'no-permission',
  'no-channel',
  'denied-peer',
  'rate-limited',
  'bandwidth',
  'backpressure',
  'stream-framing',
  'proxy-header',
  'connection-limit',
  'half-open-timeout',
  'relay-send-error',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

// Compile-time check that every decoder failure has a drop label.
type _AllDecodeFailuresCounted = [StunDecodeFailure | SendParseFailure] extends [DropReason] ? true : never;
const _check: _AllDecodeFailuresCounted = true;
void _check;

export interface DirectionCounters {
  readonly packets: number;
  readonly bytes: number;
}

/** A point-in-time copy of the relay's counters (TurnServerHandle.metrics). */
export interface TurnMetricsSnapshot {
  /** Allocations alive now. */
  readonly allocations: number;
  readonly allocationsCreated: number;
  readonly allocationsClosed: number;
  /** TCP and TLS client connections open now. */
  readonly connections: number;
  /** Control-plane requests answered (success or error). */
  readonly requests: number;
  readonly relayed: { readonly clientToPeer: DirectionCounters; readonly peerToClient: DirectionCounters };
  readonly refusals: Readonly<Record<RefusalReason, number>>;
  readonly drops: Readonly<Record<DropReason, number>>;
  /** Sum of all drops. */
  readonly dropped: number;
  readonly draining: boolean;
  /** The UDP socket layer (docs/turn.md, "Data path"). */
  readonly dataPath: 'native' | 'dgram';
}

function zeroed<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = Object.create(null) as Record<K, number>;
  for (const key of keys) out[key] = 0;
  return out;
}

/** Mutable counters, incremented on the hot path (plain fields, no maps). */
export class TurnCounters {
  allocationsCreated = 0;
  allocationsClosed = 0;
  requests = 0;
  toPeerPackets = 0;
  toPeerBytes = 0;
  toClientPackets = 0;
  toClientBytes = 0;
  readonly refusals = zeroed(REFUSAL_REASONS);
  readonly drops = zeroed(DROP_REASONS);

  drop(reason: DropReason): void {
    this.drops[reason]++;
  }

  refuse(reason: RefusalReason): void {
    this.refusals[reason]++;
  }

  snapshot(live: { allocations: number; connections: number; draining: boolean; dataPath: 'native' | 'dgram' }): TurnMetricsSnapshot {
    let dropped = 0;
    for (const reason of DROP_REASONS) dropped += this.drops[reason];
    return {
      allocations: live.allocations,
      allocationsCreated: this.allocationsCreated,
      allocationsClosed: this.allocationsClosed,
      connections: live.connections,
      requests: this.requests,
      relayed: {
        clientToPeer: { packets: this.toPeerPackets, bytes: this.toPeerBytes },
        peerToClient: { packets: this.toClientPackets, bytes: this.toClientBytes },
      },
      refusals: { ...this.refusals },
      drops: { ...this.drops },
      dropped,
      draining: live.draining,
      dataPath: live.dataPath,
    };
  }
}
