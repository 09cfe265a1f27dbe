// A minimal bridge: the patched worker, one router and one WebRtcServer on loopback, set up as
// mediasoup-offline-build.md §10 items 1–2 describe. mediasoup is reached only through
// loadMediasoup() (infra/mediasoup-worker), which selects the patched worker binary; importing
// 'mediasoup' directly could start a stock worker that never connects with Chrome (§6.2).

import { loadMediasoup } from '@hummingbird/mediasoup-worker';
import type { types } from 'mediasoup';

/** jitsi-client-protocol.md §4.2 "recommended minimal offer": opus + VP8 only (RTX is added by mediasoup). */
export const MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 } },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

export interface TestBridge {
  worker: types.Worker;
  router: types.Router;
  webRtcServer: types.WebRtcServer;
  workerBin: string;
  version: string;
  close(): void;
}

export async function startBridge(): Promise<TestBridge> {
  const mediasoup = await loadMediasoup();
  const worker = await mediasoup.createWorker({ logLevel: 'warn' });
  try {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    // No port: mediasoup picks free ones from the worker's range, so parallel test files never collide.
    const webRtcServer = await worker.createWebRtcServer({
      listenInfos: [
        { protocol: 'udp', ip: '127.0.0.1' },
        { protocol: 'tcp', ip: '127.0.0.1' },
      ],
    });
    return {
      worker,
      router,
      webRtcServer,
      workerBin: mediasoup.workerBin,
      version: mediasoup.version,
      close: () => worker.close(),
    };
  } catch (error) {
    worker.close();
    throw error;
  }
}
