import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket as NodeUdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { longestZeroRun } from './address.js';

/**
 * The relay's UDP sockets behind one small interface, with two implementations:
 *
 * - `dgram`: Node's own sockets (one read callback, Buffer, rinfo object and event per datagram;
 *   one request object and sendmsg per send).
 * - `native`: our addon (native/udp-batch.c) — `recvmmsg` up to 64 datagrams into one shared
 *   arena, one call into JS per batch; sends copied into a native queue and flushed with
 *   `sendmmsg` after the batch (or at the end of the loop iteration). Linux only; compiled at
 *   start with the system C compiler and cached outside the clone (docs/turn.md, "Data path").
 *
 * All TURN logic stays in TypeScript: the addon only moves bytes.
 */

export type DataPathMode = 'auto' | 'native' | 'dgram';
export type DataPath = 'native' | 'dgram';

/**
 * Called per datagram with the sender's address as text (dgram's notation) and port. On the
 * native path `msg` is a view into a shared arena that is reused for the next batch: a handler
 * that keeps bytes past its return must copy them.
 */
export type DatagramHandler = (msg: Buffer, address: string, port: number) => void;

export interface DatagramSocket {
  readonly kind: DataPath;
  readonly port: number;
  readonly closed: boolean;
  /** Queues (native) or sends (dgram) one datagram. Errors are counted, never thrown. */
  send(data: Buffer, port: number, address: string): void;
  /** The buffers back-to-back as one datagram. */
  sendParts(parts: readonly Buffer[], port: number, address: string): void;
  /**
   * A sender to one destination for buffers the caller reuses: `send(buf, length)` sends the
   * first `length` bytes, copied before it returns. Only where that costs nothing extra (the
   * native layer copies every datagram into its send queue anyway); undefined on dgram.
   */
  prepare(port: number, address: string): ((buf: Buffer, length: number) => void) | undefined;
  /** Send/receive errors (ICMP errors, full buffers, bad destinations) since the last call. */
  takeErrors(): number;
  /** Idempotent. Resolves when the port is free (at once on the native path). */
  close(): Promise<void>;
}

export interface OpenOptions {
  family: 4 | 6;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** IPv6 sockets only: false = dual stack. */
  ipv6Only: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  onMessage: DatagramHandler;
  /** Called after the socket closed (port released). */
  onClose?: () => void;
}

export interface DatagramFactory {
  readonly kind: DataPath;
  /** Binds; rejects with the bind error (EADDRINUSE, ...). */
  open(options: OpenOptions): Promise<DatagramSocket>;
}

// -----------------------------------------------------------------------------------------------
// dgram

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * We only ever send to IP literals of the socket's own family, so the name lookup dgram does
 * before every send is pure overhead: answer at once, without even classifying the literal.
 */
function literalLookup4(address: string, _options: unknown, callback: LookupCallback): void {
  callback(null, address, 4);
}
function literalLookup6(address: string, _options: unknown, callback: LookupCallback): void {
  callback(null, address, 6);
}

class DgramDatagramSocket implements DatagramSocket {
  readonly kind = 'dgram' as const;
  readonly #socket: NodeUdpSocket;
  readonly port: number;
  #closed = false;
  #errors = 0;

  constructor(socket: NodeUdpSocket, port: number, onClose: (() => void) | undefined) {
    this.#socket = socket;
    this.port = port;
    socket.on('error', () => void this.#errors++);
    if (onClose !== undefined) socket.once('close', onClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Buffer, port: number, address: string): void {
    // No completion callback: it would cost a request object per datagram. Send errors (ICMP
    // unreachable surfacing as ECONNREFUSED) arrive as the socket's 'error' event instead.
    if (!this.#closed) this.#socket.send(data, port, address);
  }

  sendParts(parts: readonly Buffer[], port: number, address: string): void {
    if (!this.#closed) this.#socket.send(parts as Buffer[], port, address);
  }

  prepare(): undefined {
    return undefined;
  }

  takeErrors(): number {
    const n = this.#errors;
    this.#errors = 0;
    return n;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((done) => {
      try {
        this.#socket.close(() => done());
      } catch {
        // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing left to release
        done();
      }
    });
  }
}

export const dgramFactory: DatagramFactory = {
  kind: 'dgram',
  async open(options: OpenOptions): Promise<DatagramSocket> {
    const v6 = options.family === 6;
    const socket = createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6 && options.ipv6Only,
      lookup: v6 ? literalLookup6 : literalLookup4,
      ...(options.recvBufferSize !== undefined ? { recvBufferSize: options.recvBufferSize } : {}),
      ...(options.sendBufferSize !== undefined ? { sendBufferSize: options.sendBufferSize } : {}),
    });
    const onMessage = options.onMessage;
    socket.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
    // exclusive: under node:cluster a shared UDP handle would hand one client's datagrams to
    // random workers, and an allocation lives in one worker (docs/turn.md, "processes").
    // Listen first: with a synchronous lookup, bind() may finish before it returns.
    const listening = once(socket, 'listening');
    socket.bind({ port: options.port, address: options.host, exclusive: true });
    try {
      await listening;
    } catch (error) {
      try {
        socket.close();
      } catch {
        // never bound
      }
      throw error;
    }
    return new DgramDatagramSocket(socket, socket.address().port, options.onClose);
  },
};

// -----------------------------------------------------------------------------------------------
// native

/** The addon's exports (native/udp-batch.c). */
interface UdpBatchBinding {
  init(arena?: Buffer, meta?: Uint32Array): [slots: number, slotBytes: number, metaWords: number];
  open(family: 4 | 6, host: string, port: number, rcvbuf: number, sndbuf: number, v6only: boolean, onBatch: (count: number) => void): [id: number, port: number];
  send(id: number, data: Buffer, length: number, port: number, ip4: number): number;
  send6(id: number, data: Buffer, length: number, port: number, ip6: string): number;
  flush(): void;
  close(id: number): boolean;
  stats(id: number): [rx: number, tx: number, txErrors: number, rxErrors: number, truncated: number, txDropped: number] | undefined;
}

const NO_LENGTH = 0xffffffff;
const NAME_CACHE_MAX = 65_536;

/** IPv4 as a host-order uint32 → dgram's text; shared by all sockets (addresses repeat). */
const names4 = new Map<number, string>();
/** IPv4 text → uint32 for sends (the relay sends to the same few peers and clients). */
const numbers4 = new Map<string, number>();

function name4(ip: number): string {
  let text = names4.get(ip);
  if (text === undefined) {
    text = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
    if (names4.size >= NAME_CACHE_MAX) names4.clear();
    names4.set(ip, text);
  }
  return text;
}

/** Dotted-quad text → uint32, or -1 when it is not one (then the send is counted as an error). */
export function parseIp4(text: string): number {
  const cached = numbers4.get(text);
  if (cached !== undefined) return cached;
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return -1;
    const octet = Number(part);
    if (octet > 255) return -1;
    value = value * 256 + octet;
  }
  if (numbers4.size >= NAME_CACHE_MAX) numbers4.clear();
  numbers4.set(text, value);
  return value;
}

/**
 * IPv6 words (4 × 32 bit, network order) → the text Node's dgram reports (libuv's inet_ntop:
 * longest run of ≥ 2 zero groups as `::`, first on a tie; IPv4-mapped and -compatible forms
 * with a dotted quad).
 */
export function formatIp6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  const [bestBase, bestLen] = longestZeroRun(g);
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      out += `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
      return out;
    }
    out += g[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

class NativeDatagramSocket implements DatagramSocket {
  readonly kind = 'native' as const;
  readonly port: number;
  readonly #binding: UdpBatchBinding;
  readonly #id: number;
  readonly #v4: boolean;
  readonly #onClose: (() => void) | undefined;
  #closed = false;
  #errors = 0;
  #reported = 0;

  constructor(binding: UdpBatchBinding, id: number, port: number, family: 4 | 6, onClose: (() => void) | undefined) {
    this.#binding = binding;
    this.#id = id;
    this.port = port;
    this.#v4 = family === 4;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Buffer, port: number, address: string): void {
    if (this.#closed) return;
    let rc: number;
    if (this.#v4) {
      const ip = parseIp4(address);
      rc = ip < 0 ? -1 : this.#binding.send(this.#id, data, data.length, port, ip);
    } else {
      rc = this.#binding.send6(this.#id, data, data.length, port, address);
    }
    if (rc !== 0) this.#errors++;
  }

  prepare(port: number, address: string): (buf: Buffer, length: number) => void {
    const binding = this.#binding;
    const id = this.#id;
    if (this.#v4) {
      const ip = parseIp4(address);
      return (buf, length) => {
        if (this.#closed) return;
        if (ip < 0 || binding.send(id, buf, length, port, ip) !== 0) this.#errors++;
      };
    }
    return (buf, length) => {
      if (this.#closed) return;
      if (binding.send6(id, buf, length, port, address) !== 0) this.#errors++;
    };
  }

  sendParts(parts: readonly Buffer[], port: number, address: string): void {
    this.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts), port, address);
  }

  takeErrors(): number {
    const stats = this.#closed ? undefined : this.#binding.stats(this.#id);
    const native = stats === undefined ? this.#reported : stats[2] + stats[3] + stats[4] + stats[5];
    const n = this.#errors + (native - this.#reported);
    this.#reported = native;
    this.#errors = 0;
    return n;
  }

  /** [received, sent, send errors, receive errors, truncated, send drops] (tests, metrics). */
  stats(): readonly number[] | undefined {
    return this.#closed ? undefined : this.#binding.stats(this.#id);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // Keep the last native counts for a final takeErrors().
    const stats = this.#binding.stats(this.#id);
    if (stats !== undefined) this.#errors += stats[2] + stats[3] + stats[4] + stats[5] - this.#reported;
    this.#reported = 0;
    this.#closed = true;
    this.#binding.close(this.#id);
    this.#onClose?.();
    return Promise.resolve();
  }
}

class NativeFactory implements DatagramFactory {
  readonly kind = 'native' as const;
  readonly #binding: UdpBatchBinding;
  readonly #arena: Buffer;
  readonly #meta: Uint32Array;
  readonly #metaWords: number;

  constructor(binding: UdpBatchBinding) {
    this.#binding = binding;
    const [slots, slotBytes, metaWords] = binding.init();
    this.#metaWords = metaWords;
    this.#arena = Buffer.allocUnsafeSlow(slots * slotBytes);
    this.#meta = new Uint32Array(slots * metaWords);
    binding.init(this.#arena, this.#meta);
  }

  open(options: OpenOptions): Promise<DatagramSocket> {
    try {
      return Promise.resolve(this.openSync(options));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  openSync(options: OpenOptions): NativeDatagramSocket {
    const arena = this.#arena;
    const meta = this.#meta;
    const words = this.#metaWords;
    const onMessage = options.onMessage;
    const self: { socket?: NativeDatagramSocket } = {};
    // The last IPv6 source and its text: a relay socket hears from few peers.
    let last6: [number, number, number, number, string] = [0, 0, 0, 0, '::'];
    const onBatch = (count: number): void => {
      for (let i = 0, base = 0; i < count; i++, base += words) {
        if (self.socket?.closed === true) return;
        const length = meta[base + 1]!;
        if (length === NO_LENGTH) continue;
        const offset = meta[base]!;
        let address: string;
        if (meta[base + 3] === 4) {
          address = name4(meta[base + 4]!);
        } else {
          const a = meta[base + 4]!;
          const b = meta[base + 5]!;
          const c = meta[base + 6]!;
          const d = meta[base + 7]!;
          if (a !== last6[0] || b !== last6[1] || c !== last6[2] || d !== last6[3]) last6 = [a, b, c, d, formatIp6(a, b, c, d)];
          address = last6[4];
        }
        onMessage(arena.subarray(offset, offset + length), address, meta[base + 2]!);
      }
    };
    const [id, port] = this.#binding.open(
      options.family,
      options.host,
      options.port,
      options.recvBufferSize ?? 0,
      options.sendBufferSize ?? 0,
      options.family === 6 && options.ipv6Only,
      onBatch,
    );
    const socket = new NativeDatagramSocket(this.#binding, id, port, options.family, options.onClose);
    self.socket = socket;
    return socket;
  }

  /** Sends everything queued now (the loop does this by itself; tests use it). */
  flush(): void {
    this.#binding.flush();
  }
}

// -----------------------------------------------------------------------------------------------
// Building and loading

/** `dataPath: native` was required and the addon could not be built or loaded. */
export class NativeUdpUnavailableError extends Error {
  readonly code = 'ERR_TURN_NATIVE_UDP';
  constructor(readonly reason: string) {
    super(`native UDP data path unavailable: ${reason}`);
    this.name = 'NativeUdpUnavailableError';
  }
}

export interface NativeBuildOptions {
  /** C compiler (default `cc`). */
  compiler?: string;
  /** Where built addons are kept (default ~/.cache/hummingbird/turn-native, or $XDG_CACHE_HOME). */
  cacheDir?: string;
}

export const NATIVE_SOURCE = fileURLToPath(new URL('../native/udp-batch.c', import.meta.url));

export function defaultNativeCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] !== undefined && process.env['XDG_CACHE_HOME'] !== '' ? process.env['XDG_CACHE_HOME'] : join(homedir(), '.cache');
  return join(base, 'hummingbird', 'turn-native');
}

function nodeIncludeDir(): string | undefined {
  for (const dir of [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node']) {
    if (existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'uv.h'))) return dir;
  }
  return undefined;
}

function compile(compiler: string, args: string[]): Promise<void> {
  return new Promise((resolveBuild, reject) => {
    execFile(compiler, args, { timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolveBuild();
      const detail = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `compiler ${compiler} not found` : `${compiler} failed: ${stderr.trim().split('\n').slice(0, 3).join(' | ') || error.message}`;
      reject(new Error(detail));
    });
  });
}

/** Builds (or finds in the cache) the addon; returns the path of the .node file. */
export async function buildNativeUdp(options: NativeBuildOptions = {}): Promise<string> {
  if (process.platform !== 'linux') throw new Error(`recvmmsg/sendmmsg are Linux only (platform ${process.platform})`);
  let source: Buffer;
  try {
    source = readFileSync(NATIVE_SOURCE);
  } catch {
    throw new Error(`addon source ${NATIVE_SOURCE} not readable`);
  }
  const hash = createHash('sha256').update(source).update(`\0${process.versions.modules}\0${process.arch}\0${process.platform}`).digest('hex').slice(0, 32);
  const dir = options.cacheDir ?? defaultNativeCacheDir();
  const target = join(dir, `${hash}.node`);
  if (existsSync(target)) return target;
  const include = nodeIncludeDir();
  if (include === undefined) throw new Error('Node headers (node_api.h, uv.h) not found next to the node binary or in /usr/include/node');
  mkdirSync(dir, { recursive: true });
  const temp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await compile(options.compiler ?? 'cc', ['-O2', '-shared', '-fPIC', '-Wall', '-DNODE_GYP_MODULE_NAME=udp_batch', '-I', include, '-o', temp, NATIVE_SOURCE]);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return target;
}

// On globalThis: a test runner that re-imports this module in the same process must not init
// the addon twice (Node keeps the loaded addon in its own cache).
const FACTORIES = Symbol.for('hummingbird.turn.nativeUdpFactories');
const factories: Map<string, NativeFactory> = ((globalThis as Record<symbol, unknown>)[FACTORIES] as Map<string, NativeFactory> | undefined) ?? new Map<string, NativeFactory>();
(globalThis as Record<symbol, unknown>)[FACTORIES] = factories;

/** Loads the addon at `path` once per process (its receive arena is process-wide). */
export function loadNativeUdp(path: string): NativeFactory {
  let factory = factories.get(path);
  if (factory === undefined) {
    const binding = createRequire(import.meta.url)(path) as UdpBatchBinding;
    factory = new NativeFactory(binding);
    factories.set(path, factory);
  }
  return factory;
}

export interface SelectedDataPath {
  factory: DatagramFactory;
  /** Why `auto` fell back to dgram. */
  fallbackReason?: string;
}

/**
 * `auto`: the native path if it builds and loads, else dgram with the reason; `native`: the
 * native path or a NativeUdpUnavailableError; `dgram`: dgram.
 */
export async function selectDataPath(mode: DataPathMode, options: NativeBuildOptions = {}): Promise<SelectedDataPath> {
  if (mode === 'dgram') return { factory: dgramFactory };
  try {
    return { factory: loadNativeUdp(await buildNativeUdp(options)) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (mode === 'native') throw new NativeUdpUnavailableError(reason);
    return { factory: dgramFactory, fallbackReason: reason };
  }
}
