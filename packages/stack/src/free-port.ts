import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * A free TCP port on `host`.
 *
 * prosody.md §1.2: Prosody cannot bind port 0 and report what it got, so the port is chosen here and written
 * into its config, and bound seconds later. Ports are therefore taken BELOW the kernel's ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 on Debian): a port from port 0 lies inside that range, where any
 * outgoing connection on the machine (a health poll, a browser, another test) may take it as its source port in
 * the meantime. A lost race still shows up as "Failed to open server port" / EADDRINUSE; the launcher retries.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

const FIXED_RANGE_LOW = 20_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * `count` distinct free ports. All listeners stay open until every port is known, so no port is handed out
 * twice. Random ports in [20000, ephemeral low) when that range is usable, else the kernel's choice (port 0).
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const high = ephemeralLow() - 1;
  const span = high - FIXED_RANGE_LOW;
  try {
    const ports: number[] = [];
    let tries = 0;
    while (ports.length < count) {
      const server = createServer();
      const wanted = span >= 1_000 && tries < count * 50 ? FIXED_RANGE_LOW + Math.floor(Math.random() * span) : 0;
      tries++;
      try {
        ports.push(await listen(server, host, wanted));
        servers.push(server);
      } catch {
        server.close();
      }
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`unexpected listen address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** A port free for both TCP and UDP on `host` (a STUN/TURN listener takes both); tries up to 50 TCP-free ports. */
export async function freeUdpTcpPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freePort(host);
    if (await udpFree(port, host)) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host} after 50 tries`);
}
