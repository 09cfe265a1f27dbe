// The ActiveSpeakerObserver gets only audio producers signalled with ssrc-audio-level (without it the
// observer has nothing to rank them by, and would still look at each of their packets). Real worker, no XMPP.
import { offerDescription, type Colibri2Media } from '@hummingbird/xmpp';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conference } from '../src/conference.js';
import { MID_MODE } from '../src/endpoint.js';
import { ROUTER_MEDIA_CODECS } from '../src/media/codecs.js';
import { WorkerPool } from '../src/media/worker-pool.js';

const logger = { warn: () => undefined, debug: () => undefined };
const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

describe('speaker detection', () => {
  let pool: WorkerPool;
  let conf: Conference;

  beforeAll(async () => {
    pool = await WorkerPool.start({ workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, enableTcp: false, logLevel: 'warn' });
    const mw = pool.workers[0] as (typeof pool.workers)[number];
    const router = await mw.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    conf = new Conference('m', undefined, router, mw, logger);
    await conf.startSpeakerDetection();
  }, 30_000);

  afterAll(() => {
    conf?.close();
    pool?.close();
  });

  async function audioProducer(id: string, withLevel: boolean): Promise<types.Producer> {
    const d = offerDescription(conf.router.rtpCapabilities, 'audio', { midMode: MID_MODE });
    expect(d.headerExtensions.some((h) => h.uri === AUDIO_LEVEL)).toBe(true);
    const media: Colibri2Media = {
      type: 'audio', payloadTypes: d.payloadTypes, extmapAllowMixed: true,
      headerExtensions: d.headerExtensions.filter((h) => withLevel || h.uri !== AUDIO_LEVEL),
    };
    const transport = await conf.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
    const ep = await conf.createEndpoint(id, undefined, false, transport);
    ep.addMedia([media]);
    const src = await ep.produce({ type: 'audio', id: `${id}-a0`, sources: [{ ssrc: 1000 + conf.endpoints.size, name: `${id}-a0`, parameters: [] }], ssrcGroups: [] });
    if (src === undefined) throw new Error('no producer');
    await conf.observeAudio(src.producer);
    return src.producer;
  }

  it('observes audio producers with ssrc-audio-level and skips those without', async () => {
    const withLevel = await audioProducer('a', true);
    const without = await audioProducer('b', false);
    const dump = await conf.router.dump();
    // The router lists every producer; the observed ones have the observer's id in `values`.
    const observed = new Set(dump.mapProducerIdObserverIds.filter((e) => e.values.length > 0).map((e) => e.key));
    expect(observed.has(withLevel.id)).toBe(true);
    expect(observed.has(without.id)).toBe(false);
  });
});
