// Load measurement for the brewery's `stress_level` (jicofo-jvb.md §4.8): the larger of the workers' mean CPU
// share over 0.9 (JVB's cpu-usage measure) and the forwarded packet rate over the configured maximum (JVB's
// packet-rate measure). Sampled on the stats interval; every sample is one getResourceUsage per worker plus
// one getStats per producer and per consumer that is not paused (≈ 10 µs of worker CPU each, measured by
// `pnpm bench`: at 5 s, about 2 µs per second per consumer).
import type { ColibriService } from './colibri.js';
import type { WorkerPool } from './media/worker-pool.js';

export interface LoadSample {
  readonly stress: number;
  /** Mean CPU share of the workers, 0..1 of one core each. */
  readonly cpu: number;
  /** Packets per second received by producers plus sent by consumers. */
  readonly packetRate: number;
  readonly packetsReceived: number;
  readonly packetsSent: number;
  readonly at: number;
}

export class LoadMonitor {
  #last: LoadSample = { stress: 0, cpu: 0, packetRate: 0, packetsReceived: 0, packetsSent: 0, at: Date.now() };
  /** Cumulative counts by producer/consumer id, so closed ones do not make the total go backwards. */
  readonly #seen = new Map<string, number>();
  #totalIn = 0;
  #totalOut = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly colibri: ColibriService,
    private readonly maxPacketRate: number,
  ) {}

  get last(): LoadSample {
    return this.#last;
  }

  async sample(): Promise<LoadSample> {
    const workers = this.pool.workers;
    const cpus = await Promise.all(workers.map((w) => w.sampleCpu().catch(() => w.cpu)));
    const cpu = cpus.length === 0 ? 0 : cpus.reduce((a, b) => a + b, 0) / cpus.length;
    const alive = new Set<string>();
    const add = (id: string, count: number, dir: 'in' | 'out'): void => {
      alive.add(id);
      const prev = this.#seen.get(id) ?? 0;
      const delta = Math.max(0, count - prev);
      this.#seen.set(id, count);
      if (dir === 'in') this.#totalIn += delta;
      else this.#totalOut += delta;
    };
    const jobs: Promise<void>[] = [];
    for (const conf of this.colibri.conferences.values()) {
      for (const ep of conf.endpoints.values()) {
        for (const s of ep.sources.values()) {
          const p = s.producer;
          jobs.push(p.getStats().then((st) => add(p.id, st.reduce((n, x) => n + x.packetCount, 0), 'in'), () => undefined));
        }
        for (const c of ep.consumers.values()) {
          const k = c.consumer;
          // A paused consumer (or one of a paused producer) sends nothing: its count stands (one getStats request fewer per paused consumer).
          if ((k.paused || k.producerPaused) && this.#seen.has(k.id)) {
            alive.add(k.id);
            continue;
          }
          jobs.push(k.getStats().then((st) => add(k.id, st.filter((x) => x.type === 'outbound-rtp').reduce((n, x) => n + x.packetCount, 0), 'out'), () => undefined));
        }
      }
    }
    await Promise.all(jobs);
    for (const id of [...this.#seen.keys()]) if (!alive.has(id)) this.#seen.delete(id);
    const now = Date.now();
    const dt = Math.max(1, now - this.#last.at) / 1000;
    const packetRate = (this.#totalIn - this.#last.packetsReceived + (this.#totalOut - this.#last.packetsSent)) / dt;
    const stress = Math.max(cpu / 0.9, packetRate / this.maxPacketRate);
    this.#last = { stress, cpu, packetRate, packetsReceived: this.#totalIn, packetsSent: this.#totalOut, at: now };
    return this.#last;
  }
}
