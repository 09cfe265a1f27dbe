// The STUN helpers decide whether the worker's answers are authenticated (§10 item 8), so they are
// checked against the RFC 5769 test vectors: a helper that accepted anything would make that test
// unable to fail.

import { describe, expect, it } from 'vitest';

import {
  StunClass,
  crc32,
  decodeStun,
  decodeXorMappedAddress,
  encodeBindingRequest,
  verifyFingerprint,
  verifyMessageIntegrity,
} from './support/stun.js';

// RFC 5769 §2.2 "Sample IPv4 Response", password "VOkJxbRl1RmTxUk/WvJxBt".
const RFC5769_RESPONSE = Buffer.from(
  '0101003c2112a442b7e7a701bc34d686fa87dfae' +
    '8022000b7465737420766563746f7220' +
    '002000080001a147e112a643' +
    '000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7' +
    '80280004c07d4c96',
  'hex',
);
const RFC5769_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

describe('STUN helpers', () => {
  it('compute CRC-32 like zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('validate the RFC 5769 sample response and decode its XOR-MAPPED-ADDRESS', () => {
    const message = decodeStun(RFC5769_RESPONSE);
    expect(message.type).toBe(StunClass.BindingSuccess);
    expect(verifyMessageIntegrity(message, RFC5769_PASSWORD)).toBe(true);
    expect(verifyFingerprint(message)).toBe(true);
    expect(decodeXorMappedAddress(message)).toEqual({ address: '192.0.2.1', port: 32853 });
  });

  it('reject a wrong password and a corrupted message', () => {
    const message = decodeStun(RFC5769_RESPONSE);
    expect(verifyMessageIntegrity(message, 'wrong')).toBe(false);
    const corrupted = Buffer.from(RFC5769_RESPONSE);
    corrupted[30] = (corrupted[30] ?? 0) ^ 0xff;
    expect(verifyFingerprint(decodeStun(corrupted))).toBe(false);
    expect(verifyMessageIntegrity(decodeStun(corrupted), RFC5769_PASSWORD)).toBe(false);
  });

  it('build requests whose MESSAGE-INTEGRITY and FINGERPRINT verify', () => {
    const { packet } = encodeBindingRequest({ username: 'abcd:efgh', password: 'secret-password', priority: 1, role: 'controlled' });
    const message = decodeStun(packet);
    expect(message.type).toBe(StunClass.BindingRequest);
    expect(verifyMessageIntegrity(message, 'secret-password')).toBe(true);
    expect(verifyFingerprint(message)).toBe(true);
  });
});
