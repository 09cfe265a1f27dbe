// The worker-side cost of the bridge's periodic control-plane requests, measured call by call on a fresh worker
// (part of `pnpm bench`, after the forwarding table). Each request is serialised through the channel
// (flatbuffers) and answered by the worker; the worker's CPU per call times the calls per second the bridge
// makes at its production intervals gives its CPU per second, which the forwarding bench's CPU per packet puts
// in proportion. Also the idle cost of an ActiveSpeakerObserver (its timer).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { ROUTER_MEDIA_CODECS } from '../src/media/codecs.js';
import { WorkerPool } from '../src/media/worker-pool.js';

/** Run time of every thread of `pid` so far, in ns (schedstat field 1). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return total;
}

export interface CallCosts {
  /** Worker µs per call (median of rounds). */
  readonly producerGetStats: number;
  readonly consumerGetStats: number;
  readonly transportGetStats: number;
  readonly getResourceUsage: number;
  /** Worker µs per second an idle ActiveSpeakerObserver (one producer, no packets) adds. */
  readonly observerIdlePerSecond: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function measureCallCosts(calls = 300, rounds = 3): Promise<CallCosts> {
  const pool = await WorkerPool.start({ workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, enableTcp: false, logLevel: 'warn' });
  try {
    const worker = (pool.workers[0] as (typeof pool.workers)[number]).worker;
    const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };
    const tin = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
    const producer = await tin.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1 }] },
    });
    const tout = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
    await tout.connect({ ip: '127.0.0.1', port: 9 });
    const consumer = await tout.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const perCall = async (f: () => Promise<unknown>): Promise<number> => {
      const out: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await sleep(100);
        const c0 = cpuNs(worker.pid);
        for (let i = 0; i < calls; i++) await f();
        out.push((cpuNs(worker.pid) - c0) / 1000 / calls);
      }
      return median(out);
    };
    const idlePerSecond = async (): Promise<number> => {
      const c0 = cpuNs(worker.pid);
      await sleep(2_000);
      return (cpuNs(worker.pid) - c0) / 1000 / 2;
    };
    const producerGetStats = await perCall(() => producer.getStats());
    const consumerGetStats = await perCall(() => consumer.getStats());
    const transportGetStats = await perCall(() => tout.getStats());
    const getResourceUsage = await perCall(() => worker.getResourceUsage());
    const idle = await idlePerSecond();
    const observer = await router.createActiveSpeakerObserver({ interval: 300 });
    await observer.addProducer({ producerId: producer.id });
    const observed = await idlePerSecond();
    return { producerGetStats, consumerGetStats, transportGetStats, getResourceUsage, observerIdlePerSecond: Math.max(0, observed - idle) };
  } finally {
    pool.close();
    await sleep(50);
  }
}
