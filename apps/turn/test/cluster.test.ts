import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportAddress } from '../src/address.js';
import { TurnTestClient } from './helpers/client.js';
import { eventually, SECRET } from './helpers/server.js';

/** `workers: 2` through the real main: node:cluster, TCP spread over workers, UDP on worker 0. */

const appDir = fileURLToPath(new URL('..', import.meta.url));
let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

interface LogLine {
  msg?: string;
  address?: string;
  ports?: { udp: number; tcp: number };
}

describe('cluster mode', () => {
  it('runs two relay processes behind one ops server and drains them on SIGTERM', async () => {
    child = spawn(process.execPath, ['--conditions=hummingbird-source', '--import', 'tsx', 'src/main.ts'], {
      cwd: appDir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        HB_TURN_REALM: 'turn.test',
        HB_TURN_AUTH__SHARED_SECRET: SECRET,
        HB_TURN_WORKERS: '2',
        HB_TURN_OPS__PORT: '0',
        HB_TURN_LISTEN__HOST: '127.0.0.1',
        HB_TURN_LISTEN__UDP_PORT: '0',
        HB_TURN_LISTEN__TCP_PORT: '0',
        HB_TURN_RELAY__HOST: '127.0.0.1',
        HB_TURN_RELAY__PORT_MIN: '40000',
        HB_TURN_RELAY__PORT_MAX: '59999',
        // A public address clients see in XOR-RELAYED-ADDRESS; hairpin traffic never goes to it.
        HB_TURN_RELAY__EXTERNAL_IP: '1.2.3.4',
        HB_TURN_SHUTDOWN__DRAIN_TIMEOUT_MS: '2000',
      },
    });
    const lines: LogLine[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    });
    await eventually(() => lines.some((l) => l.msg === 'turn cluster started'), 45_000, 'cluster start');
    const ports = lines.find((l) => l.msg === 'turn cluster started')!.ports!;
    const ops = lines.find((l) => l.address?.startsWith('http://') === true)!.address!;

    const clients: TurnTestClient[] = [];
    const relayed: TransportAddress[] = [];
    for (let i = 0; i < 4; i++) {
      const c = (await TurnTestClient.connect({ transport: 'tcp', host: '127.0.0.1', port: ports.tcp })).withCredentials(SECRET, `user${i}`);
      const allocation = await c.allocate();
      expect(allocation.cls).toBe(2);
      clients.push(c);
      relayed.push(allocation.relayed!);
    }
    const udp = (await TurnTestClient.connect({ transport: 'udp', host: '127.0.0.1', port: ports.udp })).withCredentials(SECRET, 'udp');
    const udpAllocation = await udp.allocate();
    expect(udpAllocation.cls).toBe(2);
    clients.push(udp);
    relayed.push(udpAllocation.relayed!);

    // Hairpin between every pair, within a worker (in process) and across workers (through the
    // kernel to the relay host, renamed to the external IP on arrival): each client sees the
    // sender's XOR-RELAYED-ADDRESS, so the permission for 1.2.3.4 matches.
    for (const c of clients) expect((await c.createPermission({ family: 4, address: '1.2.3.4', port: 0 })).cls).toBe(2);
    for (const [i, from] of clients.entries()) {
      for (const [j, to] of relayed.entries()) if (i !== j) from.sendIndication(to, Buffer.from(`${i}->${j}`));
    }
    for (const [j, c] of clients.entries()) {
      for (const [i, from] of relayed.entries()) {
        if (i === j) continue;
        const event = await c.nextData((e) => e.data.toString() === `${i}->${j}`, 10_000);
        expect(event.peer).toEqual(from);
      }
    }

    let metrics = '';
    await eventually(async () => {
      metrics = await (await fetch(`${ops}/metrics`)).text();
      return /^turn_allocations 5$/m.test(metrics);
    }, 10_000, 'summed metrics');
    // Both workers hold allocations: cluster spread the TCP connections.
    const perWorker = [...metrics.matchAll(/^turn_worker_allocations\{worker="(\d)"\} (\d+)$/gm)].map((m) => Number(m[2]));
    expect(perWorker).toHaveLength(2);
    expect(perWorker.every((n) => n >= 1)).toBe(true);
    expect((await fetch(`${ops}/about/health`)).status).toBe(200);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    for (const c of clients) await c.close();
  }, 90_000);
});
