// Unit tests for the interop and benchmark tooling's own parsers: the test client's STUN decoder and
// relayed-payload lookup (fed hostile input), and the turnutils_uclient summary parser (fed truncated and
// failing runs). A wrong parser here would make the acceptance tests pass or fail for the wrong reason.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { parseUclientOutput, uclientArgs } from '../support-interop/coturn-tools.js';
import {
  Attr,
  Class,
  channelDataTemplate,
  decode,
  decodeXorAddress,
  encode,
  encodeXorAddress,
  integrityOk,
  longTermKey,
  messageType,
  Method,
  newTransactionId,
  relayedPayload,
  restCredentials,
  sendIndicationTemplate,
  StunDecodeError,
} from '../support-interop/stun.js';

describe('test client STUN codec', () => {
  it('round-trips a request with MESSAGE-INTEGRITY and FINGERPRINT, and detects tampering', () => {
    const tid = newTransactionId();
    const key = longTermKey('1700000000:alice', 'turn.test', 'pw');
    const msg = encode(Method.Allocate, Class.Request, tid, [[Attr.RequestedTransport, Buffer.from([17, 0, 0, 0])]], key);
    const decoded = decode(msg);
    expect(decoded.method).toBe(Method.Allocate);
    expect(decoded.cls).toBe(Class.Request);
    expect(decoded.transactionId.equals(tid)).toBe(true);
    expect(integrityOk(decoded, key)).toBe(true);
    expect(integrityOk(decoded, longTermKey('1700000000:alice', 'turn.test', 'other'))).toBe(false);
    const tampered = Buffer.from(msg);
    tampered[24] = 6; // REQUESTED-TRANSPORT value byte
    expect(integrityOk(decode(tampered), key)).toBe(false);
  });

  it('encodes message types as RFC 8489 §5 interleaves method and class bits', () => {
    expect(messageType(Method.Binding, Class.Request)).toBe(0x0001);
    expect(messageType(Method.Allocate, Class.Success)).toBe(0x0103);
    expect(messageType(Method.ChannelBind, Class.Error)).toBe(0x0119);
    expect(messageType(Method.Data, Class.Indication)).toBe(0x0017);
  });

  it('round-trips XOR addresses for IPv4 and IPv6', () => {
    const tid = newTransactionId();
    expect(decodeXorAddress(encodeXorAddress({ address: '127.0.0.1', port: 3478 }, tid), tid)).toEqual({ address: '127.0.0.1', port: 3478 });
    expect(decodeXorAddress(encodeXorAddress({ address: '2001:db8::1', port: 5 }, tid), tid)).toEqual({ address: '2001:db8:0:0:0:0:0:1', port: 5 });
  });

  it('makes TURN REST credentials: expiry:user and base64 HMAC-SHA1 of it with the secret', () => {
    const { username, password } = restCredentials('s3cr3t', 'bob', 60);
    expect(username).toMatch(/^\d+:bob$/);
    expect(Number(username.split(':')[0]) - Date.now() / 1000).toBeGreaterThan(50);
    expect(password).toBe(createHmac('sha1', 's3cr3t').update(username).digest('base64'));
  });

  it('rejects hostile input with a typed error, never an out-of-bounds read', () => {
    const good = encode(Method.Binding, Class.Success, newTransactionId(), [[Attr.Software, Buffer.from('x')]], undefined, false);
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.alloc(19),
      Buffer.from('40000004deadbeef', 'hex'), // ChannelData, not STUN
      (() => {
        const b = Buffer.from(good);
        b.writeUInt32BE(0, 4); // wrong cookie
        return b;
      })(),
      (() => {
        const b = Buffer.from(good);
        b.writeUInt16BE(0xfffc, 2); // length beyond the datagram
        return b;
      })(),
      (() => {
        const b = Buffer.from(good);
        b.writeUInt16BE(6, 2); // not a multiple of 4
        return b;
      })(),
      (() => {
        const b = Buffer.from(good);
        b.writeUInt16BE(0xffff, 22); // attribute length 0xFFFF
        return b;
      })(),
    ];
    for (const c of cases) expect(() => decode(c), c.toString('hex')).toThrow(StunDecodeError);
    expect(() => decodeXorAddress(Buffer.alloc(4), newTransactionId())).toThrow(StunDecodeError);
    expect(() => decodeXorAddress(Buffer.from([0, 9, 0, 0, 0, 0, 0, 0]), newTransactionId())).toThrow(StunDecodeError);
  });

  it('finds the payload of ChannelData and Data indications, and nothing in truncated or foreign datagrams', () => {
    const cd = channelDataTemplate(0x4001, 8);
    cd.buf.write('0102030405060708', cd.payloadOffset, 'hex');
    expect(relayedPayload(cd.buf)).toEqual({ offset: 4, length: 8 });
    expect(relayedPayload(cd.buf.subarray(0, 7))).toBeUndefined(); // declared 8, has 3
    const tid = newTransactionId();
    const data = encode(Method.Data, Class.Indication, tid, [
      [Attr.XorPeerAddress, encodeXorAddress({ address: '127.0.0.1', port: 9 }, tid)],
      [Attr.Data, Buffer.from('hello')],
    ], undefined, false);
    const at = relayedPayload(data);
    expect(at && data.subarray(at.offset, at.offset + at.length).toString()).toBe('hello');
    expect(relayedPayload(data.subarray(0, data.length - 8))).toBeUndefined();
    const send = sendIndicationTemplate({ address: '127.0.0.1', port: 9 }, 16);
    expect(relayedPayload(send.buf)).toBeUndefined(); // a Send indication is not relayed data
    expect(relayedPayload(Buffer.alloc(3))).toBeUndefined();
    expect(decode(send.buf).attrs.get(Attr.Data)?.length).toBe(16);
  });
});

describe('turnutils_uclient summary parser', () => {
  const success = [
    '0: : Total connect time is 0',
    '5: : start_mclient: msz=2, tot_send_msgs=10, tot_recv_msgs=10, tot_send_bytes ~ 2000, tot_recv_bytes ~ 2000',
    '5: : start_mclient: tot_send_msgs=500, tot_recv_msgs=497',
    '5: : start_mclient: tot_send_bytes ~ 100000, tot_recv_bytes ~ 99400',
    '5: : Total transmit time is 5',
    '5: : Total lost packets 3 (0.600000%), total send dropped 0 (0.000000%)',
    '5: : Average round trip delay 0.006000 ms; min = 0 ms, max = 3 ms',
  ].join('\n');

  it('reads the totals of a complete run (the per-interval msz= lines are not the totals)', () => {
    expect(parseUclientOutput(success)).toEqual({ sent: 500, received: 497, lost: 3, sendDropped: 0, avgRttMs: 0.006, errors: [] });
  });

  it('reports a failed allocation as an error and no totals', () => {
    const r = parseUclientOutput('0: : ERROR: Cannot complete Allocation\n0: : ERROR: Cannot complete Allocation\n');
    expect(r.sent).toBeUndefined();
    expect(r.lost).toBeUndefined();
    expect(r.errors).toHaveLength(2);
  });

  it('ignores the TLS protocol-context retries but not a refused connection; survives garbage', () => {
    const r = parseUclientOutput(
      '0: : tls_connect: cannot connect: rc=-1, ctx=1\n0: : errno=0, err=0, error:0A000438:SSL routines::tlsv1 alert internal error (1)\nConnect: Connection refused\n',
    );
    expect(r.errors).toEqual(['Connect: Connection refused']);
    expect(parseUclientOutput('\u0000\uffff'.repeat(1000) + 'Total lost packets x')).toMatchObject({ sent: undefined, lost: undefined });
  });

  it('builds the spec command line (spec/turn.md §5 T1)', () => {
    const args = uclientArgs({
      transport: 'tls',
      mode: 'send',
      clients: 50,
      messages: 1250,
      length: 200,
      intervalMs: 20,
      server: { port: 5349 },
      peer: { port: 3480 },
      auth: { secret: 'k' },
      user: 'alice',
      timeoutMs: 1,
    });
    expect(args.join(' ')).toBe('-t -S -s -W k -u alice -e 127.0.0.1 -r 3480 -p 5349 -m 50 -n 1250 -l 200 -z 20 -c 127.0.0.1');
  });
});
