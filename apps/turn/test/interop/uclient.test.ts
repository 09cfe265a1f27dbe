// Interop acceptance (issue 5; spec/turn.md §5 T1): coturn's own client, turnutils_uclient, with
// turnutils_peer as the echo peer, over UDP, TCP and TLS, in channel (ChannelData) and Send-indication
// modes, with TURN REST credentials (-W). Each case runs against coturn first (the reference, same
// machine, same minute), then against the Hummingbird relay; ours must allocate every client and lose
// no more than coturn did.
//
// Size: 10 clients × 250 messages × 200 B at 20 ms per case by default (≈ 5 s each); HB_TURN_UCLIENT_FULL=1
// runs the spec's 50 × 1,250.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeUclient, runUclient, startEchoPeer, type EchoPeer, type UclientMode, type UclientSummary, type UclientTransport } from '../support-interop/coturn-tools.js';
import { coturnAvailable, hummingbirdUnavailable, startRelay, type RunningRelay } from '../support-interop/servers.js';

const FULL = process.env['HB_TURN_UCLIENT_FULL'] === '1';
const CLIENTS = FULL ? 50 : 10;
const MESSAGES = FULL ? 1_250 : 250;
const CASE_TIMEOUT_MS = 60_000;

const coturnMissing = coturnAvailable();
const oursMissing = await hummingbirdUnavailable();
if (coturnMissing) console.log(`SKIPPED turnutils_uclient interop: ${coturnMissing}`);
if (oursMissing) console.log(`SKIPPED the Hummingbird half of the uclient interop: ${oursMissing}`);

const CASES: ReadonlyArray<{ transport: UclientTransport; mode: UclientMode }> = [
  { transport: 'udp', mode: 'channel' },
  { transport: 'udp', mode: 'send' },
  { transport: 'tcp', mode: 'channel' },
  { transport: 'tcp', mode: 'send' },
  { transport: 'tls', mode: 'channel' },
  { transport: 'tls', mode: 'send' },
];

let coturn: RunningRelay | undefined;
let ours: RunningRelay | undefined;
let peer: EchoPeer | undefined;
/** coturn's result per case, for the same-run comparison. */
const reference = new Map<string, UclientSummary>();

function portFor(relay: RunningRelay, transport: UclientTransport): number {
  const port = transport === 'udp' ? relay.udpPort : transport === 'tcp' ? relay.tcpPort : relay.tlsPort;
  if (port === undefined) throw new Error(`${relay.kind} has no ${transport} listener`);
  return port;
}

async function runAgainst(relay: RunningRelay, transport: UclientTransport, mode: UclientMode): Promise<UclientSummary> {
  if (!peer) throw new Error('echo peer not started');
  if (relay.auth.kind !== 'rest') throw new Error(`${relay.kind} has no REST secret`);
  return runUclient({
    transport,
    mode,
    clients: CLIENTS,
    messages: MESSAGES,
    length: 200,
    intervalMs: 20,
    server: { port: portFor(relay, transport) },
    peer: { port: peer.port },
    auth: { secret: relay.auth.secret },
    user: 'uclient',
    timeoutMs: CASE_TIMEOUT_MS,
  });
}

describe.skipIf(coturnMissing !== undefined)('turnutils_uclient against coturn and the Hummingbird relay (spec/turn.md §5 T1)', () => {
  beforeAll(async () => {
    peer = await startEchoPeer();
    coturn = await startRelay('coturn');
    if (!oursMissing) ours = await startRelay('hummingbird');
  }, 60_000);

  afterAll(async () => {
    await ours?.close();
    await coturn?.close();
    await peer?.close();
  });

  describe.each(CASES)('$transport, $mode mode', ({ transport, mode }) => {
    const key = `${transport}/${mode}`;

    it(`coturn (reference): ${CLIENTS}/${CLIENTS} allocations, every message sent`, async () => {
      if (!coturn) throw new Error('coturn not started');
      const result = await runAgainst(coturn, transport, mode);
      reference.set(key, result);
      console.log(`coturn ${key}: ${describeUclient(result)}\n  ${result.command}`);
      expect(result.timedOut, result.output.slice(-2_000)).toBe(false);
      expect(result.exitCode, result.output.slice(-2_000)).toBe(0);
      expect(result.sent).toBe(CLIENTS * MESSAGES);
    }, CASE_TIMEOUT_MS + 10_000);

    it.skipIf(oursMissing !== undefined)(`Hummingbird: ${CLIENTS}/${CLIENTS} allocations, loss ≤ coturn's in the same run`, async () => {
      if (!ours) throw new Error('Hummingbird relay not started');
      const result = await runAgainst(ours, transport, mode);
      const ref = reference.get(key);
      console.log(`hummingbird ${key}: ${describeUclient(result)} (coturn: ${ref ? describeUclient(ref) : 'no reference run'})`);
      expect(result.timedOut, result.output.slice(-2_000)).toBe(false);
      // uclient exits non-zero as soon as one client cannot allocate ("Cannot complete Allocation").
      // Error lines alone are not failures: under load uclient retransmits an Allocate and logs the 437
      // it gets for the duplicate, from coturn as well ("Mismatched allocation: wrong transaction ID").
      expect(result.exitCode, `${describeUclient(result)}\n${result.output.slice(-2_000)}`).toBe(0);
      expect(result.sent, 'every client allocated and sent all its messages').toBe(CLIENTS * MESSAGES);
      expect(ref?.lost, 'coturn reference run for this case').toBeTypeOf('number');
      expect(result.lost).toBeTypeOf('number');
      expect(result.lost!).toBeLessThanOrEqual(ref!.lost!);
    }, CASE_TIMEOUT_MS + 10_000);
  });
});
