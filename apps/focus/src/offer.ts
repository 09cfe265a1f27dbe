import type { MidMode, offerDescription } from '@hummingbird/xmpp';

/** The mediasoup router capabilities type, as the xmpp mapping takes it (mediasoup stays a bridge dependency). */
export type RouterCapabilities = Parameters<typeof offerDescription>[0];

/**
 * The FALLBACK offer (spec/jitsi-client-protocol.md §4.2 "recommended minimal offer", §8.3), used only where the
 * bridge did not say: a bridge without `<media>` in its endpoint answer (JVB), and the `<media>` of the first
 * allocation on a bridge, before its numbers are known. A Hummingbird bridge answers with its router's `<media>`, and
 * the offer and every later allocation on that bridge use exactly those (conference.ts).
 *
 * It mirrors what a mediasoup 3.19 router computes for apps/bridge's ROUTER_MEDIA_CODECS (Opus, then VP8): opus 100
 * (fb nack, transport-cc), VP8 101 (x-google-start-bitrate 800; fb nack, nack pli, ccm fir, goog-remb,
 * transport-cc), rtx 102; abs-send-time 4, transport-cc 5, ssrc-audio-level 10 — checked against the real bridge's
 * router in test/focus.bridge.test.ts, so the first endpoint's consumer capabilities match the offer too.
 */
export const ROUTER_CAPABILITIES: RouterCapabilities = {
  codecs: [
    {
      kind: 'audio',
      mimeType: 'audio/opus',
      clockRate: 48000,
      channels: 2,
      parameters: { minptime: 10, useinbandfec: 1 },
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'transport-cc', parameter: '' },
      ],
      preferredPayloadType: 100,
    },
    {
      kind: 'video',
      mimeType: 'video/VP8',
      clockRate: 90000,
      parameters: { 'x-google-start-bitrate': 800 },
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
        { type: 'goog-remb', parameter: '' },
        { type: 'transport-cc', parameter: '' },
      ],
      preferredPayloadType: 101,
    },
    { kind: 'video', mimeType: 'video/rtx', clockRate: 90000, parameters: { apt: 101 }, rtcpFeedback: [], preferredPayloadType: 102 },
  ],
  headerExtensions: [
    { kind: 'audio', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4, preferredEncrypt: false, direction: 'sendrecv' },
    { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4, preferredEncrypt: false, direction: 'sendrecv' },
    { kind: 'audio', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5, preferredEncrypt: false, direction: 'recvonly' },
    { kind: 'video', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5, preferredEncrypt: false, direction: 'sendrecv' },
    { kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', preferredId: 10, preferredEncrypt: false, direction: 'sendrecv' },
  ],
};

/** packages/xmpp README: never offer sdes:mid (Chrome drops consumer packets stamped with router MIDs). */
export const MID_MODE: MidMode = 'no-mid-extension';
