import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportAddress } from '../src/address.js';
import { decodeErrorCode, decodeStun, encodeStun, encodeXorAddress, verifyIntegrity } from '../src/stun/codec.js';
import { Attr, MessageClass, Method } from '../src/stun/constants.js';
import type { TurnServerHandle } from '../src/server.js';
import { TurnTestClient, UdpPeer, type Transport } from './helpers/client.js';
import { SECRET, startTestServer } from './helpers/server.js';

/**
 * ChannelBind as coturn's own load client drives it (issue 5: the intermittent
 * "channel bind: error 400" of `turnutils_uclient` in the UDP channel case).
 *
 * What uclient 4.6.1 does per client (coturn's startuclient.c, start_connection):
 *   1. ChannelBind(A, peer:port+1) and again the same (A and peer unchanged),
 *   2. ChannelBind(B, peer) twice, A and B drawn uniformly from 0x4000..0x7FFF **inclusive**,
 *   3. right after, without waiting: Refresh, CreatePermission(peer), ChannelBind(B, peer);
 *   4. 1 time in 5 it does not wait for a ChannelBind answer before the next request, and it
 *      retransmits an unanswered request after 500 ms with the same transaction ID.
 * The relay refused 0x7FFF (400; coturn 4.6.1 accepts it), i.e. a run of N clients failed with
 * probability ≈ N × 2/16384 — the intermittent failure. Every step of that sequence must succeed.
 */

let servers: TurnServerHandle[] = [];
let clients: TurnTestClient[] = [];
let peers: UdpPeer[] = [];
afterEach(async () => {
  for (const c of clients) await c.close();
  for (const p of peers) await p.close();
  for (const s of servers) await s.close();
  servers = [];
  clients = [];
  peers = [];
});

async function setup(transport: Transport): Promise<{ s: TurnServerHandle; c: TurnTestClient; echo: UdpPeer }> {
  const s = await startTestServer({ allowPeers: ['127.0.0.1'] });
  servers.push(s);
  const port = transport === 'udp' ? s.ports.udp : s.ports.tcp;
  const c = await TurnTestClient.connect({ transport, host: '127.0.0.1', port });
  c.withCredentials(SECRET);
  clients.push(c);
  const echo = await UdpPeer.start({ echo: true });
  peers.push(echo);
  expect((await c.allocate()).cls).toBe(MessageClass.Success);
  return { s, c, echo };
}

/** A signed ChannelBind with a fixed transaction ID (the client has its nonce after allocate()). */
function signedChannelBind(c: TurnTestClient, channel: number, peer: TransportAddress, tid: Buffer): Buffer {
  return encodeStun(
    Method.ChannelBind,
    MessageClass.Request,
    tid,
    [
      [Attr.ChannelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0])],
      [Attr.XorPeerAddress, encodeXorAddress(peer, tid)],
      [Attr.Username, Buffer.from(c.username!, 'utf8')],
      [Attr.Realm, Buffer.from(c.realm!, 'utf8')],
      [Attr.Nonce, Buffer.from(c.nonce!, 'latin1')],
    ],
    { integrityKey: c.key, fingerprint: true },
  );
}

/** Sends `raw` `copies` times back to back (a retransmission racing the first answer) and collects every answer. */
async function sendCopies(c: TurnTestClient, raw: Buffer, tid: Buffer, copies: number): Promise<Buffer[]> {
  const extra: Buffer[] = [];
  const onStray = (msg: Buffer): void => {
    const decoded = decodeStun(msg);
    if (decoded.ok && decoded.message.transactionId.equals(tid)) extra.push(msg);
  };
  c.on('stray', onStray);
  try {
    const answered = c.transact(raw, tid);
    for (let i = 1; i < copies; i++) c.sendRaw(raw);
    const first = await answered;
    const deadline = Date.now() + 5_000;
    while (extra.length < copies - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return [first, ...extra];
  } finally {
    c.off('stray', onStray);
  }
}

function outcome(c: TurnTestClient, raw: Buffer): { cls: number; code?: number; integrityOk: boolean } {
  const decoded = decodeStun(raw);
  if (!decoded.ok) throw new Error(`undecodable answer: ${decoded.reason}`);
  const error = decoded.message.attributes.get(Attr.ErrorCode);
  return {
    cls: decoded.message.cls,
    code: error === undefined ? undefined : decodeErrorCode(error)?.code,
    integrityOk: verifyIntegrity(decoded.message, c.key!),
  };
}

describe.each(['udp', 'tcp'] as const)('ChannelBind as turnutils_uclient 4.6.1 sends it (%s)', (transport) => {
  // A for the "RTCP" peer (port + 1), B for the echo peer; 0x7FFF is the number the relay refused.
  it.each([
    { a: 0x4000, b: 0x7fff },
    { a: 0x7fff, b: 0x4fff },
    { a: 0x5000, b: 0x6abc },
  ])('A=$a, B=$b: the whole sequence succeeds and data flows on B', async ({ a, b }) => {
    const { s, c, echo } = await setup(transport);
    const rtcp: TransportAddress = { ...echo.address, port: echo.address.port + 1 };
    const refused = s.metrics.refusals['bad-request'];

    // 1. A → port+1: the first copy sent twice at once (answer not awaited, then retransmitted), then again.
    const tidA = randomBytes(12);
    const copies = await sendCopies(c, signedChannelBind(c, a, rtcp, tidA), tidA, transport === 'udp' ? 3 : 1);
    for (const answer of copies) expect(outcome(c, answer)).toEqual({ cls: MessageClass.Success, code: undefined, integrityOk: true });
    expect((await c.channelBind(a, rtcp)).cls).toBe(MessageClass.Success);

    // 2. B → the peer, twice.
    expect((await c.channelBind(b, echo.address)).cls).toBe(MessageClass.Success);
    expect((await c.channelBind(b, echo.address)).cls).toBe(MessageClass.Success);

    // 3. refresh_channel(): three requests back to back, nobody waits in between.
    const burst = await Promise.all([c.refresh(600), c.createPermission(echo.address), c.channelBind(b, echo.address)]);
    expect(burst.map((r) => r.cls)).toEqual([MessageClass.Success, MessageClass.Success, MessageClass.Success]);
    expect(s.metrics.refusals['bad-request']).toBe(refused);

    // Data on B, both ways (0x7FFF frames as ChannelData too: its first two bits are 01).
    const payload = randomBytes(200);
    c.sendChannelData(b, payload);
    const back = await c.nextData((e) => e.data.equals(payload));
    expect(back.via).toBe('channel');
    expect(back.channel).toBe(b);
  });
});

describe('ChannelBind retransmissions and rebinds (RFC 8656 §12)', () => {
  it('a retransmitted ChannelBind gets the same success, also after the binding was refreshed', async () => {
    const { c, echo } = await setup('udp');
    const tid = randomBytes(12);
    const raw = signedChannelBind(c, 0x4321, echo.address, tid);
    const answers = await sendCopies(c, raw, tid, 4);
    expect(answers).toHaveLength(4);
    for (const answer of answers) expect(outcome(c, answer)).toEqual({ cls: MessageClass.Success, code: undefined, integrityOk: true });
    // A late retransmission after other requests on the allocation.
    expect((await c.channelBind(0x4322, { ...echo.address, port: echo.address.port + 1 })).cls).toBe(MessageClass.Success);
    const late = await sendCopies(c, raw, tid, 1);
    expect(outcome(c, late[0]!).cls).toBe(MessageClass.Success);
  });

  it('still refuses what RFC 8656 §12.2 forbids: a number to a second peer, a peer to a second number, numbers outside 0x4000..0x7FFF', async () => {
    const { c, echo } = await setup('udp');
    const other: TransportAddress = { ...echo.address, port: echo.address.port + 1 };
    expect((await c.channelBind(0x7fff, echo.address)).cls).toBe(MessageClass.Success);
    expect((await c.channelBind(0x7fff, other)).error?.code).toBe(400);
    expect((await c.channelBind(0x4001, echo.address)).error?.code).toBe(400);
    expect((await c.channelBind(0x8000, other)).error?.code).toBe(400);
    expect((await c.channelBind(0x3fff, other)).error?.code).toBe(400);
    expect((await c.channelBind(0xffff, other)).error?.code).toBe(400);
  });
});
