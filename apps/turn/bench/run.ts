// `pnpm bench` (apps/turn): the Hummingbird relay vs coturn vs node-turn, same load client, same run
// (issue 5; spec/turn.md §2.3, §4.3, §5 T8; benchmarks.md: baseline and ours side by side, ratios).
//
// Per mode (Send indications, ChannelData) the load clients allocate on every relay first; then for
// each rate every relay gets one bounded step (rotating the order per rate), so the three are measured
// minutes apart at most. Per step: server CPU (utime+stime of all its threads, /proc/<pid>/stat) ÷
// relayed datagrams (2 × echoed: client→peer and peer→client), loss, echoed rate, RTT p50/p99, server
// RSS, system-wide UDP receive-buffer drops, and the load client's own CPU and lag — the client must not
// be the bottleneck. Goal (issue 5): ≤ 1.5× coturn's CPU per packet, 0 loss up to 15k pps/direction.
//
// Options (all optional): --rates 5000,10000,15000,30000  --modes send,channel  --duration-ms 5000
//   --clients 100  --procs 2  --relays coturn,node-turn,hummingbird  --payload 200  --repeat 3  --json <file>
// Each (mode, rate) is measured --repeat times, relays interleaved (A B C, B C A, …); the table shows
// the median step by µs/pkt, and the ratios use those medians (benchmarks.md: medians and ratios).

import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startEchoPeer, type EchoPeer } from '../test/support-interop/coturn-tools.js';
import { cpuTotals, procSample, udpCounters } from '../test/support-interop/proc.js';
import { NODE_TURN_LIMITS, RelayUnavailableError, startRelay, type RelayKind, type RunningRelay } from '../test/support-interop/servers.js';
import type { FromClient, LoadMode, RunResult, ToClient } from './load-client.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '5000,10000,15000,30000' },
    modes: { type: 'string', default: 'send,channel' },
    'duration-ms': { type: 'string', default: '5000' },
    clients: { type: 'string', default: '100' },
    procs: { type: 'string', default: '2' },
    relays: { type: 'string', default: 'coturn,node-turn,hummingbird' },
    payload: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '3' },
    json: { type: 'string' },
    // The Hummingbird relay's UDP layer: auto (native if it builds) | native | dgram. Passed to the
    // relay child as HB_TURN_DATA_PATH; the relay's row names the layer it used.
    'data-path': { type: 'string' },
  },
});

const RATES = args.rates.split(',').map(Number);
const MODES = args.modes.split(',') as LoadMode[];
const DURATION_MS = Number(args['duration-ms']);
const CLIENTS = Number(args.clients);
const PROCS = Number(args.procs);
const PAYLOAD = Number(args.payload);
const DRAIN_MS = 700;
const KINDS = args.relays.split(',') as RelayKind[];
const REPEAT = Math.max(1, Number(args.repeat));

if (args['data-path'] !== undefined) process.env['HB_TURN_DATA_PATH'] = args['data-path'];

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

class LoadProc {
  private readonly waiters: Array<(m: FromClient) => void> = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromClient) => {
      const w = this.waiters.shift();
      if (w) w(m);
    });
  }
  static start(): LoadProc {
    return new LoadProc(fork(LOAD_CLIENT, [], { execArgv: ['--import', 'tsx', '--conditions=hummingbird-source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }
  request(message: ToClient, timeoutMs: number): Promise<FromClient> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load client: no answer to ${message.type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((m) => {
        clearTimeout(timer);
        if (m.type === 'error') reject(new Error(`load client: ${m.message}`));
        else resolve(m);
      });
      this.child.send(message);
    });
  }
  async close(): Promise<void> {
    await this.request({ type: 'close' }, 10_000).catch(() => undefined);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

interface Step {
  mode: LoadMode;
  pps: number;
  relay: RelayKind;
  sent: number;
  echoed: number;
  lossPct: number;
  echoedPps: number;
  serverCpuS: number;
  serverCpuPct: number;
  usPerPacket: number | undefined;
  rssMb: number;
  rttP50Ms: number | undefined;
  rttP99Ms: number | undefined;
  rcvbufErrors: number;
  clientCpuPct: number;
  clientBehind: number;
  peerCpuPct: number;
  machineBusyPct: number;
}

interface Target {
  relay: RunningRelay;
  procs: LoadProc[];
  note: string;
}

async function prepare(relay: RunningRelay, mode: LoadMode, peer: EchoPeer): Promise<Target> {
  const procs = Array.from({ length: PROCS }, () => LoadProc.start());
  const share = Math.ceil(CLIENTS / PROCS);
  let allocated = 0;
  const failures = new Set<string>();
  let lenient = 0;
  await Promise.all(
    procs.map(async (p, i) => {
      const clients = Math.min(share, CLIENTS - i * share);
      const credentials = Array.from({ length: clients }, (_, c) => relay.credentials(`bench${i * share + c}`));
      const ready = await p.request(
        {
          type: 'setup',
          server: { address: relay.host, port: relay.udpPort },
          credentials,
          peer: { address: relay.host, port: peer.port },
          clients,
          mode,
          payloadBytes: PAYLOAD,
          lenientChannelBind: relay.kind === 'node-turn',
        },
        60_000,
      );
      if (ready.type !== 'ready') throw new Error(`unexpected ${ready.type}`);
      allocated += ready.allocated;
      lenient += ready.lenientBinds;
      for (const f of ready.failures) failures.add(f);
    }),
  );
  const notes: string[] = [];
  if (allocated < CLIENTS) notes.push(`${allocated}/${CLIENTS} allocations (${[...failures].join('; ')})`);
  if (lenient) notes.push(`${lenient} ChannelBind successes without MESSAGE-INTEGRITY accepted`);
  const note = notes.join('; ');
  console.log(`  ${relay.version}, ${mode}: ${allocated}/${CLIENTS} clients ready${note ? ` — ${note}` : ''}`);
  return { relay, procs, note };
}

async function step(target: Target, mode: LoadMode, pps: number, peer: EchoPeer): Promise<Step> {
  const { relay, procs } = target;
  const s0 = procSample(relay.pid);
  const p0 = procSample(peer.pid);
  const u0 = udpCounters();
  const m0 = cpuTotals();
  const results = await Promise.all(procs.map((p) => p.request({ type: 'run', pps: pps / procs.length, durationMs: DURATION_MS, drainMs: DRAIN_MS }, DURATION_MS + DRAIN_MS + 15_000)));
  const s1 = procSample(relay.pid);
  const p1 = procSample(peer.pid);
  const u1 = udpCounters();
  const m1 = cpuTotals();
  const r = results.map((m) => (m as Extract<FromClient, { type: 'result' }>).result);
  const sum = (f: (x: RunResult) => number): number => r.reduce((a, x) => a + f(x), 0);
  const sent = sum((x) => x.sent);
  const echoed = sum((x) => x.received);
  const wallS = Math.max(...r.map((x) => x.wallMs)) / 1000;
  const cpuS = s1.cpuSeconds - s0.cpuSeconds;
  // RTT percentiles: the worse of the load processes' own percentiles
  const worst = (f: (x: RunResult) => number | undefined): number | undefined => {
    const xs = r.map(f).filter((v): v is number => v !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  return {
    mode,
    pps,
    relay: relay.kind,
    sent,
    echoed,
    lossPct: sent ? (100 * (sent - echoed)) / sent : 0,
    echoedPps: echoed / (DURATION_MS / 1000),
    serverCpuS: cpuS,
    serverCpuPct: (100 * cpuS) / wallS,
    usPerPacket: echoed > 0 ? (cpuS * 1e6) / (2 * echoed) : undefined,
    rssMb: s1.rssBytes / 1e6,
    rttP50Ms: worst((x) => x.rttP50Ms),
    rttP99Ms: worst((x) => x.rttP99Ms),
    rcvbufErrors: u1.rcvbufErrors - u0.rcvbufErrors,
    clientCpuPct: (100 * sum((x) => x.clientCpuMs)) / 1000 / wallS,
    clientBehind: sum((x) => x.behind),
    peerCpuPct: (100 * (p1.cpuSeconds - p0.cpuSeconds)) / wallS,
    machineBusyPct: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
  };
}

/** Per (mode, rate, relay): the step with the median µs/pkt (a step without echoes counts as the worst). */
function medianSteps(steps: Step[]): Step[] {
  const groups = new Map<string, Step[]>();
  for (const s of steps) {
    const key = `${s.mode}|${s.pps}|${s.relay}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((g) => {
    const sorted = [...g].sort((a, b) => (a.usPerPacket ?? Infinity) - (b.usPerPacket ?? Infinity));
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  });
}

const f1 = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(1));
const pad = (s: string, n: number): string => s.padStart(n);

function printTable(steps: Step[]): void {
  const header = ['mode', 'pps/dir', 'relay', 'echoed pps', 'loss %', 'CPU %', 'µs/pkt', 'RTT p50/p99 ms', 'RSS MB', 'UDP rcvbuf drops (host)', 'client CPU %', 'client lag', 'machine busy %'];
  const rows = steps.map((s) => [
    s.mode,
    String(s.pps),
    s.relay,
    s.echoedPps.toFixed(0),
    s.lossPct.toFixed(2),
    f1(s.serverCpuPct),
    f1(s.usPerPacket),
    `${f1(s.rttP50Ms)} / ${f1(s.rttP99Ms)}`,
    s.rssMb.toFixed(0),
    String(s.rcvbufErrors),
    f1(s.clientCpuPct),
    String(s.clientBehind),
    f1(s.machineBusyPct),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(`| ${header.map((h, i) => pad(h, widths[i]!)).join(' | ')} |`);
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(`| ${r.map((c, i) => pad(c, widths[i]!)).join(' | ')} |`);
}

function printRatios(steps: Step[], kinds: RelayKind[]): void {
  const others = kinds.filter((k) => k !== 'coturn');
  if (!kinds.includes('coturn') || others.length === 0) return;
  console.log('\nRatios to coturn (same mode, same rate, same run): CPU µs per relayed packet, and echoed rate');
  const header = ['mode', 'pps/dir', ...others.flatMap((k) => [`${k} CPU/pkt`, `${k} echoed`])];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const mode of MODES) {
    for (const pps of RATES) {
      const ref = steps.find((s) => s.mode === mode && s.pps === pps && s.relay === 'coturn');
      if (!ref) continue;
      const cells = others.flatMap((k) => {
        const s = steps.find((x) => x.mode === mode && x.pps === pps && x.relay === k);
        if (!s) return ['—', '—'];
        const cpu = s.usPerPacket !== undefined && ref.usPerPacket ? `${(s.usPerPacket / ref.usPerPacket).toFixed(2)}×` : '—';
        const echoed = ref.echoedPps ? (s.echoedPps / ref.echoedPps).toFixed(2) : '—';
        return [cpu, echoed];
      });
      console.log(`| ${mode} | ${pps} | ${cells.join(' | ')} |`);
    }
  }
}

function goal(steps: Step[]): void {
  const ours = steps.filter((s) => s.relay === 'hummingbird');
  if (ours.length === 0) return;
  console.log('\nGoal (issue 5): ≤ 1.5× coturn CPU per packet, 0 loss up to 15k pps/direction');
  for (const s of ours.filter((x) => x.pps <= 15_000)) {
    const ref = steps.find((x) => x.mode === s.mode && x.pps === s.pps && x.relay === 'coturn');
    const ratio = ref?.usPerPacket && s.usPerPacket !== undefined ? s.usPerPacket / ref.usPerPacket : undefined;
    const ok = ratio !== undefined && ratio <= 1.5 && s.lossPct === 0;
    console.log(`  ${s.mode} ${s.pps}: ${ratio === undefined ? 'no ratio' : `${ratio.toFixed(2)}×`}, loss ${s.lossPct.toFixed(2)} % → ${ok ? 'met' : 'NOT met'}`);
  }
}

async function main(): Promise<void> {
  console.log(`TURN relay benchmark: ${new Date().toISOString()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.versions.node}`);
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`rates ${RATES.join('/')} pps per direction, modes ${MODES.join(', ')}, ${DURATION_MS} ms per step, ${CLIENTS} clients in ${PROCS} load processes, ${PAYLOAD}-byte payloads, echo peer turnutils_peer`);
  const peer = await startEchoPeer();
  const relays: RunningRelay[] = [];
  const skipped: string[] = [];
  for (const kind of KINDS) {
    try {
      relays.push(await startRelay(kind));
    } catch (error) {
      if (!(error instanceof RelayUnavailableError)) throw error;
      skipped.push(`${kind}: ${error.message}`);
    }
  }
  for (const s of skipped) console.log(`NOT MEASURED ${s}`);
  for (const r of relays) console.log(`relay ${r.version} pid ${r.pid} udp ${r.udpPort}`);
  if (relays.some((r) => r.kind === 'node-turn')) console.log(`note: ${NODE_TURN_LIMITS}`);
  const steps: Step[] = [];
  const notes: string[] = [];
  try {
    for (const mode of MODES) {
      console.log(`\n[${mode}] allocating`);
      const targets: Target[] = [];
      try {
        for (const relay of relays) {
          const t = await prepare(relay, mode, peer);
          targets.push(t);
          if (t.note) notes.push(`${relay.kind} ${mode}: ${t.note}`);
        }
        let round = 0;
        for (const pps of RATES) {
          for (let rep = 0; rep < REPEAT; rep++, round++) {
            // rotate the order every round, so no relay always runs right after the same one
            const order = targets.map((_, k) => targets[(k + round) % targets.length]!);
            for (const t of order) {
              const s = await step(t, mode, pps, peer);
              steps.push(s);
              console.log(`  ${mode} ${pps} pps/dir #${rep + 1} ${t.relay.kind}: echoed ${s.echoedPps.toFixed(0)} pps, loss ${s.lossPct.toFixed(2)} %, ${f1(s.usPerPacket)} µs/pkt, client CPU ${f1(s.clientCpuPct)} %, lag ${s.clientBehind}`);
              await new Promise((r) => setTimeout(r, 500));
            }
          }
        }
      } finally {
        await Promise.all(targets.flatMap((t) => t.procs.map((p) => p.close())));
      }
    }
  } finally {
    for (const r of relays) await r.close();
    await peer.close();
  }
  console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('µs/pkt = server CPU (utime+stime, all threads) ÷ (2 × echoed datagrams); CPU % is of one core; "client lag" = packets the load client failed to send on time (must be 0).\n');
  const medians = medianSteps(steps);
  console.log(`median of ${REPEAT} interleaved step(s) per row (by µs/pkt; a row with no echoes sorts last)`);
  printTable(medians);
  printRatios(medians, relays.map((r) => r.kind));
  goal(medians);
  const ours = relays.find((r) => r.kind === 'hummingbird');
  if (ours !== undefined) console.log(`\nHummingbird row: ${ours.version} (data path from the relay itself; --data-path auto|native|dgram)`);
  if (notes.length) console.log(`\nnotes:\n  ${notes.join('\n  ')}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ at: new Date().toISOString(), loadavg: loadavg(), relays: relays.map((r) => r.version), skipped, steps, medians, notes }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
