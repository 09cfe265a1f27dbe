// mediasoup-offline-build.md §10 item 8 (variant B, "accept"): an authenticated Binding request that
// carries ICE-CONTROLLED — what Chrome sends when the offer has no a=ice-lite (jitsi-client-protocol.md
// §8.2) — must get an authenticated Binding success, never the stock worker's 487 without
// MESSAGE-INTEGRITY, which Chrome discards.

import { createSocket, type Socket } from 'node:dgram';
import { waitFor } from '@hummingbird/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { types } from 'mediasoup';

import { startBridge, type TestBridge } from './support/bridge.js';
import {
  StunAttr,
  StunClass,
  decodeErrorCode,
  decodeStun,
  decodeXorMappedAddress,
  encodeBindingRequest,
  findAttribute,
  verifyFingerprint,
  verifyMessageIntegrity,
  type StunMessage,
} from './support/stun.js';

let bridge: TestBridge | undefined;
let socket: Socket | undefined;

beforeAll(async () => {
  bridge = await startBridge();
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  socket = s;
});

afterAll(() => {
  socket?.close();
  bridge?.close();
});

/** Sends one request and waits (bounded) for the response with the same transaction id. */
async function exchange(s: Socket, packet: Buffer, transactionId: Buffer, to: types.IceCandidate): Promise<StunMessage> {
  return new Promise<StunMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off('message', onMessage);
      reject(new Error(`no STUN response from ${to.address}:${to.port} within 3000 ms`));
    }, 3_000);
    function onMessage(raw: Buffer): void {
      let message: StunMessage;
      try {
        message = decodeStun(raw);
      } catch {
        return;
      }
      if (!message.transactionId.equals(transactionId)) return;
      clearTimeout(timer);
      s.off('message', onMessage);
      resolve(message);
    }
    s.on('message', onMessage);
    s.send(packet, to.port, to.address);
  });
}

function udpCandidate(transport: types.WebRtcTransport): types.IceCandidate {
  const candidate = transport.iceCandidates.find((c) => c.protocol === 'udp');
  if (!candidate) throw new Error('the WebRtcTransport has no UDP candidate');
  return candidate;
}

function describeResponse(message: StunMessage): string {
  const code = decodeErrorCode(message);
  return `type 0x${message.type.toString(16).padStart(4, '0')}${code ? ` error ${code}` : ''}, attributes ${message.attributes
    .map((a) => `0x${a.type.toString(16)}`)
    .join(',')}`;
}

describe('a Binding request with ICE-CONTROLLED (Chrome answering an offer without a=ice-lite, §8.2)', () => {
  it('is answered with a Binding success carrying XOR-MAPPED-ADDRESS and MESSAGE-INTEGRITY signed with the local ICE password', async () => {
    if (!bridge || !socket) throw new Error('setup failed');
    const transport = await bridge.router.createWebRtcTransport({ webRtcServer: bridge.webRtcServer });
    try {
      const { usernameFragment, password } = transport.iceParameters;
      const { packet, transactionId } = encodeBindingRequest({
        username: `${usernameFragment}:nodeclient`,
        password,
        priority: 0x6e7f1eff,
        role: 'controlled',
      });
      const response = await exchange(socket, packet, transactionId, udpCandidate(transport));

      expect(response.type, describeResponse(response)).toBe(StunClass.BindingSuccess);
      expect(findAttribute(response, StunAttr.MessageIntegrity), 'MESSAGE-INTEGRITY present').toBeDefined();
      expect(verifyMessageIntegrity(response, password), 'MESSAGE-INTEGRITY validates with the local ICE password').toBe(true);
      expect(verifyFingerprint(response), 'FINGERPRINT valid and last').toBe(true);
      const local = socket.address();
      expect(decodeXorMappedAddress(response)).toEqual({ address: '127.0.0.1', port: local.port });
      // Variant B: the accepted check selects a tuple; nobody nominates, so 'connected', not 'completed'.
      await waitFor('mediasoup iceState after the check', () => transport.iceState, (s) => s === 'connected' || s === 'completed', {
        timeoutMs: 3_000,
      });
      expect(transport.iceState).toBe('connected');
    } finally {
      transport.close();
    }
  });

  it('is answered with the OLD password after restartIce() while the old credentials are still in use (§10 item 8)', async () => {
    if (!bridge || !socket) throw new Error('setup failed');
    const transport = await bridge.router.createWebRtcTransport({ webRtcServer: bridge.webRtcServer });
    try {
      const old = transport.iceParameters;
      const first = encodeBindingRequest({ username: `${old.usernameFragment}:nodeclient`, password: old.password, priority: 1, role: 'controlled' });
      expect((await exchange(socket, first.packet, first.transactionId, udpCandidate(transport))).type).toBe(StunClass.BindingSuccess);

      const fresh = await transport.restartIce();
      expect(fresh.password).not.toBe(old.password);
      const again = encodeBindingRequest({ username: `${old.usernameFragment}:nodeclient`, password: old.password, priority: 1, role: 'controlled' });
      const response = await exchange(socket, again.packet, again.transactionId, udpCandidate(transport));
      expect(response.type, describeResponse(response)).toBe(StunClass.BindingSuccess);
      expect(verifyMessageIntegrity(response, old.password), 'signed with the old ICE password').toBe(true);
      expect(verifyFingerprint(response)).toBe(true);
    } finally {
      transport.close();
    }
  });
});
