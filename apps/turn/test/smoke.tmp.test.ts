import { afterEach, expect, it } from 'vitest';
import { TurnTestClient, UdpPeer } from './helpers/client.js';
import { SECRET, startTestServer } from './helpers/server.js';
import type { TurnServerHandle } from '../src/server.js';

let server: TurnServerHandle | undefined;
afterEach(async () => { await server?.close(); });

it('smoke', async () => {
  server = await startTestServer({ allowPeers: ['127.0.0.1'] });
  const peer = await UdpPeer.start({ echo: true });
  for (const transport of ['udp', 'tcp'] as const) {
    const client = (await TurnTestClient.connect({ transport, host: '127.0.0.1', port: transport === 'udp' ? server.ports.udp : server.ports.tcp })).withCredentials(SECRET);
    const a = await client.allocate();
    console.log(transport, a.cls, a.error, a.relayed, a.mapped, a.lifetime, a.integrityOk);
    const p = await client.createPermission(peer.address);
    console.log('perm', p.cls, p.error, p.integrityOk);
    client.sendIndication(peer.address, Buffer.from('hello'));
    const d = await client.nextData();
    console.log(d.via, d.data.toString(), d.peer);
    const cb = await client.channelBind(0x4001, peer.address);
    console.log('cb', cb.cls, cb.error, cb.integrityOk);
    client.sendChannelData(0x4001, Buffer.from('hello2'));
    const d2 = await client.nextData();
    console.log(d2.via, d2.data.toString(), d2.channel);
    await client.close();
  }
  console.log(server.metrics);
  await peer.close();
  expect(1).toBe(1);
});
