// Two allocations on the same relay talking to each other through their relayed addresses: what two
// relay-only browsers on one TURN server do (browser-relay.test.ts; two firewalled participants of a
// P2P call in production). The protocol-level version of that test, so a failure names the step:
// CreatePermission, Send → Data indication, ChannelBind, ChannelData, both ways. coturn is the reference.
// The relays are configured as in the other interop tests (loopback peers allowed explicitly).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { coturnAvailable, hummingbirdUnavailable, startRelay, type RunningRelay } from '../support-interop/servers.js';
import { channelDataTemplate, relayedPayload, sendIndicationTemplate } from '../support-interop/stun.js';
import { TurnSession } from '../support-interop/turn-session.js';

const unavailable: Record<'coturn' | 'hummingbird', string | undefined> = {
  coturn: coturnAvailable(),
  hummingbird: await hummingbirdUnavailable(),
};

function nextPayload(session: TurnSession, timeoutMs = 3_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing relayed to ${JSON.stringify(session.relayed)} within ${timeoutMs} ms`)), timeoutMs);
    session.onData = (buf) => {
      const at = relayedPayload(buf);
      if (!at) return;
      clearTimeout(timer);
      session.onData = () => undefined;
      resolve(Buffer.from(buf.subarray(at.offset, at.offset + at.length)));
    };
  });
}

describe.each(['coturn', 'hummingbird'] as const)('relay ↔ relay on one %s relay', (kind) => {
  let relay: RunningRelay | undefined;
  let a: TurnSession | undefined;
  let b: TurnSession | undefined;

  beforeAll(async () => {
    if (unavailable[kind]) return;
    relay = await startRelay(kind);
    a = await TurnSession.open({ server: { address: relay.host, port: relay.udpPort }, credentials: relay.credentials('a') });
    b = await TurnSession.open({ server: { address: relay.host, port: relay.udpPort }, credentials: relay.credentials('b') });
    await a.allocate();
    await b.allocate();
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await relay?.close();
  });

  it.skipIf(unavailable[kind] !== undefined)('permissions for each other, then Send indications arrive as Data indications both ways', async () => {
    await a!.createPermission(b!.relayed!);
    await b!.createPermission(a!.relayed!);
    for (const [from, to] of [
      [a!, b!],
      [b!, a!],
    ] as const) {
      const template = sendIndicationTemplate(to.relayed!, 8);
      template.buf.write('68622d7232722d31', template.payloadOffset, 'hex');
      const received = nextPayload(to);
      from.send(template.buf);
      expect((await received).toString('hex')).toBe('68622d7232722d31');
    }
  });

  it.skipIf(unavailable[kind] !== undefined)('ChannelBind to each other, then ChannelData arrives both ways', async () => {
    await a!.channelBind(0x4000, b!.relayed!);
    await b!.channelBind(0x4001, a!.relayed!);
    for (const [from, to, channel] of [
      [a!, b!, 0x4000],
      [b!, a!, 0x4001],
    ] as const) {
      const template = channelDataTemplate(channel, 8);
      template.buf.write('68622d7232722d32', template.payloadOffset, 'hex');
      const received = nextPayload(to);
      from.send(template.buf);
      expect((await received).toString('hex')).toBe('68622d7232722d32');
    }
  });
});
