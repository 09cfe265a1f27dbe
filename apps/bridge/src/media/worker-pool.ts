// The media plane's processes: N mediasoup workers (one per core by default), each with one WebRtcServer so
// that every endpoint on that worker shares one UDP (and one TCP) port — JVB's single-port model
// (jicofo-jvb.md §4.2). mediasoup is loaded only through @hummingbird/mediasoup-worker (the patched worker,
// jitsi-client-protocol.md §8.2).
import { EventEmitter } from 'node:events';
import { cpus } from 'node:os';
import { loadMediasoup } from '@hummingbird/mediasoup-worker';
import type { types } from 'mediasoup';

type Mediasoup = Awaited<ReturnType<typeof loadMediasoup>>;

export interface WorkerPoolOptions {
  /** 0 = one per CPU core. */
  readonly workers: number;
  readonly workerBin?: string | undefined;
  readonly listenIp: string;
  readonly announcedAddress?: string | undefined;
  /** Worker i listens on udpPort + i; 0 = any free port. */
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly enableTcp: boolean;
  readonly logLevel: types.WorkerLogLevel;
}

/** One running worker and its WebRtcServer. `load` counts the endpoints placed on it. */
export class MediaWorker {
  load = 0;
  #lastCpuMs: number | undefined;
  #lastAt = 0;
  /** CPU share of the worker process over the last sample (0..1 of one core). */
  cpu = 0;

  constructor(
    readonly index: number,
    readonly worker: types.Worker,
    readonly webRtcServer: types.WebRtcServer,
  ) {}

  get pid(): number {
    return this.worker.pid;
  }

  get closed(): boolean {
    return this.worker.closed;
  }

  /** Samples ru_utime + ru_stime (ms) to update `cpu`. */
  async sampleCpu(): Promise<number> {
    const ru = await this.worker.getResourceUsage();
    const cpuMs = ru.ru_utime + ru.ru_stime;
    const now = Date.now();
    if (this.#lastCpuMs !== undefined && now > this.#lastAt) this.cpu = Math.max(0, (cpuMs - this.#lastCpuMs) / (now - this.#lastAt));
    this.#lastCpuMs = cpuMs;
    this.#lastAt = now;
    return this.cpu;
  }
}

export interface WorkerPoolEvents {
  /** A worker died (emitted at once, before a replacement is started): its routers are gone. */
  workerDied: [dead: MediaWorker, error: Error];
  /** The successor of a dead worker is running. */
  workerReplaced: [replacement: MediaWorker];
  /** Starting the successor of a dead worker failed; the slot stays empty. */
  workerReplaceFailed: [index: number, error: unknown];
}

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #mediasoup: Mediasoup;
  readonly #workers: (MediaWorker | undefined)[] = [];
  #closed = false;
  /** Workers that died and were replaced, since start. */
  replacedWorkers = 0;

  private constructor(mediasoup: Mediasoup, options: WorkerPoolOptions) {
    super();
    this.#mediasoup = mediasoup;
    this.#options = options;
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const mediasoup = await loadMediasoup({ explicit: options.workerBin });
    const pool = new WorkerPool(mediasoup, options);
    const count = options.workers > 0 ? options.workers : Math.max(1, cpus().length);
    try {
      for (let i = 0; i < count; i++) pool.#workers[i] = await pool.#spawn(i);
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  get mediasoupVersion(): string {
    return this.#mediasoup.version;
  }

  /** The running workers (a dead one is absent until its replacement is up). */
  get workers(): readonly MediaWorker[] {
    return this.#workers.filter((w): w is MediaWorker => w !== undefined && !w.closed);
  }

  /** The least-loaded running worker (fewest endpoints, then lowest index). */
  leastLoaded(): MediaWorker | undefined {
    let best: MediaWorker | undefined;
    for (const w of this.workers) if (best === undefined || w.load < best.load) best = w;
    return best;
  }

  async #spawn(index: number): Promise<MediaWorker> {
    const o = this.#options;
    const worker = await this.#mediasoup.createWorker({ logLevel: o.logLevel });
    try {
      const listenInfos: types.TransportListenInfo[] = [
        {
          protocol: 'udp',
          ip: o.listenIp,
          ...(o.announcedAddress === undefined ? {} : { announcedAddress: o.announcedAddress }),
          ...(o.udpPort === 0 ? {} : { port: o.udpPort + index }),
        },
      ];
      if (o.enableTcp) {
        listenInfos.push({
          protocol: 'tcp',
          ip: o.listenIp,
          ...(o.announcedAddress === undefined ? {} : { announcedAddress: o.announcedAddress }),
          ...(o.tcpPort === 0 ? {} : { port: o.tcpPort + index }),
        });
      }
      const webRtcServer = await worker.createWebRtcServer({ listenInfos });
      const mw = new MediaWorker(index, worker, webRtcServer);
      worker.on('died', (error) => void this.#onDied(mw, error));
      return mw;
    } catch (error) {
      worker.close();
      throw error;
    }
  }

  async #onDied(dead: MediaWorker, error: Error): Promise<void> {
    if (this.#closed) return;
    if (this.#workers[dead.index] === dead) this.#workers[dead.index] = undefined;
    this.emit('workerDied', dead, error);
    try {
      // The dead process released its ports, so the successor binds the same ones.
      const replacement = await this.#spawn(dead.index);
      if (this.#closed) {
        replacement.worker.close();
        return;
      }
      this.#workers[dead.index] = replacement;
      this.replacedWorkers++;
      this.emit('workerReplaced', replacement);
    } catch (spawnError) {
      this.emit('workerReplaceFailed', dead.index, spawnError);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) w?.worker.close();
  }
}
