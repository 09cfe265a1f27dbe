import { Counter, Gauge, type Registry } from 'prom-client';
import { DROP_REASONS, REFUSAL_REASONS, type TurnMetricsSnapshot } from './metrics.js';

/**
 * Exposes the relay's counters on the ops server's /metrics. The counters live in the relay as
 * plain numbers (cheap on the hot path); prom-client reads a snapshot at scrape time.
 */
export function registerTurnMetrics(registry: Registry, snapshot: () => TurnMetricsSnapshot): void {
  new Gauge({
    name: 'turn_allocations',
    help: 'TURN allocations alive now',
    registers: [registry],
    collect() {
      this.set(snapshot().allocations);
    },
  });
  new Gauge({
    name: 'turn_data_path',
    help: '1 for the UDP socket layer in use: native (recvmmsg/sendmmsg addon) or dgram (Node)',
    labelNames: ['path'],
    registers: [registry],
    collect() {
      const path = snapshot().dataPath;
      this.set({ path: 'native' }, path === 'native' ? 1 : 0);
      this.set({ path: 'dgram' }, path === 'dgram' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'turn_connections',
    help: 'TCP and TLS client connections open now',
    registers: [registry],
    collect() {
      this.set(snapshot().connections);
    },
  });
  new Gauge({
    name: 'turn_draining',
    help: '1 while the relay takes no new allocations',
    registers: [registry],
    collect() {
      this.set(snapshot().draining ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, labelNames: string[], read: (s: TurnMetricsSnapshot, set: (labels: Record<string, string>, value: number) => void) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // Counters only go up; the snapshot is authoritative, so reset and set the totals.
        this.reset();
        read(snapshot(), (labels, value) => {
          if (value > 0) this.inc(labels, value);
        });
      },
    });
  };
  counter('turn_allocations_created_total', 'Allocations created', [], (s, set) => set({}, s.allocationsCreated));
  counter('turn_allocations_closed_total', 'Allocations closed (Refresh 0, expiry, connection close, shutdown)', [], (s, set) => set({}, s.allocationsClosed));
  counter('turn_requests_total', 'STUN/TURN requests answered', [], (s, set) => set({}, s.requests));
  counter('turn_relayed_packets_total', 'Datagrams relayed', ['direction'], (s, set) => {
    set({ direction: 'client_to_peer' }, s.relayed.clientToPeer.packets);
    set({ direction: 'peer_to_client' }, s.relayed.peerToClient.packets);
  });
  counter('turn_relayed_bytes_total', 'Payload bytes relayed', ['direction'], (s, set) => {
    set({ direction: 'client_to_peer' }, s.relayed.clientToPeer.bytes);
    set({ direction: 'peer_to_client' }, s.relayed.peerToClient.bytes);
  });
  counter('turn_refusals_total', 'Requests refused with an error response, by reason', ['reason'], (s, set) => {
    for (const reason of REFUSAL_REASONS) set({ reason }, s.refusals[reason]);
  });
  counter('turn_drops_total', 'Packets or frames dropped without an answer, by reason', ['reason'], (s, set) => {
    for (const reason of DROP_REASONS) set({ reason }, s.drops[reason]);
  });
}
