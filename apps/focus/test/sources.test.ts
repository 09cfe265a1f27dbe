import { StanzaError, type RtpSource } from '@hummingbird/xmpp';
import { describe, expect, it } from 'vitest';
import { EMPTY_SOURCES, addSources, colibriSources, receiverView, removeSources, type SourceSet } from '../src/sources.js';

const src = (ssrc: number, name: string): RtpSource => ({ ssrc, name, parameters: [{ name: 'msid', value: `${name} t` }] });

/** The §4.3 session-accept shape: audio + 3 simulcast layers, each with an RTX through FID. */
const simulcast: SourceSet = {
  audio: { sources: [src(1, 'ep-a0')], ssrcGroups: [] },
  video: {
    sources: [10, 11, 12, 20, 21, 22].map((s) => src(s, 'ep-v0')),
    ssrcGroups: [
      { semantics: 'FID', ssrcs: [10, 20] },
      { semantics: 'SIM', ssrcs: [10, 11, 12] },
      { semantics: 'FID', ssrcs: [11, 21] },
      { semantics: 'FID', ssrcs: [12, 22] },
    ],
  },
};

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof StanzaError && error.condition === 'bad-request') return error.text ?? '';
    throw error;
  }
  throw new Error('expected bad-request');
}

describe('source bookkeeping', () => {
  it('receivers get the first SIM layer and its RTX only, never a SIM group (§4.3); the bridge gets everything', () => {
    const mine = addSources(EMPTY_SOURCES, simulcast, 'ep', new Set());
    const view = receiverView(mine);
    expect(view.video.sources.map((s) => s.ssrc)).toEqual([10, 20]);
    expect(view.video.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [10, 20] }]);
    expect(view.video.sources.every((s) => s.owner === 'ep')).toBe(true);
    const bridge = colibriSources(mine);
    expect(bridge.map((m) => [m.type, m.id, m.sources.length, m.ssrcGroups.length])).toEqual([['audio', 'ep-a0', 1, 0], ['video', 'ep-v0', 6, 4]]);
    expect(bridge[1]?.sources[0]?.owner).toBeUndefined();
  });

  it('refuses duplicates, foreign SSRCs, other owners\' names, dangling groups and too many SSRCs — and changes nothing', () => {
    const mine = addSources(EMPTY_SOURCES, simulcast, 'ep', new Set());
    const one = (s: RtpSource, groups: SourceSet['audio']['ssrcGroups'] = []): SourceSet => ({ audio: { sources: [s], ssrcGroups: groups }, video: { sources: [], ssrcGroups: [] } });
    expect(badRequest(() => addSources(mine, one(src(1, 'ep-a1')), 'ep', new Set()))).toMatch(/already signalled/);
    expect(badRequest(() => addSources(mine, one(src(5, 'ep-a1')), 'ep', new Set([5])))).toMatch(/another participant/);
    expect(badRequest(() => addSources(mine, one(src(6, 'other-a0')), 'ep', new Set()))).toMatch(/does not belong/);
    expect(badRequest(() => addSources(mine, one(src(7, 'ep-a1'), [{ semantics: 'FID', ssrcs: [7, 99] }]), 'ep', new Set()))).toMatch(/unknown ssrcs/);
    const many: SourceSet = { audio: { sources: Array.from({ length: 14 }, (_, i) => src(100 + i, 'ep-a2')), ssrcGroups: [] }, video: { sources: [], ssrcGroups: [] } };
    expect(badRequest(() => addSources(mine, many, 'ep', new Set()))).toMatch(/more than 20 ssrcs/);
    expect(mine.audio.sources).toHaveLength(1);
  });

  it('§10.1: names for an older client\'s nameless sources, one per track, stable across source-adds', () => {
    const bare = (ssrc: number, msid?: string): RtpSource => ({ ssrc, parameters: msid === undefined ? [] : [{ name: 'msid', value: msid }] });
    const legacy: SourceSet = {
      audio: { sources: [bare(1, 'st a1')], ssrcGroups: [] },
      video: { sources: [bare(20), bare(10, 'st v1'), bare(11, 'st v1'), bare(21)], ssrcGroups: [{ semantics: 'SIM', ssrcs: [10, 11] }, { semantics: 'FID', ssrcs: [10, 20] }, { semantics: 'FID', ssrcs: [11, 21] }] },
    };
    const mine = addSources(EMPTY_SOURCES, legacy, 'ep', new Set());
    expect(mine.audio.sources.map((x) => x.name)).toEqual(['ep-a0']);
    expect(mine.video.sources.map((x) => x.name)).toEqual(['ep-v0', 'ep-v0', 'ep-v0', 'ep-v0']);
    // a screen share added later gets the next name; the camera keeps its own
    const share: SourceSet = { audio: { sources: [], ssrcGroups: [] }, video: { sources: [bare(30, 'st2 desk')], ssrcGroups: [] } };
    const more = addSources(mine, share, 'ep', new Set());
    expect(mine.video.sources.map((x) => x.ssrc)).toEqual([20, 10, 11, 21]); // order kept
    expect(more.video.sources.map((x) => x.name)).toEqual(['ep-v0', 'ep-v0', 'ep-v0', 'ep-v0', 'ep-v1']);
    expect(colibriSources(more).map((x) => x.id)).toEqual(['ep-a0', 'ep-v0', 'ep-v1']);
  });

  it('source-remove drops the SSRCs and every group touching them, and reports what went', () => {
    const mine = addSources(EMPTY_SOURCES, simulcast, 'ep', new Set());
    const { next, gone } = removeSources(mine, { audio: { sources: [], ssrcGroups: [] }, video: { sources: [src(11, 'ep-v0'), src(21, 'ep-v0')], ssrcGroups: [] } });
    expect(next.video.sources.map((s) => s.ssrc)).toEqual([10, 12, 20, 22]);
    expect(next.video.ssrcGroups.map((g) => g.semantics)).toEqual(['FID', 'FID']);
    expect(gone.video.sources.map((s) => s.ssrc)).toEqual([11, 21]);
  });
});
