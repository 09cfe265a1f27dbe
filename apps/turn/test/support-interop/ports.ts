// Free loopback ports for relays under test. A TURN listener needs the same number free on UDP and
// TCP (RFC 8656 §3.1: 3478 serves both), so a candidate is held on both while the rest are chosen.

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

function bindUdp(port: number, host: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind({ port, address: host, exclusive: true }, () => resolve(s));
  });
}

function listenTcp(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host, exclusive: true }, () => resolve(s));
  });
}

/** `count` distinct ports, each free on both UDP and TCP at `host` when this returns. */
export async function freeUdpTcpPorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Array<{ close: () => void }> = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < count && tries < 200; tries++) {
      const tcp = await listenTcp(0, host);
      if (!tcp) continue;
      const address = tcp.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const udp = await bindUdp(port, host);
      held.push({ close: () => tcp.close() });
      if (!udp) continue;
      held.push({ close: () => udp.close() });
      ports.push(port);
    }
    if (ports.length < count) throw new Error(`could not find ${count} ports free on both UDP and TCP at ${host}`);
    return ports;
  } finally {
    for (const h of held) h.close();
  }
}

/**
 * A relay port range of `size` ports, chosen at random in 20000–59999 so that parallel runs on one machine
 * rarely share a range. Relays skip ports that are in use, so an overlap costs nothing but ports.
 */
export function relayPortRange(size = 1000): { min: number; max: number } {
  const blocks = Math.floor(40_000 / size);
  const min = 20_000 + Math.floor(Math.random() * blocks) * size;
  return { min, max: min + size - 1 };
}
