import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bytesToIp, canonicalIp, ipToBytes, unmapIp } from '../src/address.js';
import { buildProxyV2, parseProxyHeader, parseProxyV2 } from '../src/proxy-protocol.js';
import { decodeErrorCode, decodeStun, decodeXorAddress, encodeErrorCode, encodeStun, encodeXorAddress, longTermKey, MAX_ATTRIBUTES, verifyIntegrity } from '../src/stun/codec.js';
import { Attr, classOf, MessageClass, Method, messageType, methodOf } from '../src/stun/constants.js';
import { dataIndicationHeader, parseSendIndication } from '../src/stun/datapath.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1: sample request (short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt").
const RFC5769_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

// RFC 5769 §2.4: sample request with long-term credentials (username "マトリックス", password "TheMatrIX").
const RFC5769_LONG_TERM = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

function decoded(buf: Buffer) {
  const result = decodeStun(buf);
  if (!result.ok) throw new Error(`decode failed: ${result.reason}`);
  return result.message;
}

function failure(buf: Buffer): string {
  const result = decodeStun(buf);
  return result.ok ? 'ok' : result.reason;
}

/** A Binding request header with a body of `body`. */
function withBody(body: Buffer, type = 0x0001): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length, 2);
  head.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(head, 8);
  return Buffer.concat([head, body]);
}

describe('RFC 5769 test vectors', () => {
  it('§2.1: decodes the sample request, checks its FINGERPRINT and MESSAGE-INTEGRITY (short-term key)', () => {
    const message = decoded(RFC5769_REQUEST);
    expect(message.method).toBe(Method.Binding);
    expect(message.cls).toBe(MessageClass.Request);
    expect(message.hasFingerprint).toBe(true);
    expect(message.attributes.get(Attr.Username)?.toString()).toBe('evtj:h6vY');
    expect(message.attributes.get(Attr.Software)?.toString()).toBe('STUN test client');
    expect(verifyIntegrity(message, Buffer.from('VOkJxbRl1RmTxUk/WvJxBt'))).toBe(true);
    expect(verifyIntegrity(message, Buffer.from('VOkJxbRl1RmTxUk/WvJxBu'))).toBe(false);
  });

  it('§2.4: verifies long-term MESSAGE-INTEGRITY with MD5(username:realm:password)', () => {
    const message = decoded(RFC5769_LONG_TERM);
    expect(message.attributes.get(Attr.Realm)?.toString()).toBe('example.org');
    const key = longTermKey('マトリックス', 'example.org', 'TheMatrIX');
    expect(verifyIntegrity(message, key)).toBe(true);
    expect(verifyIntegrity(message, longTermKey('マトリックス', 'example.org', 'TheMatrix'))).toBe(false);
  });

  it('one flipped bit anywhere before FINGERPRINT fails the fingerprint check', () => {
    for (let i = 0; i < RFC5769_REQUEST.length - 8; i++) {
      const copy = Buffer.from(RFC5769_REQUEST);
      copy[i]! ^= 0x01;
      const reason = failure(copy);
      expect(reason === 'ok', `byte ${i}`).toBe(false);
    }
  });
});

describe('message types', () => {
  it('interleaves method and class bits (RFC 8489 §5) and inverts exactly', () => {
    expect(messageType(Method.Allocate, MessageClass.Request)).toBe(0x0003);
    expect(messageType(Method.Allocate, MessageClass.Success)).toBe(0x0103);
    expect(messageType(Method.Allocate, MessageClass.Error)).toBe(0x0113);
    expect(messageType(Method.Send, MessageClass.Indication)).toBe(0x0016);
    expect(messageType(Method.Data, MessageClass.Indication)).toBe(0x0017);
    expect(messageType(Method.ChannelBind, MessageClass.Success)).toBe(0x0109);
    for (let method = 0; method < 0x1000; method += 7) {
      for (const cls of [0, 1, 2, 3] as const) {
        const type = messageType(method, cls);
        expect(methodOf(type)).toBe(method);
        expect(classOf(type)).toBe(cls);
      }
    }
  });
});

describe('encode/decode', () => {
  it('round-trips attributes with padding, MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const tid = randomBytes(12);
    const key = longTermKey('1700000000:alice', 'turn.test', 'pw');
    const buf = encodeStun(Method.Allocate, MessageClass.Success, tid, [[Attr.Software, Buffer.from('abc')], [Attr.Lifetime, Buffer.from([0, 0, 2, 88])]], { integrityKey: key });
    const message = decoded(buf);
    expect(buf.length % 4).toBe(0);
    expect(message.attributes.get(Attr.Software)?.toString()).toBe('abc');
    expect(message.integrityOffset).toBeGreaterThan(0);
    expect(message.hasFingerprint).toBe(true);
    expect(verifyIntegrity(message, key)).toBe(true);
    expect(message.transactionId.equals(tid)).toBe(true);
  });

  it('ignores attributes after MESSAGE-INTEGRITY except FINGERPRINT (RFC 8489 §14.5)', () => {
    const tid = randomBytes(12);
    const key = Buffer.from('k');
    const signed = encodeStun(Method.Binding, MessageClass.Request, tid, [[Attr.Username, Buffer.from('u')]], { integrityKey: key, fingerprint: false });
    const extra = Buffer.from([0x00, 0x06, 0x00, 0x01, 0x78, 0, 0, 0, 0x7f, 0xff, 0x00, 0x00]); // USERNAME again + unknown required
    const body = Buffer.concat([signed.subarray(20), extra]);
    const message = decoded(withBody(body));
    expect(message.attributes.get(Attr.Username)?.toString()).toBe('u');
    expect(message.unknownRequired).toEqual([]);
  });

  it('keeps the first of duplicate attributes and collects every XOR-PEER-ADDRESS', () => {
    const tid = randomBytes(12);
    const peers = [1, 2, 3].map((n) => encodeXorAddress({ family: 4, address: `8.8.8.${n}`, port: 1000 + n }, tid));
    const buf = encodeStun(Method.CreatePermission, MessageClass.Request, tid, [...peers.map((p) => [Attr.XorPeerAddress, p] as const), [Attr.Lifetime, Buffer.alloc(4, 1)], [Attr.Lifetime, Buffer.alloc(4, 2)]]);
    const message = decoded(buf);
    expect(message.peerAddresses.map((p) => decodeXorAddress(p, tid)?.address)).toEqual(['8.8.8.1', '8.8.8.2', '8.8.8.3']);
    expect(message.attributes.get(Attr.Lifetime)?.[0]).toBe(1);
  });

  it('lists unknown comprehension-required attributes and ignores unknown optional ones', () => {
    const buf = encodeStun(Method.Binding, MessageClass.Request, randomBytes(12), [
      [0x7777, Buffer.alloc(4)],
      [0xc001, Buffer.alloc(4)],
      [Attr.MessageIntegritySha256, Buffer.alloc(32)],
    ]);
    expect(decoded(buf).unknownRequired).toEqual([0x7777, Attr.MessageIntegritySha256]);
  });

  it('XOR addresses: IPv4 and IPv6 round-trip, hostile lengths and families are refused', () => {
    const tid = randomBytes(12);
    for (const address of ['192.0.2.1', '8.8.8.8', '2001:db8::1', '::1', 'fe80::1:2:3:4', '2001:db8:1:2:3:4:5:6']) {
      const family = address.includes(':') ? 6 : 4;
      const value = encodeXorAddress({ family, address, port: 32853 }, tid);
      expect(decodeXorAddress(value, tid)).toEqual({ family, address, port: 32853 });
    }
    expect(decodeXorAddress(Buffer.alloc(3), tid)).toBeUndefined();
    expect(decodeXorAddress(Buffer.from([0, 1, 0, 0, 1, 2, 3]), tid)).toBeUndefined();
    expect(decodeXorAddress(Buffer.from([0, 3, 0, 0, 1, 2, 3, 4]), tid)).toBeUndefined();
    expect(decodeXorAddress(Buffer.alloc(20, 0).fill(1, 1, 2), tid)).toBeUndefined(); // v4 family with 16 bytes
  });

  it('ERROR-CODE encodes class and number', () => {
    expect(decodeErrorCode(encodeErrorCode(438))).toEqual({ code: 438, reason: 'Stale Nonce' });
    expect(decodeErrorCode(encodeErrorCode(420))?.code).toBe(420);
    expect(decodeErrorCode(Buffer.alloc(2))).toBeUndefined();
  });
});

describe('hostile input: decodeStun returns a typed failure, never throws', () => {
  const valid = encodeStun(Method.Binding, MessageClass.Request, randomBytes(12), [[Attr.Software, Buffer.from('x')]]);

  it.each([
    ['empty', Buffer.alloc(0), 'truncated'],
    ['1 byte', Buffer.from([0]), 'truncated'],
    ['10-byte header', valid.subarray(0, 10), 'truncated'],
    ['top bits set', Buffer.concat([Buffer.from([0xc0]), valid.subarray(1)]), 'not-stun'],
    ['wrong cookie', Buffer.concat([valid.subarray(0, 4), Buffer.from([0, 0, 0, 0]), valid.subarray(8)]), 'bad-cookie'],
    ['RFC 3489 (no cookie)', Buffer.concat([valid.subarray(0, 4), randomBytes(4), valid.subarray(8)]), 'bad-cookie'],
    ['length says 100, no body', (() => { const b = Buffer.from(valid.subarray(0, 20)); b.writeUInt16BE(100, 2); return b; })(), 'bad-length'],
    ['length with the sign bit (0x8004)', (() => { const b = Buffer.from(valid.subarray(0, 20)); b.writeUInt16BE(0x8004, 2); return b; })(), 'bad-length'],
    ['length not a multiple of 4', (() => { const b = Buffer.concat([valid, Buffer.alloc(2)]); b.writeUInt16BE(valid.length - 20 + 2, 2); return b; })(), 'bad-length'],
    ['trailing bytes beyond the length', Buffer.concat([valid, Buffer.alloc(4)]), 'bad-length'],
    ['0xFFFF attribute length', withBody(Buffer.from([0x00, 0x06, 0xff, 0xff, 1, 2, 3, 4])), 'bad-attribute-length'],
    ['attribute header cut short', withBody(Buffer.from([0x00, 0x06, 0x00, 0x04])), 'bad-attribute-length'],
    ['MESSAGE-INTEGRITY of 4 bytes', withBody(Buffer.from([0x00, 0x08, 0x00, 0x04, 1, 2, 3, 4])), 'bad-attribute-length'],
    ['FINGERPRINT of 8 bytes', withBody(Buffer.from([0x80, 0x28, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8])), 'bad-attribute-length'],
    ['wrong FINGERPRINT', withBody(Buffer.from([0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4])), 'bad-fingerprint'],
    ['attribute flood (16,000 empty attributes)', withBody(Buffer.alloc(64_000, 0).fill(0x80, 0, 1)), 'too-many-attributes'],
  ])('%s → %s', (_name, buf, reason) => {
    expect(failure(buf)).toBe(reason);
  });

  it('anything after FINGERPRINT is refused, even when the CRC itself matches', () => {
    const msg = withBody(Buffer.from([0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x80, 0x22, 0x00, 0x00]));
    msg.writeUInt32BE((crc32(msg.subarray(0, 20)) ^ 0x5354554e) >>> 0, 24);
    expect(failure(msg)).toBe('fingerprint-not-last');
    const cut = Buffer.from(msg.subarray(0, 28));
    cut.writeUInt16BE(8, 2);
    expect(failure(cut)).toBe('bad-fingerprint');
  });

  it(`accepts ${MAX_ATTRIBUTES} attributes and refuses ${MAX_ATTRIBUTES + 1}`, () => {
    const attr = Buffer.from([0x80, 0x22, 0x00, 0x00]);
    expect(failure(withBody(Buffer.concat(new Array<Buffer>(MAX_ATTRIBUTES).fill(attr))))).toBe('ok');
    expect(failure(withBody(Buffer.concat(new Array<Buffer>(MAX_ATTRIBUTES + 1).fill(attr))))).toBe('too-many-attributes');
  });

  it('50,000 random and mutated buffers: no throw, every result typed', () => {
    for (let i = 0; i < 50_000; i++) {
      let buf: Buffer;
      if (i % 2 === 0) {
        buf = randomBytes(i % 300);
      } else {
        buf = Buffer.from(valid);
        for (let k = 0; k < 3; k++) buf[Math.floor(Math.random() * buf.length)] = Math.floor(Math.random() * 256);
      }
      const result = decodeStun(buf);
      expect(typeof result.ok).toBe('boolean');
    }
  });
});

describe('Send indication fast path', () => {
  const tid = randomBytes(12);
  const send = (attributes: Array<readonly [number, Buffer]>, fingerprint = false) => encodeStun(Method.Send, MessageClass.Indication, tid, attributes, { fingerprint });

  it('reads peer and DATA as views (no copy), IPv4 and IPv6, with or without FINGERPRINT', () => {
    for (const address of ['8.8.4.4', '2001:db8::42']) {
      for (const fingerprint of [false, true]) {
        const family = address.includes(':') ? 6 : 4;
        const buf = send([[Attr.XorPeerAddress, encodeXorAddress({ family, address, port: 5000 }, tid)], [Attr.Data, Buffer.from('payload!x')]], fingerprint);
        const parsed = parseSendIndication(buf);
        if (typeof parsed === 'string') throw new Error(parsed);
        expect(parsed).toMatchObject({ family, address, port: 5000 });
        expect(parsed.data.toString()).toBe('payload!x');
        expect(parsed.data.buffer).toBe(buf.buffer);
      }
    }
  });

  it('refuses hostile Send indications with a reason', () => {
    const peer: readonly [number, Buffer] = [Attr.XorPeerAddress, encodeXorAddress({ family: 4, address: '8.8.4.4', port: 1 }, tid)];
    expect(parseSendIndication(send([[Attr.Data, Buffer.from('x')]]))).toBe('missing-peer');
    expect(parseSendIndication(send([peer]))).toBe('missing-data');
    expect(parseSendIndication(send([peer, [Attr.Data, Buffer.from('x')], [0x7001, Buffer.alloc(0)]]))).toBe('unknown-attribute');
    const good = send([peer, [Attr.Data, Buffer.from('x')]], true);
    const badFp = Buffer.from(good);
    badFp[badFp.length - 1]! ^= 1;
    expect(parseSendIndication(badFp)).toBe('bad-fingerprint');
    const long = Buffer.from(good);
    long.writeUInt16BE(0xfffc, 2);
    expect(parseSendIndication(long)).toBe('bad-length');
    const attrFlood = withBody(Buffer.alloc(4 * 100, 0).fill(0x80, 0, 1), 0x0016);
    expect(parseSendIndication(attrFlood)).not.toEqual(expect.objectContaining({ data: expect.anything() as unknown }));
  });

  it('Data indication header + payload decodes with the control codec (peer payload untouched)', () => {
    const payload = hex('4001000409090909');
    const header = dataIndicationHeader(4, ipToBytes('8.8.8.8')!, 3478, payload.length, tid);
    const message = decoded(Buffer.concat([header, payload]));
    expect(message.method).toBe(Method.Data);
    expect(message.attributes.get(Attr.Data)?.equals(payload)).toBe(true);
    expect(decodeXorAddress(message.attributes.get(Attr.XorPeerAddress)!, tid)).toEqual({ family: 4, address: '8.8.8.8', port: 3478 });
    const v6 = dataIndicationHeader(6, ipToBytes('2001:db8::9')!, 1, 3, tid);
    const v6Message = decoded(Buffer.concat([v6, Buffer.from('abc'), Buffer.alloc(1)]));
    expect(decodeXorAddress(v6Message.attributes.get(Attr.XorPeerAddress)!, tid)?.address).toBe('2001:db8::9');
  });
});

describe('IP text', () => {
  it('formats IPv6 per RFC 5952 and reads every textual form', () => {
    expect(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalIp('2001:db8::1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('::ffff:a00:1');
    expect(canonicalIp('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('not-an-ip')).toBeUndefined();
    expect(canonicalIp('1.2.3')).toBeUndefined();
    expect(bytesToIp(new Uint8Array([10, 0, 0, 1]))).toBe('10.0.0.1');
    expect(unmapIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmapIp('::1')).toBe('::1');
  });
});

describe('PROXY protocol v1 (what stock nginx sends)', () => {
  it('reads TCP4, TCP6 and UNKNOWN lines', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1 127.0.0.1 51000 443\r\n\x16\x03'))).toEqual({
      kind: 'proxy', family: 4, sourceAddress: '192.0.2.1', sourcePort: 51000, destinationAddress: '127.0.0.1', destinationPort: 443, length: 42,
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 1 2\r\n'))).toMatchObject({ kind: 'proxy', family: 6, sourceAddress: '2001:db8::1' });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ kind: 'local', length: 15 });
  });

  it('waits for the CRLF, and refuses malformed lines and over-long ones', () => {
    expect(parseProxyHeader(Buffer.from('PRO'))).toBe('incomplete');
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1 127.0.0.1 51000'))).toBe('incomplete');
    for (const bad of [
      'PROXY TCP4 192.0.2.1 127.0.0.1 51000\r\n',
      'PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n',
      'PROXY TCP4 192.0.2.1 127.0.0.1 65536 443\r\n',
      'PROXY TCP4 192.0.2.1 127.0.0.1 0443 443\r\n',
      'PROXY TCP4 192.0.2.1 127.0.0.1 -1 443\r\n',
      'PROXY UDP4 192.0.2.1 127.0.0.1 1 443\r\n',
      'PROXY  TCP4 192.0.2.1 127.0.0.1 1 443\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
    ]) {
      expect(parseProxyHeader(Buffer.from(bad)), bad).toBe('invalid');
    }
  });
});

describe('PROXY protocol v2', () => {
  it('reads IPv4 and IPv6 headers and the LOCAL command', () => {
    const v4 = buildProxyV2({ address: '203.0.113.9', port: 51000 }, { address: '127.0.0.1', port: 443 }, 4, ipToBytes);
    expect(parseProxyV2(v4)).toEqual({ kind: 'proxy', family: 4, sourceAddress: '203.0.113.9', sourcePort: 51000, destinationAddress: '127.0.0.1', destinationPort: 443, length: 28 });
    const v6 = buildProxyV2({ address: '2001:db8::5', port: 1 }, { address: '::1', port: 2 }, 6, ipToBytes);
    const parsed = parseProxyV2(v6);
    expect(parsed).toMatchObject({ kind: 'proxy', family: 6, sourcePort: 1, length: 52 });
    if (typeof parsed === 'object' && parsed.kind === 'proxy') expect(canonicalIp(parsed.sourceAddress)).toBe('2001:db8::5');
    const local = Buffer.from(v4);
    local[12] = 0x20;
    expect(parseProxyV2(local)).toEqual({ kind: 'local', length: 28 });
  });

  it('waits for more on a partial header and refuses v1, garbage, bad versions and huge lengths', () => {
    const v4 = buildProxyV2({ address: '203.0.113.9', port: 51000 }, { address: '127.0.0.1', port: 443 }, 4, ipToBytes);
    for (let n = 0; n < v4.length; n++) expect(parseProxyV2(v4.subarray(0, n))).toBe('incomplete');
    expect(parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toBe('invalid'); // v1 is not v2
    expect(parseProxyV2(Buffer.from([0x16, 0x03, 0x01]))).toBe('invalid'); // a TLS ClientHello without header
    const badVersion = Buffer.from(v4);
    badVersion[12] = 0x11;
    expect(parseProxyV2(badVersion)).toBe('invalid');
    const huge = Buffer.from(v4);
    huge.writeUInt16BE(0xffff, 14);
    expect(parseProxyV2(huge)).toBe('invalid');
    const shortBody = Buffer.from(v4.subarray(0, 20));
    shortBody.writeUInt16BE(4, 14);
    expect(parseProxyV2(shortBody)).toBe('invalid');
  });
});
