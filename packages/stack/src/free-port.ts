import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

/**
 * Ask the kernel for a free TCP port on `host`: listen on port 0, read the port, close.
 *
 * prosody.md §1.2: Prosody cannot bind port 0 and report what it got, so the port is chosen here and written
 * into its config. There is a small race between this close and Prosody's bind; a lost race shows up as
 * "Failed to open server port" in Prosody's log and `startProsody` reports it as a ProsodyStartError.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/**
 * `count` distinct free ports. All listeners stay open until every port is known, so the kernel cannot hand
 * out the same port twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
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
