// activeLayerFor (src/endpoint.ts): the preferred spatial layer moves up to the lowest active layer when nothing at
// or below the wanted one is active (mediasoup never forwards above the preferred layer under transport-cc). The
// end-to-end case, a 2021 lib-jitsi-meet screen share, is packages/e2e/test/legacy.test.ts.
import { describe, expect, it } from 'vitest';
import { activeLayerFor } from '../src/endpoint.js';

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
