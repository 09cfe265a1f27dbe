// The patched worker forwards media: plain RTP through a router, and SRTP between two workers
// with every crypto suite the bridge may negotiate (spec mediasoup-offline-build.md §10 items
// 1-3 and 6). Real worker, real UDP on 127.0.0.1.
import { loadMediasoup } from '@hummingbird/mediasoup-worker';
import type { Socket } from 'node:dgram';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_MEDIA_CODECS } from '../src/index.js';
import { buildRtp, openSender, OPUS_PAYLOAD, RtpSink, send, VP8_KEYFRAME_PAYLOAD, waitFor } from './support/rtp.js';

type Mediasoup = Awaited<ReturnType<typeof loadMediasoup>>;

const AUDIO_SSRC = 11111111;
const VIDEO_SSRC = 22222222;
const PACKETS = 100;

const audioParameters = (ssrc: number): types.RtpParameters => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});
const videoParameters = (ssrc: number): types.RtpParameters => ({
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }],
  encodings: [{ ssrc }],
});

/** A comedia PlainTransport: it latches onto the first packet's source address. */
async function plainIn(router: types.Router): Promise<types.PlainTransport> {
  return router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
}

async function sendStream(socket: Socket, port: number, pt: number, ssrc: number, payload: Buffer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await send(socket, buildRtp({ payloadType: pt, sequenceNumber: 1000 + i, timestamp: 960 * i, ssrc, marker: true }, payload), port);
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
  }
}

describe('patched mediasoup worker', () => {
  let mediasoup: Mediasoup;
  let worker: types.Worker;
  let router: types.Router;
  let sender: Socket;
  let sink: RtpSink;

  beforeAll(async () => {
    mediasoup = await loadMediasoup();
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    sender = await openSender();
    sink = await RtpSink.open();
  });

  afterAll(() => {
    sender?.close();
    sink?.close();
    worker?.close();
  });

  it('runs the binary built by infra/mediasoup-worker, never a stock one', () => {
    expect(mediasoup.workerBin).toMatch(/mediasoup-worker$/);
    expect(mediasoup.workerBin).not.toContain('node_modules');
    expect(mediasoup.version).toBe('3.19.3');
  });

  it('creates a router with Opus and VP8 (+ RTX) capabilities', () => {
    const codecs = router.rtpCapabilities.codecs ?? [];
    expect(codecs.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8', 'video/rtx']);
  });

  it('creates a WebRtcServer on 127.0.0.1 and a WebRtcTransport with UDP and TCP candidates', async () => {
    const server = await worker.createWebRtcServer({
      listenInfos: [
        { protocol: 'udp', ip: '127.0.0.1', port: 0 },
        { protocol: 'tcp', ip: '127.0.0.1', port: 0 },
      ],
    });
    const transport = await router.createWebRtcTransport({ webRtcServer: server, enableUdp: true, enableTcp: true });
    expect(transport.iceParameters.iceLite).toBe(true);
    const protocols = transport.iceCandidates.map((c) => `${c.protocol}:${c.address}`).sort();
    expect(protocols).toEqual(['tcp:127.0.0.1', 'udp:127.0.0.1']);
    expect(transport.dtlsParameters.fingerprints.some((f) => f.algorithm === 'sha-256')).toBe(true);
    transport.close();
    server.close();
    expect(transport.closed).toBe(true);
  });

  it('forwards RTP sent into one PlainTransport to consumers on a second PlainTransport', async () => {
    const audioIn = await plainIn(router);
    const videoIn = await plainIn(router);
    const out = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    await out.connect({ ip: '127.0.0.1', port: sink.port });

    const audioProducer = await audioIn.produce({ kind: 'audio', rtpParameters: audioParameters(AUDIO_SSRC) });
    const videoProducer = await videoIn.produce({ kind: 'video', rtpParameters: videoParameters(VIDEO_SSRC) });
    const audioConsumer = await out.consume({ producerId: audioProducer.id, rtpCapabilities: router.rtpCapabilities });
    const videoConsumer = await out.consume({ producerId: videoProducer.id, rtpCapabilities: router.rtpCapabilities });
    const audioOutSsrc = audioConsumer.rtpParameters.encodings?.[0]?.ssrc ?? -1;
    const videoOutSsrc = videoConsumer.rtpParameters.encodings?.[0]?.ssrc ?? -1;

    await Promise.all([
      sendStream(sender, audioIn.tuple.localPort, 111, AUDIO_SSRC, OPUS_PAYLOAD, PACKETS),
      sendStream(sender, videoIn.tuple.localPort, 96, VIDEO_SSRC, VP8_KEYFRAME_PAYLOAD, PACKETS),
    ]);
    await waitFor(() => sink.count(audioOutSsrc) >= PACKETS && sink.count(videoOutSsrc) >= PACKETS, 5000);

    const [producerStats] = await audioProducer.getStats();
    expect(producerStats?.packetCount).toBe(PACKETS);
    expect(sink.count(audioOutSsrc)).toBe(PACKETS);
    expect(sink.count(videoOutSsrc)).toBe(PACKETS);
    // The consumers re-stamp the router's payload types (spec jitsi-client-protocol.md §8.3).
    expect(sink.payloadTypesBySsrc.get(audioOutSsrc)).toBe(audioConsumer.rtpParameters.codecs[0]?.payloadType);
    expect(sink.payloadTypesBySsrc.get(videoOutSsrc)).toBe(videoConsumer.rtpParameters.codecs[0]?.payloadType);
    audioIn.close();
    videoIn.close();
    out.close();
  });

  const SUITES: types.SrtpCryptoSuite[] = [
    'AEAD_AES_256_GCM',
    'AEAD_AES_128_GCM',
    'AES_CM_128_HMAC_SHA1_80',
    'AES_CM_128_HMAC_SHA1_32',
  ];

  for (const suite of SUITES) {
    it(`carries SRTP ${suite} from one worker to another without loss`, async () => {
      // worker A: plain RTP in -> consumer on an SRTP PlainTransport -> UDP ->
      // worker B: SRTP PlainTransport -> producer -> consumer on a plain transport -> sink.
      const workerB = await mediasoup.createWorker({ logLevel: 'warn' });
      try {
        const routerB = await workerB.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
        const input = await plainIn(router);
        const srtpA = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          enableSrtp: true,
          srtpCryptoSuite: suite,
        });
        const srtpB = await routerB.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          enableSrtp: true,
          srtpCryptoSuite: suite,
        });
        const keysA = srtpA.srtpParameters;
        const keysB = srtpB.srtpParameters;
        if (!keysA || !keysB) throw new Error('SRTP transports returned no srtpParameters');
        await srtpA.connect({ ip: '127.0.0.1', port: srtpB.tuple.localPort, srtpParameters: keysB });
        await srtpB.connect({ ip: '127.0.0.1', port: srtpA.tuple.localPort, srtpParameters: keysA });
        const out = await routerB.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
        await out.connect({ ip: '127.0.0.1', port: sink.port });

        const producerA = await input.produce({ kind: 'audio', rtpParameters: audioParameters(33333333) });
        const consumerA = await srtpA.consume({ producerId: producerA.id, rtpCapabilities: router.rtpCapabilities });
        const producerB = await srtpB.produce({ kind: 'audio', rtpParameters: consumerA.rtpParameters });
        const consumerB = await out.consume({ producerId: producerB.id, rtpCapabilities: routerB.rtpCapabilities });
        const outSsrc = consumerB.rtpParameters.encodings?.[0]?.ssrc ?? -1;

        await sendStream(sender, input.tuple.localPort, 111, 33333333, OPUS_PAYLOAD, PACKETS);
        await waitFor(() => sink.count(outSsrc) >= PACKETS, 5000);

        const [statsB] = await producerB.getStats();
        expect(statsB?.packetCount, 'packets decrypted by worker B').toBe(PACKETS);
        expect(sink.count(outSsrc), 'packets forwarded by worker B').toBe(PACKETS);
        input.close();
        srtpA.close();
      } finally {
        workerB.close();
      }
    });
  }
});
