// Forwarding benchmark (issue acceptance: "N receivers × M senders over PlainTransports with synthetic RTP, the
// bridge vs the same topology built directly on mediasoup, same run"). Both variants run on a fresh single
// worker each, alternately, with the same synthetic traffic:
//  - bare: Router + PlainTransports + produce/consume straight on mediasoup;
//  - bridge: the same PlainTransports driven through the bridge's own media plane (Conference, Endpoint:
//    `<media>` from the router, producers from COLIBRI2-style sources through the packages/xmpp mapping,
//    consumers created paused and resumed by the allocation, the ActiveSpeakerObserver on every audio
//    producer, the LoadMonitor sampling every second).
// Prints, per N: packets forwarded, loss, worker CPU µs per forwarded packet for each variant and their ratio
// (goal ≤ 1.05), then the largest N with < 1 % loss per variant. The Node process also generates and sinks the
// traffic, so its CPU is reported apart and not in the ratio. Absolute numbers depend on the machine's load;
// only the side-by-side ratio means something.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { offerDescription, type Colibri2Media } from '@hummingbird/xmpp';
import type { types } from 'mediasoup';
import { ColibriService } from '../src/colibri.js';
import { Conference } from '../src/conference.js';
import { MID_MODE } from '../src/endpoint.js';
import { LoadMonitor } from '../src/load.js';
import { ROUTER_MEDIA_CODECS } from '../src/media/codecs.js';
import { WorkerPool } from '../src/media/worker-pool.js';

const SENDERS = Number(process.env['BENCH_SENDERS'] ?? 4);
const PPS = Number(process.env['BENCH_PPS'] ?? 50); // per sender: an Opus stream
const RECEIVER_STEPS = (process.env['BENCH_N'] ?? '2,4,8,16,32').split(',').map(Number);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
/** Pairs per N (order alternating); the median ratio is reported, since other load on the machine is noise. */
const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 3);
const PAYLOAD = Buffer.alloc(160, 0xab);
const silentLogger = { warn: () => undefined, debug: () => undefined, info: () => undefined };

function rtp(seq: number, ts: number, ssrc: number): Buffer {
  const p = Buffer.alloc(12 + PAYLOAD.length);
  p[0] = 0x80;
  p[1] = 100; // the router's opus payload type
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  PAYLOAD.copy(p, 12);
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
  senders: { transport: types.PlainTransport; ssrc: number }[];
  sinks: { socket: Socket; count: number }[];
  worker: types.Worker;
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

const audioParams = (ssrc: number): types.RtpParameters => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});

async function bare(n: number): Promise<Topology> {
  const pool = await WorkerPool.start({ workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, enableTcp: false, logLevel: 'warn' });
  const mw = pool.workers[0] as (typeof pool.workers)[number];
  const router = await mw.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  const senders: Topology['senders'] = [];
  const producers: types.Producer[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const transport = await plainIn(router);
    const ssrc = 1000 + i;
    producers.push(await transport.produce({ kind: 'audio', rtpParameters: audioParams(ssrc) }));
    senders.push({ transport, ssrc });
  }
  const out = await sinks(n);
  for (const sink of out) {
    const t = await plainOut(router);
    await t.connect({ ip: '127.0.0.1', port: (sink.socket.address()).port });
    for (const p of producers) await t.consume({ producerId: p.id, rtpCapabilities: router.rtpCapabilities });
  }
  return { senders, sinks: out, worker: mw.worker, close: async () => { for (const s of out) s.socket.close(); pool.close(); await sleep(50); } };
}

async function bridge(n: number): Promise<Topology> {
  const pool = await WorkerPool.start({ workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, enableTcp: false, logLevel: 'warn' });
  const mw = pool.workers[0] as (typeof pool.workers)[number];
  const router = await mw.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  const conf = new Conference('bench-meeting', undefined, router, mw, silentLogger);
  // BENCH_NO_SPEAKER=1 leaves the ActiveSpeakerObserver out, to attribute its per-packet cost.
  const speaker = process.env['BENCH_NO_SPEAKER'] !== '1';
  if (speaker) await conf.startSpeakerDetection();
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
    await t.connect({ ip: '127.0.0.1', port: (sink.socket.address()).port });
    const ep = await conf.createEndpoint(`receiver${i}`, undefined, false, t);
    ep.addMedia(media);
    await conf.consumeAllFor(ep);
    await ep.updateConsumers();
  }
  // The bridge's periodic work runs as in production (load sampling every stats interval, 5 s).
  const colibri = new ColibriService({ pool, logger: silentLogger, refuseNewConferences: () => false });
  colibri.conferences.set(conf.meetingId, conf);
  const load = new LoadMonitor(pool, colibri, 50_000);
  const sampler = setInterval(() => void load.sample(), 5_000);
  return {
    senders, sinks: out, worker: mw.worker,
    close: async () => { clearInterval(sampler); for (const s of out) s.socket.close(); conf.close(); pool.close(); await sleep(50); },
  };
}

interface Result { forwarded: number; expected: number; loss: number; workerUsPerPacket: number; nodeUsPerPacket: number }

async function run(topology: Topology, n: number): Promise<Result> {
  const out = await udp();
  let seq = 0;
  const tick = (): void => {
    seq++;
    for (const s of topology.senders) out.send(rtp(seq, seq * 960, s.ssrc), s.transport.tuple.localPort, '127.0.0.1');
  };
  // Warm-up: comedia latches, consumers resume.
  for (let i = 0; i < 20; i++) { tick(); await sleep(1000 / PPS); }
  await sleep(300);
  for (const s of topology.sinks) s.count = 0;
  const ru0 = await topology.worker.getResourceUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const total = SECONDS * PPS;
  let sent = 0;
  while (sent < total) {
    // Paced against the clock, so a slow tick catches up instead of lowering the rate.
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * PPS) + 1);
    while (sent < due) { tick(); sent++; }
    await sleep(5);
  }
  await sleep(300); // in flight
  const ru1 = await topology.worker.getResourceUsage();
  const cpu1 = process.cpuUsage(cpu0);
  out.close();
  const forwarded = topology.sinks.reduce((a, s) => a + s.count, 0);
  const expected = sent * SENDERS * n;
  const workerMs = ru1.ru_utime + ru1.ru_stime - (ru0.ru_utime + ru0.ru_stime);
  return {
    forwarded, expected, loss: expected === 0 ? 0 : Math.max(0, 1 - forwarded / expected),
    workerUsPerPacket: (workerMs * 1000) / Math.max(1, forwarded),
    nodeUsPerPacket: (cpu1.user + cpu1.system) / Math.max(1, forwarded),
  };
}

async function measure(kind: 'bare' | 'bridge', n: number): Promise<Result> {
  const topology = kind === 'bare' ? await bare(n) : await bridge(n);
  try {
    return await run(topology, n);
  } finally {
    await topology.close();
  }
}

const fmt = (x: number, d = 2): string => x.toFixed(d);
console.log(`forwarding bench: ${SENDERS} senders × ${PPS} pps (Opus-sized RTP), ${SECONDS} s per run, receivers ${RECEIVER_STEPS.join(',')}`);
console.log(`${REPEAT} alternating pairs per N; the row shows the pair with the median ratio, all ratios in brackets`);
console.log('N    | bare: fwd pkts  loss   worker µs/pkt | bridge: fwd pkts  loss   worker µs/pkt | ratio bridge/bare (all) | node µs/pkt bare/bridge');
const largest = { bare: 0, bridge: 0 };
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
for (const n of RECEIVER_STEPS) {
  const pairs: { bare: Result; bridge: Result }[] = [];
  for (let r = 0; r < REPEAT; r++) {
    // Alternate the order so drift in machine load does not favour one variant.
    const first = r % 2 === 0 ? 'bare' : 'bridge';
    const a = await measure(first, n);
    const b = await measure(first === 'bare' ? 'bridge' : 'bare', n);
    pairs.push(first === 'bare' ? { bare: a, bridge: b } : { bare: b, bridge: a });
  }
  const ratios = pairs.map((p) => p.bridge.workerUsPerPacket / p.bare.workerUsPerPacket);
  const mid = pairs[ratios.indexOf(median(ratios))] ?? pairs[0];
  if (mid === undefined) continue;
  const bareR = mid.bare;
  const bridgeR = mid.bridge;
  if (pairs.every((p) => p.bare.loss < 0.01)) largest.bare = n;
  if (pairs.every((p) => p.bridge.loss < 0.01)) largest.bridge = n;
  console.log(
    `${String(n).padEnd(4)} | ${String(bareR.forwarded).padStart(9)} ${fmt(bareR.loss * 100)}% ${fmt(bareR.workerUsPerPacket).padStart(8)}      | ` +
      `${String(bridgeR.forwarded).padStart(9)} ${fmt(bridgeR.loss * 100)}% ${fmt(bridgeR.workerUsPerPacket).padStart(8)}       | ` +
      `${fmt(median(ratios), 3).padStart(8)} (${ratios.map((x) => fmt(x, 2)).join(' ')}) | ${fmt(bareR.nodeUsPerPacket)}/${fmt(bridgeR.nodeUsPerPacket)}`,
  );
}
console.log(`largest N with < 1 % loss: bare ${largest.bare}, bridge ${largest.bridge} (of the steps tried; the Node sinks share the machine)`);
process.exit(0);
