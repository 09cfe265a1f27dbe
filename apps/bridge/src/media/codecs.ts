import type { types } from 'mediasoup';

/**
 * The codecs every conference router offers, in preference order: Opus and VP8 first
 * (jitsi-client-protocol.md §8.7: offer only VP8 + Opus initially; VP9/AV1 SVC would need
 * scalability modes signalled to mediasoup). RTX is added by mediasoup for video.
 */
export const ROUTER_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    parameters: { minptime: 10, useinbandfec: 1 },
  },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    parameters: { 'x-google-start-bitrate': 800 },
  },
];
