// The receiver allocation (our own logic, so fakes stand in for mediasoup objects here): last-N over the
// priority order on-stage → selected → speakers → creation order, then per-source and default maxHeight
// (jicofo-jvb.md §4.4–4.5, jitsi-client-protocol.md §8.5). The real consumers are exercised in
// constraints.test.ts.
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { Endpoint, type EndpointConsumer } from '../src/endpoint.js';

const fakeTransport = { dtlsState: 'new', close: () => undefined } as unknown as types.WebRtcTransport;

function receiver(videos: string[], audios: string[] = []): Endpoint {
  const ep = new Endpoint('rx', undefined, false, fakeTransport);
  let n = 0;
  for (const [kind, list] of [['video', videos], ['audio', audios]] as const) {
    for (const sender of list) {
      const consumer = { closed: false, kind } as unknown as types.Consumer;
      const c: EndpointConsumer = { consumer, senderId: sender, sourceName: `${sender}-${kind === 'video' ? 'v' : 'a'}0`, kind, msid: 'm' };
      ep.consumers.set(`p${n++}`, c);
    }
  }
  return ep;
}

const heights = (ep: Endpoint): Record<string, number> =>
  Object.fromEntries([...ep.allocation()].map(([c, h]) => [c.senderId, h]));

describe('receiver allocation', () => {
  it('forwards every video source unlimited before any constraints, audio is never allocated', () => {
    const ep = receiver(['a', 'b', 'c'], ['a']);
    expect(heights(ep)).toEqual({ a: -1, b: -1, c: -1 });
    expect(ep.allocation().size).toBe(3);
  });

  it('applies last-N in priority order: on-stage, selected, speakers, then creation order', () => {
    const ep = receiver(['a', 'b', 'c', 'd']);
    ep.lastN = 2;
    expect(heights(ep)).toEqual({ a: -1, b: -1, c: 0, d: 0 });
    ep.speakerOrder = () => ['d', 'c'];
    expect(heights(ep)).toEqual({ a: 0, b: 0, c: -1, d: -1 });
    ep.constraints.selected = ['b-v0'];
    expect(heights(ep)).toEqual({ a: 0, b: -1, c: 0, d: -1 });
    ep.constraints.onStage = ['a-v0'];
    expect(heights(ep)).toEqual({ a: -1, b: -1, c: 0, d: 0 });
    ep.lastN = 0;
    expect(heights(ep)).toEqual({ a: 0, b: 0, c: 0, d: 0 });
  });

  it('uses the per-source maxHeight, else the default once constraints were received', () => {
    const ep = receiver(['a', 'b']);
    ep.constraints.perSource.set('a-v0', 360);
    expect(heights(ep)).toEqual({ a: 360, b: -1 });
    ep.constraints.received = true;
    ep.constraints.defaultMaxHeight = 180;
    expect(heights(ep)).toEqual({ a: 360, b: 180 });
    ep.constraints.perSource.set('b-v0', 0);
    expect(heights(ep)).toEqual({ a: 360, b: 0 });
  });

  it('skips closed consumers', () => {
    const ep = receiver(['a', 'b']);
    const first = [...ep.consumers.values()][0] as EndpointConsumer;
    (first.consumer as unknown as { closed: boolean }).closed = true;
    expect(heights(ep)).toEqual({ b: -1 });
  });
});
