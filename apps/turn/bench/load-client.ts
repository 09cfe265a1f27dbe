// The benchmark's load client (spec/turn.md §2.3), one child process per share of the clients, driven
// by bench/run.ts over the IPC channel. Per client: one UDP socket, Allocate with long-term
// credentials (TURN REST for coturn and Hummingbird, a static user for node-turn), CreatePermission for
// the echo peer, ChannelBind in channel mode; then paced 200-byte payloads as Send indications or
// ChannelData to turnutils_peer, which echoes them back through the relay. Payload: client index (u32),
// sequence (u32), send time (f64, ms, performance.now()) — so echoes are counted and timed.
// Hot path: one shared prebuilt packet template (the same peer and channel number for every
// allocation), a ring of buffers, no per-packet allocation or parsing beyond the relayed-payload lookup.

import { performance } from 'node:perf_hooks';

import { channelDataTemplate, relayedPayload, sendIndicationTemplate, type Address } from '../test/support-interop/stun.js';
import { TurnSession, type Credentials } from '../test/support-interop/turn-session.js';

export type LoadMode = 'send' | 'channel';

export type ToClient =
  | {
      type: 'setup';
      server: Address;
      /** One credential per client: a distinct REST user each, so a per-user quota is not what is measured. */
      credentials: Credentials[];
      peer: Address;
      clients: number;
      mode: LoadMode;
      payloadBytes: number;
      /** Accept a ChannelBind success without MESSAGE-INTEGRITY (node-turn, spec/turn.md §2.4), so its data path can be measured at all. */
      lenientChannelBind: boolean;
    }
  | { type: 'run'; pps: number; durationMs: number; drainMs: number }
  | { type: 'close' };

export interface RunResult {
  sent: number;
  received: number;
  /** Packets the pacer should have sent but did not (the client itself fell behind). */
  behind: number;
  rttP50Ms: number | undefined;
  rttP99Ms: number | undefined;
  clientCpuMs: number;
  wallMs: number;
}

export type FromClient =
  | { type: 'ready'; allocated: number; failures: string[]; lenientBinds: number }
  | { type: 'result'; result: RunResult }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const CHANNEL = 0x4000;
const RING = 2048;
const MAX_RTT_SAMPLES = 1 << 20;

const sessions: TurnSession[] = [];
let ring: Buffer[] = [];
let payloadOffset = 0;

let received = 0;
const rtts = new Float64Array(MAX_RTT_SAMPLES);
let rttCount = 0;
let collecting = false;

function reply(message: FromClient): void {
  process.send?.(message);
}

function onRelayed(buf: Buffer): void {
  if (!collecting) return;
  const at = relayedPayload(buf);
  if (!at || at.length < 16) return;
  received++;
  if (rttCount < MAX_RTT_SAMPLES) rtts[rttCount++] = performance.now() - buf.readDoubleLE(at.offset + 8);
}

async function setup(msg: Extract<ToClient, { type: 'setup' }>): Promise<void> {
  const template = msg.mode === 'send' ? sendIndicationTemplate(msg.peer, msg.payloadBytes) : channelDataTemplate(CHANNEL, msg.payloadBytes);
  payloadOffset = template.payloadOffset;
  ring = Array.from({ length: RING }, () => Buffer.from(template.buf));
  const failures: string[] = [];
  let lenientBinds = 0;
  // Allocate in small batches: a burst of hundreds of Allocates at once measures nothing useful.
  for (let start = 0; start < msg.clients; start += 10) {
    const batch = Array.from({ length: Math.min(10, msg.clients - start) }, async (_, i) => {
      const credentials = msg.credentials[(start + i) % msg.credentials.length]!;
      const session = await TurnSession.open({ server: msg.server, credentials, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
      try {
        await session.allocate();
        await session.createPermission(msg.peer);
        if (msg.mode === 'channel') {
          try {
            await session.channelBind(CHANNEL, msg.peer);
          } catch (error) {
            if (!(msg.lenientChannelBind && error instanceof Error && /MESSAGE-INTEGRITY/.test(error.message))) throw error;
            lenientBinds++;
          }
        }
        session.onData = onRelayed;
        sessions.push(session);
      } catch (error) {
        session.close();
        failures.push(error instanceof Error ? error.message : String(error));
      }
    });
    await Promise.all(batch);
  }
  reply({ type: 'ready', allocated: sessions.length, failures: [...new Set(failures)], lenientBinds });
}

function percentile(sorted: Float64Array, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function run(msg: Extract<ToClient, { type: 'run' }>): Promise<void> {
  received = 0;
  rttCount = 0;
  collecting = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  let seq = 0;
  const total = Math.round((msg.pps * msg.durationMs) / 1000);
  const n = sessions.length;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - t0;
      const due = Math.min(total, Math.floor((elapsed * msg.pps) / 1000));
      const now = performance.now();
      while (sent < due && n > 0) {
        const buf = ring[sent % RING]!;
        const client = sent % n;
        buf.writeUInt32LE(client, payloadOffset);
        buf.writeUInt32LE(seq++, payloadOffset + 4);
        buf.writeDoubleLE(now, payloadOffset + 8);
        sessions[client]!.send(buf);
        sent++;
      }
      if (sent >= total || elapsed >= msg.durationMs + 1_000) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  const behind = total - sent;
  await new Promise((r) => setTimeout(r, msg.drainMs));
  collecting = false;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sample = rtts.slice(0, rttCount).sort();
  reply({
    type: 'result',
    result: {
      sent,
      received,
      behind,
      rttP50Ms: percentile(sample, 0.5),
      rttP99Ms: percentile(sample, 0.99),
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
    },
  });
}

async function close(): Promise<void> {
  // Release the allocations (Refresh 0), bounded: a relay that does not answer does not hold the bench.
  await Promise.all(
    sessions.map((s) =>
      Promise.race([s.refresh(0).catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]).finally(() => s.close()),
    ),
  );
  reply({ type: 'closed' });
  process.disconnect?.();
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToClient;
  const task = msg.type === 'setup' ? setup(msg) : msg.type === 'run' ? run(msg) : close();
  task.catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
