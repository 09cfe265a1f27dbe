// Forwarding benchmark (issue acceptance: "N receivers × M senders over PlainTransports with synthetic RTP, the
// bridge vs the same topology built directly on mediasoup, same run").
//
// Three topologies, each on its own fresh worker, fed the same synthetic Opus-sized RTP (with the
// ssrc-audio-level header extension, as browsers send it):
//  - `bare`: Router + PlainTransports + produce/consume straight on mediasoup, nothing else;
//  - `bare+aso`: `bare` plus a mediasoup ActiveSpeakerObserver over the audio producers (same interval as the
//    bridge). Any mediasoup SFU that offers dominant-speaker events needs this object: it is part of the media
//    topology, not of our control plane;
//  - `bridge`: the same PlainTransports driven through the bridge's own media plane (Conference, Endpoint:
//    `<media>` from the router, producers from COLIBRI2-style sources through the packages/xmpp mapping,
//    consumers created paused and resumed by the allocation, dominant-speaker detection, the LoadMonitor
//    sampling at the production stats interval).
// `bridge / bare+aso` is the control plane's overhead (the issue's ≤ 1.05 goal); `bridge / bare` also counts
// the observer.
//
// Measurement: all three topologies of one N exist at once; the traffic goes to one of them at a time, in
// slices of BENCH_SLICE_MS, every variant once per round in a random order (BENCH_SEED), so drift in the (shared) machine's load hits all of
// them alike. Worker CPU is the scheduler's run time of the worker process (/proc/<pid>/task/*/schedstat, ns)
// over its own slices; forwarded packets are counted at UDP sinks in this process. BENCH_SECONDS of traffic per
// variant and N. Printed: the ratio of the totals, and the median (with quartiles) of the per-round ratios (a
// round = one slice of each variant, back to back), which a burst of foreign load in one slice cannot move.
// Loss is per variant over all its slices. The Node process generates and sinks the traffic (and runs the
// bridge's control plane), so its CPU is not in the ratio; it is printed per variant over that variant's slices,
// where per-packet work of the control plane in Node would show. Absolute numbers depend on the machine's load;
// only the side-by-side ratios mean something.
//
// Attribution switches (the bridge variant only): BENCH_NO_SPEAKER=1 (no observer), BENCH_NO_LOAD=1 (no load
// sampling), BENCH_LOAD_MS (sampling interval, default 5000 = bridge.statsIntervalMs), BENCH_SPEAKER_MS (observer
// interval, default the bridge's), BENCH_AUDIO_LEVEL=0 (RTP without the audio-level extension, all variants).
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { loadavg, setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { offerDescription, producerRtpParameters, type Colibri2Media } from '@hummingbird/xmpp';
import type { types } from 'mediasoup';
import { ColibriService } from '../src/colibri.js';
import { Conference, SPEAKER_INTERVAL_MS } from '../src/conference.js';
import { MID_MODE } from '../src/endpoint.js';
import { LoadMonitor } from '../src/load.js';
import { ROUTER_MEDIA_CODECS } from '../src/media/codecs.js';
import { WorkerPool } from '../src/media/worker-pool.js';
import { cpuNs, measureCallCosts } from './control-calls.js';

const env = process.env;
const SENDERS = Number(env['BENCH_SENDERS'] ?? 4);
const PPS = Number(env['BENCH_PPS'] ?? 400); // per sender
const RECEIVER_STEPS = (env['BENCH_N'] ?? '8,32,64,128,256,512').split(',').map(Number);
/** Seconds of traffic per variant and N. */
const SECONDS = Number(env['BENCH_SECONDS'] ?? 9);
const SLICE_MS = Number(env['BENCH_SLICE_MS'] ?? 300);
const AUDIO_LEVEL = env['BENCH_AUDIO_LEVEL'] !== '0';
const BRIDGE_SPEAKER = env['BENCH_NO_SPEAKER'] !== '1';
const BRIDGE_LOAD = env['BENCH_NO_LOAD'] !== '1';
const LOAD_MS = Number(env['BENCH_LOAD_MS'] ?? 5_000);
const SPEAKER_MS = Number(env['BENCH_SPEAKER_MS'] ?? SPEAKER_INTERVAL_MS);
/**
 * BENCH_AA=1: an A/A check of the method: the `bare+aso` slot runs a second plain `bare` topology, so its ratio to
 * `bare` shows how far two identical topologies drift apart on this machine.
 */
const AA = env['BENCH_AA'] === '1';
/** BENCH_BUILD_ORDER=reverse: the bridge topology is built (and its worker started) first instead of last. */
const BUILD_REVERSED = env['BENCH_BUILD_ORDER'] === 'reverse';
/** BENCH_BARE_PARAMS=mapped: the bare producers get the bridge's mapped RTP parameters (attribution only). */
const BARE_MAPPED = env['BENCH_BARE_PARAMS'] === 'mapped';
/**
 * BENCH_RENICE=-10 (root): this process and the workers get priority over other work on a shared machine for
 * the run, so foreign load preempts the measured slices less (as `bench/worker.ts --renice`).
 */
const RENICE = Number(env['BENCH_RENICE'] ?? 0);
const PAYLOAD = Buffer.alloc(160, 0xab);
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const silentLogger = { warn: () => undefined, debug: () => undefined, info: () => undefined };

const VARIANTS = ['bare', 'bare+aso', 'bridge'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * One RTP packet; with `levelExtId` it carries ssrc-audio-level (RFC 6464, one-byte header, RFC 8285): sender 0
 * is loud with the voice bit, the others are near silence, so there is one dominant speaker.
 */
function rtp(seq: number, ts: number, ssrc: number, sender: number, levelExtId: number | undefined): Buffer {
  const ext = levelExtId === undefined ? 0 : 8;
  const p = Buffer.alloc(12 + ext + PAYLOAD.length);
  p[0] = levelExtId === undefined ? 0x80 : 0x90;
  p[1] = 100; // the router's opus payload type
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  if (levelExtId !== undefined) {
    p.writeUInt16BE(0xbede, 12);
    p.writeUInt16BE(1, 14); // one 32-bit word of extensions
    p[16] = (levelExtId << 4) | 0; // length - 1 = 0
    p[17] = sender === 0 ? 0x80 | 20 : 120; // -20 dBov with voice / -120 dBov
  }
  PAYLOAD.copy(p, 12 + ext);
  return p;
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  s.setRecvBufferSize(8 * 1024 * 1024);
  return s;
}

interface Topology {
  readonly variant: Variant;
  readonly senders: { transport: types.PlainTransport; ssrc: number }[];
  readonly sinks: { socket: Socket; count: number }[];
  readonly pid: number;
  readonly levelExtId: number;
  seq: number;
  close(): Promise<void>;
}

const plainIn = (router: types.Router): Promise<types.PlainTransport> =>
  router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
const plainOut = (router: types.Router): Promise<types.PlainTransport> =>
  router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });

async function sinks(n: number): Promise<{ socket: Socket; count: number }[]> {
  const out: { socket: Socket; count: number }[] = [];
  for (let i = 0; i < n; i++) {
    const sink = { socket: await udp(), count: 0 };
    sink.socket.on('message', (m: Buffer) => {
      if (m.length >= 12 && (m[1] ?? 0) < 192) sink.count++; // RTP, not RTCP (RFC 5761 §4)
    });
    out.push(sink);
  }
  return out;
}

function levelExtensionId(router: types.Router): number {
  const h = router.rtpCapabilities.headerExtensions?.find((x) => x.kind === 'audio' && x.uri === AUDIO_LEVEL_URI);
  if (h === undefined) throw new Error('the router offers no ssrc-audio-level');
  return h.preferredId;
}

async function startWorker(): Promise<{ pool: WorkerPool; worker: types.Worker; router: types.Router }> {
  const pool = await WorkerPool.start({ workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, enableTcp: false, logLevel: 'warn' });
  const mw = pool.workers[0] as (typeof pool.workers)[number];
  const router = await mw.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  if (RENICE !== 0) setPriority(mw.worker.pid, RENICE);
  return { pool, worker: mw.worker, router };
}

/** `bare` and `bare+aso`: what a mediasoup application writes without any control plane. */
async function bare(n: number, variant: 'bare' | 'bare+aso', observer: boolean): Promise<Topology> {
  const { pool, worker, router } = await startWorker();
  const levelExtId = levelExtensionId(router);
  const aso = observer ? await router.createActiveSpeakerObserver({ interval: SPEAKER_MS }) : undefined;
  const senders: Topology['senders'] = [];
  const producers: types.Producer[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const transport = await plainIn(router);
    const ssrc = 1000 + i;
    const rtpParameters: types.RtpParameters = BARE_MAPPED
      ? producerRtpParameters(offerDescription(router.rtpCapabilities, 'audio', { midMode: MID_MODE }), { kind: 'audio', ssrcs: [ssrc], ssrcGroups: [] }, MID_MODE)
      : {
          codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
          headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: levelExtId }],
          encodings: [{ ssrc }],
        };
    const producer = await transport.produce({ kind: 'audio', rtpParameters });
    await aso?.addProducer({ producerId: producer.id });
    producers.push(producer);
    senders.push({ transport, ssrc });
  }
  const out = await sinks(n);
  for (const sink of out) {
    const t = await plainOut(router);
    await t.connect({ ip: '127.0.0.1', port: sink.socket.address().port });
    for (const p of producers) await t.consume({ producerId: p.id, rtpCapabilities: router.rtpCapabilities });
  }
  return {
    variant, senders, sinks: out, pid: worker.pid, levelExtId, seq: 0,
    close: async () => { for (const s of out) s.socket.close(); pool.close(); await sleep(50); },
  };
}

async function bridge(n: number): Promise<Topology> {
  const { pool, worker, router } = await startWorker();
  const mw = pool.workers[0] as (typeof pool.workers)[number];
  const conf = new Conference('bench-meeting', undefined, router, mw, silentLogger);
  if (BRIDGE_SPEAKER) await conf.startSpeakerDetection(SPEAKER_MS);
  // What the focus would echo back from the bridge's create answer.
  const media: Colibri2Media[] = (['audio', 'video'] as const).map((kind) => {
    const d = offerDescription(router.rtpCapabilities, kind, { midMode: MID_MODE });
    return { type: kind, payloadTypes: d.payloadTypes, headerExtensions: d.headerExtensions, extmapAllowMixed: true };
  });
  const senders: Topology['senders'] = [];
  for (let i = 0; i < SENDERS; i++) {
    const transport = await plainIn(router);
    const ssrc = 1000 + i;
    const ep = await conf.createEndpoint(`sender${i}`, undefined, false, transport);
    ep.addMedia(media);
    const src = await ep.produce({ type: 'audio', id: `sender${i}-a0`, sources: [{ ssrc, name: `sender${i}-a0`, parameters: [] }], ssrcGroups: [] });
    if (src === undefined) throw new Error('no producer');
    await conf.observeAudio(src.producer);
    await conf.consumeEverywhere(ep, src.producer);
    senders.push({ transport, ssrc });
  }
  const out = await sinks(n);
  for (const [i, sink] of out.entries()) {
    const t = await plainOut(router);
    await t.connect({ ip: '127.0.0.1', port: sink.socket.address().port });
    const ep = await conf.createEndpoint(`receiver${i}`, undefined, false, t);
    ep.addMedia(media);
    await conf.consumeAllFor(ep);
    await ep.updateConsumers();
  }
  // The bridge's periodic work runs as in production (load sampling every stats interval).
  const colibri = new ColibriService({ pool, logger: silentLogger, refuseNewConferences: () => false });
  colibri.conferences.set(conf.meetingId, conf);
  const load = new LoadMonitor(pool, colibri, 50_000);
  const sampler = BRIDGE_LOAD ? setInterval(() => void load.sample(), LOAD_MS) : undefined;
  return {
    variant: 'bridge', senders, sinks: out, pid: worker.pid, levelExtId: levelExtensionId(router), seq: 0,
    close: async () => { clearInterval(sampler); for (const s of out) s.socket.close(); conf.close(); pool.close(); await sleep(50); },
  };
}

const out = await udp();
function tick(t: Topology): void {
  t.seq++;
  const ext = AUDIO_LEVEL ? t.levelExtId : undefined;
  t.senders.forEach((s, i) => out.send(rtp(t.seq, t.seq * 960, s.ssrc, i, ext), s.transport.tuple.localPort, '127.0.0.1'));
}

/** Sends `ticks` ticks to `t`, paced against the clock (a slow tick catches up instead of lowering the rate). */
async function send(t: Topology, ticks: number): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  while (sent < ticks) {
    const due = Math.min(ticks, Math.floor(((performance.now() - t0) / 1000) * PPS) + 1);
    while (sent < due) { tick(t); sent++; }
    await sleep(5);
  }
}

/** Deterministic PRNG (mulberry32), so a run's slice order can be repeated with the same BENCH_SEED. */
let seed = Number(env['BENCH_SEED'] ?? 1) >>> 0;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Per variant: worker CPU of each round (one slice of every variant), ticks sent, forwarded packets, Node CPU. */
interface Tally { readonly roundNs: number[]; ticks: number; nodeUs: number; forwarded: number }

/** One N: the three topologies, ROUNDS rounds of one slice per variant (order rotating). */
async function measureN(n: number): Promise<Record<Variant, Tally>> {
  const topologies: Topology[] = [];
  try {
    for (const v of BUILD_REVERSED ? [...VARIANTS].reverse() : VARIANTS) topologies.push(v === 'bridge' ? await bridge(n) : await bare(n, v, v === 'bare+aso' && !AA));
    // For a profiler: `perf record -e cpu-clock -p <pid>`.
    if (env['BENCH_PRINT_PIDS'] === '1') console.log(`N=${n} worker pids: ${topologies.map((t) => `${t.variant} ${t.pid}`).join(', ')}`);
    // Warm-up: comedia latches, consumers resume, the observer has levels.
    for (const t of topologies) await send(t, Math.ceil(PPS / 2));
    await sleep(300);
    for (const t of topologies) for (const s of t.sinks) s.count = 0;
    const tally = (): Tally => ({ roundNs: [], ticks: 0, nodeUs: 0, forwarded: 0 });
    const tallies: Record<Variant, Tally> = { bare: tally(), 'bare+aso': tally(), bridge: tally() };
    const sliceTicks = Math.max(1, Math.round((SLICE_MS / 1000) * PPS));
    const rounds = Math.max(1, Math.round((SECONDS * 1000) / SLICE_MS));
    for (let round = 0; round < rounds; round++) {
      // A fresh random order every round: no variant always takes the same place or follows the same one.
      for (const t of shuffled(topologies)) {
        const tally = tallies[t.variant];
        const c0 = cpuNs(t.pid);
        const n0 = process.cpuUsage();
        await send(t, sliceTicks);
        await sleep(15); // the last burst is forwarded inside the slice
        tally.roundNs.push(cpuNs(t.pid) - c0);
        const n1 = process.cpuUsage(n0);
        tally.nodeUs += n1.user + n1.system;
        tally.ticks += sliceTicks;
      }
    }
    await sleep(300); // in flight
    for (const t of topologies) tallies[t.variant].forwarded = t.sinks.reduce((a, s) => a + s.count, 0);
    return tallies;
  } finally {
    for (const t of topologies) await t.close();
  }
}

const totalNs = (t: Tally): number => t.roundNs.reduce((a, x) => a + x, 0);
const usPerPacket = (t: Tally): number => totalNs(t) / 1000 / Math.max(1, t.forwarded);
const lossOf = (t: Tally, n: number): number => Math.max(0, 1 - t.forwarded / Math.max(1, t.ticks * SENDERS * n));
const fmt = (x: number, d = 2): string => x.toFixed(d);
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

const load0 = loadavg();
if (RENICE !== 0) setPriority(process.pid, RENICE);
console.log(
  `forwarding bench: ${SENDERS} senders × ${PPS} pps (Opus-sized RTP${AUDIO_LEVEL ? ' with ssrc-audio-level' : ''}), receivers ${RECEIVER_STEPS.join(',')}; ` +
    `${SECONDS} s of traffic per variant and N, in ${SLICE_MS} ms slices, each round the three in a random order`,
);
console.log(
  `bridge variant: speaker detection ${BRIDGE_SPEAKER ? `on (${SPEAKER_MS} ms)` : 'OFF'}, load sampling ${BRIDGE_LOAD ? `every ${LOAD_MS} ms` : 'OFF'}; ` +
    `${AA ? 'A/A CHECK: the bare+aso column is a second plain bare topology (no observer)' : `bare+aso = bare mediasoup + ActiveSpeakerObserver (${SPEAKER_MS} ms)`}; bare producers: ${BARE_MAPPED ? "the bridge's mapped parameters" : 'Opus + audio level only'}; ` +
    `${BUILD_REVERSED ? 'built bridge first; ' : ''}` +
    `load average ${load0.map((x) => fmt(x)).join(' ')}${RENICE === 0 ? '' : `; bench process and workers reniced to ${RENICE}`}`,
);
console.log('worker µs per forwarded packet (loss); ratio = total over total, then the median of the per-round ratios [quartiles]');
console.log('N    | bare            | bare+aso        | bridge          | bridge/bare+aso: CONTROL PLANE     | bridge/bare: incl. the observer    | bare+aso/bare: observer alone      | node µs/pkt (same order)');
const largest: Record<Variant, number> = { bare: 0, 'bare+aso': 0, bridge: 0 };
/** The bare worker's CPU per second at each N's traffic, µs (for the control-call table). */
const bareUsPerSecond = new Map<number, number>();
for (const n of RECEIVER_STEPS) {
  const r = await measureN(n);
  bareUsPerSecond.set(n, usPerPacket(r.bare) * SENDERS * PPS * n);
  const cell = (v: Variant): string => `${fmt(usPerPacket(r[v])).padStart(6)} (${fmt(lossOf(r[v], n) * 100)}%)`.padEnd(15);
  const ratio = (a: Variant, b: Variant): string => {
    const total = usPerPacket(r[a]) / usPerPacket(r[b]);
    // Same ticks per slice: the per-round ratio of CPU is the ratio per packet when nothing is lost.
    const per = r[a].roundNs.map((x, i) => x / (r[b].roundNs[i] ?? NaN));
    return `${fmt(total, 3)} med ${fmt(quantile(per, 0.5), 3)} [${fmt(quantile(per, 0.25))}–${fmt(quantile(per, 0.75))}]`.padEnd(34);
  };
  for (const v of VARIANTS) if (lossOf(r[v], n) < 0.01) largest[v] = n;
  const nodeUs = VARIANTS.map((v) => fmt(r[v].nodeUs / Math.max(1, r[v].forwarded))).join('/');
  console.log(`${String(n).padEnd(4)} | ${cell('bare')} | ${cell('bare+aso')} | ${cell('bridge')} | ${ratio('bridge', 'bare+aso')} | ${ratio('bridge', 'bare')} | ${ratio('bare+aso', 'bare')} | ${nodeUs}`);
}
console.log(
  `largest N with < 1 % loss: bare ${largest.bare}, bare+aso ${largest['bare+aso']}, bridge ${largest.bridge} ` +
    `(of the steps tried; the Node sinks share the machine); load average ${loadavg().map((x) => fmt(x)).join(' ')}`,
);

// The periodic requests of the control plane, at production intervals: the load sample (every
// bridge.statsIntervalMs = 5 s: getResourceUsage + getStats per producer and per non-paused consumer) and
// ConnectionStats (every 10 s, one transport getStats per endpoint with a bridge channel).
const costs = await measureCallCosts();
console.log(
  `control-plane requests, worker µs per call: producer.getStats ${fmt(costs.producerGetStats, 1)}, consumer.getStats ${fmt(costs.consumerGetStats, 1)}, ` +
    `transport.getStats ${fmt(costs.transportGetStats, 1)}, getResourceUsage ${fmt(costs.getResourceUsage, 1)}; idle ActiveSpeakerObserver ${fmt(costs.observerIdlePerSecond, 0)} µs/s`,
);
for (const n of RECEIVER_STEPS) {
  const perSecond =
    (costs.getResourceUsage + SENDERS * costs.producerGetStats + SENDERS * n * costs.consumerGetStats) / 5 + ((SENDERS + n) * costs.transportGetStats) / 10;
  const base = bareUsPerSecond.get(n) ?? NaN;
  console.log(`  N=${n}: ${fmt(perSecond, 0)} µs/s of worker CPU = ${fmt((perSecond / base) * 100, 3)} % of the bare worker's CPU at this traffic (${fmt(base / 1000, 1)} ms/s)`);
}
out.close();
process.exit(0);
