// Two things older lib-jitsi-meet clients need from the receiver allocation (fakes stand in for mediasoup objects).
// activeLayerFor (src/endpoint.ts): the preferred spatial layer moves up to the lowest active layer when nothing at
// or below the wanted one is active (mediasoup never forwards above the preferred layer under transport-cc). The
// end-to-end case, a 2021 lib-jitsi-meet screen share, is packages/e2e/test/legacy.test.ts.
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { activeLayerFor, Endpoint, type EndpointConsumer } from '../src/endpoint.js';

describe('activeLayerFor', () => {
  it('keeps the wanted layer when it or a lower one is active', () => {
    expect(activeLayerFor(0, [10, 10, 10])).toBe(0);
    expect(activeLayerFor(2, [10, 0, 0])).toBe(2);
    expect(activeLayerFor(1, [0, 7, 0])).toBe(1);
    expect(activeLayerFor(2, [10, 0, 10])).toBe(2);
  });

  it('moves up to the lowest active layer when nothing at or below the wanted one is active', () => {
    // ljm ~2021 screen share: encoding 1 only, at full size; the receiver asked for a 180p thumbnail.
    expect(activeLayerFor(0, [0, 9, 0])).toBe(1);
    expect(activeLayerFor(0, [0, 0, 8])).toBe(2);
    expect(activeLayerFor(1, [0, 0, 8])).toBe(2);
    expect(activeLayerFor(0, [0, 5, 5])).toBe(1);
  });

  it('keeps the wanted layer when nothing is active or nothing is known yet', () => {
    expect(activeLayerFor(0, [0, 0, 0])).toBe(0);
    expect(activeLayerFor(1, [])).toBe(1);
  });
});

describe('endpoint-keyed receiver constraints (lib-jitsi-meet of ~2021, jitsi-client-protocol.md §10 item 5)', () => {
  const fakeTransport = { dtlsState: 'new', close: () => undefined } as unknown as types.WebRtcTransport;
  const receiver = (senders: string[]): Endpoint => {
    const ep = new Endpoint('rx', undefined, false, fakeTransport);
    senders.forEach((s, i) => {
      const consumer = { closed: false, kind: 'video' } as unknown as types.Consumer;
      const c: EndpointConsumer = { consumer, senderId: s, sourceName: `${s}-v0`, kind: 'video', msid: 'm' };
      ep.consumers.set(`p${String(i)}`, c);
    });
    return ep;
  };
  const heights = (ep: Endpoint): Record<string, number> => Object.fromEntries([...ep.allocation()].map(([c, h]) => [c.senderId, h]));

  it('applies a maxHeight keyed by endpoint id to that endpoint’s video, a source-name key still wins', () => {
    const ep = receiver(['a', 'b', 'c']);
    ep.constraints.received = true;
    ep.constraints.defaultMaxHeight = 180;
    ep.constraints.perSource.set('a', 2160);
    expect(heights(ep)).toEqual({ a: 2160, b: 180, c: 180 });
    ep.constraints.perSource.set('a-v0', 360);
    expect(heights(ep)).toEqual({ a: 360, b: 180, c: 180 });
  });

  it('ranks onStageEndpoints / selectedEndpoints like their sources under last-N', () => {
    const ep = receiver(['a', 'b', 'c']);
    ep.lastN = 1;
    expect(heights(ep)).toEqual({ a: -1, b: 0, c: 0 });
    ep.constraints.selected = ['c'];
    expect(heights(ep)).toEqual({ a: 0, b: 0, c: -1 });
    ep.constraints.onStage = ['b'];
    expect(heights(ep)).toEqual({ a: 0, b: -1, c: 0 });
  });
});
