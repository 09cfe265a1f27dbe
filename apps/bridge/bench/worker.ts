// Worker benchmark: the bare forwarding harness of benchmarks.md §1, run with the patched
// worker this workspace builds (infra/mediasoup-worker).
//
// One router on one worker; one producer pair (Opus 50 pps + VP8 75 pps, ~600 kbps) fed from
// this process over comedia PlainTransports; N subscribers, each a PlainTransport (plain RTP or
// SRTP AES_CM_128_HMAC_SHA1_80) with one audio and one video consumer, sending to UDP sink
// sockets in a separate process (bench/sink.ts, one socket per 25 subscribers).
//
// Per phase it prints worker CPU per forwarded packet (utime+stime of the worker pid from
// /proc/<pid>/stat ÷ (packets sent × N)) and loss (expected − received at the sinks), split
// into where packets went missing: before the worker (producer count, and the kernel drops of
// its input sockets), inside the worker (consumers' packet counts) and at the sink sockets
// (kernel drops from /proc/net/udp).
// Plain and SRTP phases alternate in the same run; the SRTP/plain ratio compares them side by
// side (spec mediasoup-offline-build.md §13: Debian's NSS libsrtp2 costs ~2.1x, OpenSSL ~1.2x).
//
//   pnpm --filter @hummingbird/bridge bench [-- --subscribers 200 --loss-subscribers 500
//     --seconds 10 --rounds 3 --max-seconds 420 --renice 0]
//
// The numbers are only meaningful on a quiet machine (benchmarks.md §1); the load average is
// printed at start and end. On a shared machine `--renice=-10` (root) gives the benchmark's own
// three processes priority over other work for the length of the run, so that the worker gets
// the one core it is supposed to be measured on; the output says when it was used.
//
// Every phase and the whole run are bounded in time; the run stops with an error at the bound.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMediasoup } from '@hummingbird/mediasoup-worker';
import type { types } from 'mediasoup';
import { ROUTER_MEDIA_CODECS } from '../src/index.js';
import type { SinkReply, SinkRequest } from './sink.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SUBSCRIBERS_PER_SINK_SOCKET = 25;
const SINK_RECV_BUFFER = 8 * 1024 * 1024;
const AUDIO_PPS = 50;
const VIDEO_PPS = 75;
const AUDIO_SSRC = 11111111;
const VIDEO_SSRC = 22222222;
const SRTP_SUITE: types.SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80';
/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK); 100 on Linux/x86-64). */
const CLK_TCK = 100;

function parseOptions(argv: string[]): {
  n: number;
  lossN: number;
  seconds: number;
  lossSeconds: number;
  rounds: number;
  maxSeconds: number;
  renice: number;
} {
  const { values } = parseArgs({
    // `pnpm bench -- --x` passes the `--` through.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      subscribers: { type: 'string', default: '200' },
      'loss-subscribers': { type: 'string', default: '500' },
      seconds: { type: 'string', default: '10' },
      'loss-seconds': { type: 'string', default: '15' },
      rounds: { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '420' },
      renice: { type: 'string', default: '0' },
    },
    allowPositionals: false,
  });
  const count = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`--${name} must be a non-negative integer (got ${values[name]})`);
    return n;
  };
  // Nice value for the worker, the sink process and this process; 0 leaves them alone.
  const renice = Number(values.renice);
  if (!Number.isInteger(renice) || renice < -20 || renice > 19) throw new RangeError(`--renice must be -20..19 (got ${values.renice})`);
  return {
    n: count('subscribers'),
    lossN: count('loss-subscribers'),
    seconds: count('seconds'),
    lossSeconds: count('loss-seconds'),
    rounds: count('rounds'),
    maxSeconds: count('max-seconds'),
    renice,
  };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(64);
}
const { n: N, lossN: LOSS_N, seconds: SECONDS, lossSeconds: LOSS_SECONDS, rounds: ROUNDS, maxSeconds: MAX_SECONDS, renice: RENICE } = options;

// --- /proc readers --------------------------------------------------------------------------

/** utime + stime of a process in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its ')' are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Kernel drops (last column of /proc/net/udp) summed over sockets bound to 127.0.0.1:<port>. */
function udpDrops(ports: ReadonlySet<number>): number {
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local) continue;
    const port = parseInt(local.split(':')[1] ?? '', 16);
    if (ports.has(port)) drops += Number(cols[cols.length - 1]) || 0;
  }
  return drops;
}

// --- the sink process -----------------------------------------------------------------------

class SinkProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: number[],
    readonly recvBufferBytes: number,
  ) {}

  static async start(sockets: number): Promise<SinkProcess> {
    const child = fork(join(HERE, 'sink.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const sink = new SinkProcess(child, [], 0);
    const opened = await sink.request({ op: 'open', sockets, recvBufferBytes: SINK_RECV_BUFFER });
    if (opened.op !== 'opened') throw new Error(`sink process answered ${opened.op} to open`);
    return new SinkProcess(child, opened.ports, opened.recvBufferBytes);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  request(message: SinkRequest): Promise<SinkReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`sink process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: SinkReply) => {
        this.child.off('exit', onExit);
        resolve(reply);
      });
      this.child.send(message);
    });
  }

  async counts(): Promise<{ byPayloadType: Record<number, number>; other: number }> {
    const reply = await this.request({ op: 'read' });
    if (reply.op !== 'counts') throw new Error(`sink process answered ${reply.op} to read`);
    return reply;
  }

  close(): void {
    if (this.child.connected) this.child.send({ op: 'close' } satisfies SinkRequest);
    this.child.kill();
  }
}

// --- the sender: constant-rate Opus + VP8 into the producers --------------------------------

function rtp(pt: number, seq: number, ts: number, ssrc: number, payload: Buffer): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = 0x80 | pt; // marker: every packet ends a frame
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(ts >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  payload.copy(packet, 12);
  return packet;
}

const OPUS_PAYLOAD = Buffer.alloc(100, 0xab);
/** VP8 payload descriptor (S=1) + key frame header, so every packet is a decodable key frame (RFC 7741 §4). */
const VP8_PAYLOAD = Buffer.concat([
  Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]),
  Buffer.alloc(989, 0x5a),
]);

class Sender {
  audioSent = 0;
  videoSent = 0;
  /** Most packets sent in one timer tick: a late tick (this process starved) sends a burst. */
  maxBurst = 0;
  private audioSeq = 0;
  private videoSeq = 0;

  constructor(
    private readonly socket: Socket,
    private readonly audioPort: number,
    private readonly videoPort: number,
  ) {}

  /** Sends at AUDIO_PPS / VIDEO_PPS for `seconds`, catching up on late timer ticks. */
  run(seconds: number): Promise<void> {
    const start = performance.now();
    return new Promise((resolve) => {
      const tick = (): void => {
        const elapsed = Math.min((performance.now() - start) / 1000, seconds);
        const before = this.audioSent + this.videoSent;
        while (this.audioSent < Math.floor(elapsed * AUDIO_PPS)) this.sendAudio();
        while (this.videoSent < Math.floor(elapsed * VIDEO_PPS)) this.sendVideo();
        this.maxBurst = Math.max(this.maxBurst, this.audioSent + this.videoSent - before);
        if (elapsed >= seconds) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 5);
    });
  }

  reset(): void {
    this.audioSent = 0;
    this.videoSent = 0;
    this.maxBurst = 0;
  }

  private sendAudio(): void {
    const seq = this.audioSeq++;
    this.socket.send(rtp(111, seq, seq * 960, AUDIO_SSRC, OPUS_PAYLOAD), this.audioPort, '127.0.0.1');
    this.audioSent++;
  }

  private sendVideo(): void {
    const seq = this.videoSeq++;
    this.socket.send(rtp(96, seq, seq * 1200, VIDEO_SSRC, VP8_PAYLOAD), this.videoPort, '127.0.0.1');
    this.videoSent++;
  }
}

// --- one phase -------------------------------------------------------------------------------

type Mode = 'plain' | 'srtp';

interface PhaseResult {
  mode: Mode;
  subscribers: number;
  seconds: number;
  expected: number;
  workerCpuSeconds: number;
  usPerPacket: number;
  workerCpuPercent: number;
  forwardedPps: number;
  producerLost: number;
  inputKernelDrops: number;
  senderMaxBurst: number;
  workerForwarded: number;
  received: number;
  sinkKernelDrops: number;
  sinkCpuPercent: number;
  lossPercent: number;
}

interface Rig {
  worker: types.Worker;
  router: types.Router;
  audioProducer: types.Producer;
  videoProducer: types.Producer;
  sender: Sender;
  sink: SinkProcess;
  /** The worker's input sockets (the producers' comedia transports). */
  inputPorts: ReadonlySet<number>;
}

/** A random SRTP master key + salt (30 bytes for AES_CM_128). The sinks never decrypt. */
function srtpKey(): string {
  return randomBytes(30).toString('base64');
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

async function producerPackets(producer: types.Producer): Promise<number> {
  const stats = await producer.getStats();
  return stats.reduce((sum, s) => sum + s.packetCount, 0);
}

async function runPhase(rig: Rig, mode: Mode, subscribers: number, seconds: number): Promise<PhaseResult> {
  const { router, audioProducer, videoProducer, sender, sink, worker } = rig;
  const transports: types.PlainTransport[] = [];
  const consumers: types.Consumer[] = [];
  try {
    await inBatches([...Array(subscribers).keys()], 25, async (i) => {
      const transport = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: false,
        ...(mode === 'srtp' ? { enableSrtp: true, srtpCryptoSuite: SRTP_SUITE } : {}),
      });
      transports.push(transport);
      const port = sink.ports[Math.floor(i / SUBSCRIBERS_PER_SINK_SOCKET)];
      if (port === undefined) throw new Error(`no sink socket for subscriber ${i}`);
      await transport.connect({
        ip: '127.0.0.1',
        port,
        ...(mode === 'srtp' ? { srtpParameters: { cryptoSuite: SRTP_SUITE, keyBase64: srtpKey() } } : {}),
      });
      for (const producer of [audioProducer, videoProducer]) {
        consumers.push(await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities }));
      }
    });
    const audioPt = consumers.find((c) => c.kind === 'audio')?.rtpParameters.codecs[0]?.payloadType;
    const videoPt = consumers.find((c) => c.kind === 'video')?.rtpParameters.codecs[0]?.payloadType;

    await sink.request({ op: 'reset' });
    const sinkPorts = new Set(sink.ports);
    const drops0 = udpDrops(sinkPorts);
    const inputDrops0 = udpDrops(rig.inputPorts);
    const producer0 = (await producerPackets(audioProducer)) + (await producerPackets(videoProducer));
    sender.reset();

    const cpu0 = cpuSeconds(worker.pid);
    const sinkCpu0 = cpuSeconds(sink.pid);
    const t0 = performance.now();
    // Input drops second by second: shows whether losses cluster (a stall) or spread evenly.
    const dropTrace: number[] = [];
    let lastDrops = inputDrops0;
    const tracer = setInterval(() => {
      const d = udpDrops(rig.inputPorts);
      dropTrace.push(d - lastDrops);
      lastDrops = d;
    }, 1000);
    await sender.run(seconds);
    clearInterval(tracer);
    const wall = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(worker.pid);
    const sinkCpu1 = cpuSeconds(sink.pid);

    // Drain: wait until the sinks stop counting (bounded at 5 s).
    let received = 0;
    for (let i = 0, last = -1; i < 25; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const counts = await sink.counts();
      received = (counts.byPayloadType[audioPt ?? -1] ?? 0) + (counts.byPayloadType[videoPt ?? -1] ?? 0);
      if (received === last) break;
      last = received;
    }
    const producer1 = (await producerPackets(audioProducer)) + (await producerPackets(videoProducer));
    const consumerStats = await inBatches(consumers, 50, (c) => c.getStats());
    const workerForwarded = consumerStats.flat().reduce((sum, s) => sum + (s.type === 'outbound-rtp' ? s.packetCount : 0), 0);

    if (dropTrace.some((d) => d > 0)) console.log(`  (${mode} ${subscribers}: worker input drops per second: ${dropTrace.join(' ')})`);
    const sent = sender.audioSent + sender.videoSent;
    const expected = sent * subscribers;
    const workerCpuSeconds = cpu1 - cpu0;
    return {
      mode,
      subscribers,
      seconds: wall,
      expected,
      workerCpuSeconds,
      usPerPacket: expected > 0 ? (workerCpuSeconds * 1e6) / expected : Number.NaN,
      workerCpuPercent: (workerCpuSeconds / wall) * 100,
      forwardedPps: expected / wall,
      producerLost: sent - (producer1 - producer0),
      inputKernelDrops: udpDrops(rig.inputPorts) - inputDrops0,
      senderMaxBurst: sender.maxBurst,
      workerForwarded,
      received,
      sinkKernelDrops: udpDrops(sinkPorts) - drops0,
      sinkCpuPercent: ((sinkCpu1 - sinkCpu0) / wall) * 100,
      lossPercent: expected > 0 ? ((expected - received) / expected) * 100 : 0,
    };
  } finally {
    for (const t of transports) t.close();
  }
}

// --- report ----------------------------------------------------------------------------------

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

function printHeader(): void {
  console.log(
    [
      'mode ',
      '   N',
      ' fwd pps',
      'worker CPU',
      'µs/pkt',
      '  expected',
      'worker fwd',
      '  received',
      'loss %',
      'lost before worker (kernel drops)',
      'sink drops',
      'sink CPU',
      'sender max burst',
    ].join(' | '),
  );
}

function printRow(r: PhaseResult): void {
  console.log(
    [
      r.mode.padEnd(5),
      String(r.subscribers).padStart(4),
      fmt(r.forwardedPps / 1000, 1).padStart(7) + 'k',
      (fmt(r.workerCpuPercent, 0) + ' %').padStart(10),
      fmt(r.usPerPacket, 2).padStart(6),
      String(r.expected).padStart(10),
      String(r.workerForwarded).padStart(10),
      String(r.received).padStart(10),
      fmt(r.lossPercent, 3).padStart(6),
      `${r.producerLost} (${r.inputKernelDrops})`.padStart(33),
      String(r.sinkKernelDrops).padStart(10),
      (fmt(r.sinkCpuPercent, 0) + ' %').padStart(8),
      String(r.senderMaxBurst).padStart(16),
    ].join(' | '),
  );
}

function workerBuildInfo(bin: string): string {
  const path = join(dirname(bin), 'build-info.json');
  if (!existsSync(path)) return 'no build-info.json next to the worker';
  const info = JSON.parse(readFileSync(path, 'utf8')) as { libsrtp2?: string; srtp?: { variant?: string; crypto?: string } };
  return `libsrtp: ${info.libsrtp2 ?? '?'}, variant ${info.srtp?.variant ?? 'unrecorded (built before the OpenSSL recipe)'}`;
}

// --- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const mediasoup = await loadMediasoup();
  const maxSink = Math.max(N, LOSS_N);
  const sink = await SinkProcess.start(Math.max(1, Math.ceil(maxSink / SUBSCRIBERS_PER_SINK_SOCKET)));
  const worker = await mediasoup.createWorker({ logLevel: 'error' });
  const senderSocket = createSocket('udp4');
  if (RENICE !== 0) for (const pid of [worker.pid, sink.pid, process.pid]) setPriority(pid, RENICE);
  const stop = (): void => {
    worker.close();
    sink.close();
    senderSocket.close();
  };
  const bound = setTimeout(() => {
    console.error(`\nbench: the run exceeded --max-seconds ${MAX_SECONDS}; stopping (results above are partial)`);
    stop();
    process.exit(3);
  }, MAX_SECONDS * 1000);
  bound.unref();

  try {
    await new Promise<void>((resolve) => senderSocket.bind(0, '127.0.0.1', resolve));
    const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    const comedia = (): Promise<types.PlainTransport> =>
      router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const audioIn = await comedia();
    const videoIn = await comedia();
    const audioProducer = await audioIn.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: AUDIO_SSRC }] },
    });
    const videoProducer = await videoIn.produce({
      kind: 'video',
      rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: VIDEO_SSRC }] },
    });
    const sender = new Sender(senderSocket, audioIn.tuple.localPort, videoIn.tuple.localPort);
    const inputPorts = new Set([audioIn.tuple.localPort, videoIn.tuple.localPort]);
    const rig: Rig = { worker, router, audioProducer, videoProducer, sender, sink, inputPorts };

    console.log(`worker benchmark (benchmarks.md §1 harness): mediasoup ${mediasoup.version}, worker ${mediasoup.workerBin}`);
    console.log(`  ${workerBuildInfo(mediasoup.workerBin)}`);
    console.log(
      `  input ${AUDIO_PPS} pps Opus + ${VIDEO_PPS} pps VP8 (~${Math.round((VIDEO_PPS * (VP8_PAYLOAD.length + 12) * 8) / 1000)} kbps); ` +
        `SRTP suite ${SRTP_SUITE}; sink: ${sink.ports.length} sockets in pid ${sink.pid}, receive buffer ${sink.recvBufferBytes} B`,
    );
    console.log(`  load average at start: ${load()}${RENICE !== 0 ? `; worker, sink and controller reniced to ${RENICE}` : ''}`);
    // Warm-up: latch the comedia transports and let the first key frame through.
    await sender.run(1);

    const plain: PhaseResult[] = [];
    const srtp: PhaseResult[] = [];
    if (N > 0 && ROUNDS > 0) {
      console.log(`\nratio run: ${ROUNDS} rounds of plain then SRTP, ${N} subscribers, ${SECONDS} s each`);
      printHeader();
      for (let round = 0; round < ROUNDS; round++) {
        const p = await runPhase(rig, 'plain', N, SECONDS);
        printRow(p);
        plain.push(p);
        const s = await runPhase(rig, 'srtp', N, SECONDS);
        printRow(s);
        srtp.push(s);
      }
    }
    let lossRun: PhaseResult | undefined;
    if (LOSS_N > 0) {
      console.log(`\nloss run: SRTP, ${LOSS_N} subscribers, ${LOSS_SECONDS} s`);
      printHeader();
      lossRun = await runPhase(rig, 'srtp', LOSS_N, LOSS_SECONDS);
      printRow(lossRun);
    }

    console.log('\nsummary');
    if (plain.length > 0) {
      const p = median(plain.map((r) => r.usPerPacket));
      const s = median(srtp.map((r) => r.usPerPacket));
      const ratios = plain.map((r, i) => (srtp[i]?.usPerPacket ?? Number.NaN) / r.usPerPacket);
      console.log(`  ${N} subscribers: plain ${fmt(p, 2)} µs/pkt, SRTP ${fmt(s, 2)} µs/pkt (medians)`);
      console.log(
        `  SRTP/plain ratio: ${fmt(s / p, 2)} (ratio of the medians; median of the per-round ratios ${fmt(median(ratios), 2)}; ` +
          `per round: ${ratios.map((r) => fmt(r, 2)).join(', ')}); goal ≤ 1.30`,
      );
    }
    if (lossRun) {
      console.log(
        `  ${LOSS_N} SRTP subscribers: loss ${fmt(lossRun.lossPercent, 3)} % of ${lossRun.expected} ` +
          `(${fmt(lossRun.forwardedPps / 1000, 1)}k pps, worker CPU ${fmt(lossRun.workerCpuPercent, 0)} %); goal 0 %`,
      );
    }
    console.log(`  load average at end: ${load()}`);
  } finally {
    clearTimeout(bound);
    stop();
  }
}

main().catch((error: unknown) => {
  console.error('bench:', error instanceof Error ? error.message : error);
  process.exit(1);
});
