import {
  CONSUMERS_NS,
  Element,
  buildConferenceModified,
  buildConsumerReport,
  buildJingle,
  jsonSourcesToRtp,
  parseJingle,
  type Colibri2MediaSource,
  type RtpSource,
} from '@hummingbird/xmpp';
import { describe, expect, it } from 'vitest';
import { Colibri2Client, ColibriError, type IqSender } from '../src/colibri.js';
import { consumerView, diffReceiver, sourcesJingle, type ReceiverSource } from '../src/consumers.js';

const msid = (v: string): RtpSource['parameters'] => [{ name: 'msid', value: v }];

/** A consumer entry as apps/bridge reports it (Endpoint.consumerReport → consumerSources). */
function consumer(owner: string, name: string, ssrc: number, rtx?: number, videoType?: string): Colibri2MediaSource {
  const type = name.includes('-a') ? 'audio' : 'video';
  const src = (x: number): RtpSource => ({ ssrc: x, name, ...(videoType === undefined ? {} : { videoType }), parameters: msid(`${owner}-${type}-0-1 t-${name}`), owner });
  return rtx === undefined
    ? { type, id: name, sources: [src(ssrc)], ssrcGroups: [] }
    : { type, id: name, sources: [src(ssrc), src(rtx)], ssrcGroups: [{ semantics: 'FID', ssrcs: [ssrc, rtx] }] };
}

const everyone = (): boolean => true;

describe('consumer report → one receiver\'s sources (§8.1, §4.4–4.5)', () => {
  it('keeps well-formed consumers with owner, name, msid, videoType and the FID pair', () => {
    const view = consumerView('rcv', [consumer('snd', 'snd-a0', 11), consumer('snd', 'snd-v0', 21, 22, 'camera'), consumer('snd', 'snd-v1', 31, 32, 'desktop')], everyone);
    expect(view.rejected).toEqual([]);
    expect(view.accepted.map((s) => [s.media, s.owner, s.name, s.sources.map((x) => x.ssrc), s.ssrcGroups])).toEqual([
      ['audio', 'snd', 'snd-a0', [11], []],
      ['video', 'snd', 'snd-v0', [21, 22], [{ semantics: 'FID', ssrcs: [21, 22] }]],
      ['video', 'snd', 'snd-v1', [31, 32], [{ semantics: 'FID', ssrcs: [31, 32] }]],
    ]);
    const desktop = view.accepted[2]?.sources[1];
    expect(desktop).toEqual({ ssrc: 32, name: 'snd-v1', videoType: 'desktop', parameters: msid('snd-video-0-1 t-snd-v1'), owner: 'snd' });
  });

  it('leaves out hostile or inconsistent entries, each with a reason, and keeps the rest', () => {
    const good = consumer('snd', 'snd-v0', 21, 22);
    const entries: Colibri2MediaSource[] = [
      { ...consumer('snd', 'snd-a1', 1), synthetic: true },
      { type: 'audio', id: 'snd-a2', sources: [], ssrcGroups: [] },
      { ...consumer('snd', 'snd-v2', 3, 4), sources: [...consumer('snd', 'snd-v2', 3, 4).sources, { ssrc: 5, name: 'snd-v2', parameters: msid('s t'), owner: 'snd' }] },
      { type: 'audio', id: 'snd-a3', sources: [{ ssrc: 6, name: 'snd-a3', parameters: msid('s t') }], ssrcGroups: [] }, // no owner
      { type: 'video', id: 'snd-v3', sources: [{ ssrc: 7, parameters: msid('s t'), owner: 'snd' }, { ssrc: 8, parameters: msid('s t'), owner: 'other' }], ssrcGroups: [{ semantics: 'FID', ssrcs: [7, 8] }] },
      consumer('rcv', 'rcv-a0', 9), // the receiver's own source
      consumer('gone', 'gone-a0', 10), // owner not a participant
      consumer('snd', 'other-a0', 12), // name of someone else
      good,
      consumer('snd', 'snd-v0', 40, 41), // name again
      { ...consumer('snd', 'snd-a4', 13), sources: [{ ...(consumer('snd', 'snd-a4', 13).sources[0] as RtpSource), name: 'snd-a9' }] },
      { type: 'audio', id: 'snd-a5', sources: [{ ssrc: 14, name: 'snd-a5', parameters: [], owner: 'snd' }], ssrcGroups: [] }, // no msid
      { type: 'video', id: 'snd-v4', sources: [{ ssrc: 15, parameters: msid('a b'), owner: 'snd' }, { ssrc: 16, parameters: msid('c d'), owner: 'snd' }], ssrcGroups: [{ semantics: 'FID', ssrcs: [15, 16] }] },
      consumer('snd', 'snd-v5', 21, 50), // SSRC 21 already used
      { ...consumer('snd', 'snd-v6', 60, 61), ssrcGroups: [{ semantics: 'SIM', ssrcs: [60, 61] }] },
      { ...consumer('snd', 'snd-v7', 62, 63), ssrcGroups: [{ semantics: 'FID', ssrcs: [62, 99] }] },
      { ...consumer('snd', 'snd-v8', 64, 65), ssrcGroups: [] },
      { ...consumer('snd', 'snd-v9', 66, 67), ssrcGroups: [{ semantics: 'FID', ssrcs: [67, 66] }] },
      { ...consumer('snd', 'snd-v10', 68, 68) },
    ];
    const view = consumerView('rcv', entries, (id) => id !== 'gone');
    expect(view.accepted.map((s) => s.name)).toEqual(['snd-v0']);
    const groups = 'groups other than one FID (primary, rtx) over its own SSRCs';
    expect(view.rejected.map((r) => r.replace(/^\w+ source \S+: /, ''))).toEqual([
      'synthetic', 'no SSRC', '3 SSRCs (a consumer has one and its RTX)', 'no single owner', 'no single owner', 'owned by the receiver itself',
      'owner gone is not a participant', 'name does not belong to snd', 'name reported twice', 'a source carries another name',
      'no single msid', 'no single msid', 'an SSRC is reported twice', groups, groups, groups, groups, 'an SSRC is reported twice',
    ]);
  });

  it('a source-remove then source-add bring the client from what it was told to the new set', () => {
    const told = new Map<string, ReceiverSource>();
    for (const s of consumerView('rcv', [consumer('a', 'a-a0', 1), consumer('a', 'a-v0', 2, 3), consumer('b', 'b-a0', 4)], everyone).accepted) told.set(s.name, s);
    const next = consumerView('rcv', [consumer('a', 'a-a0', 1), consumer('a', 'a-v0', 7, 8), consumer('c', 'c-a0', 9)], everyone).accepted;
    const { removed, added } = diffReceiver(told, next);
    expect(removed.map((s) => s.name)).toEqual(['a-v0', 'b-a0']); // a-v0 got new SSRCs (a new consumer), b left
    expect(added.map((s) => s.name)).toEqual(['a-v0', 'c-a0']);
    expect(diffReceiver(new Map(next.map((s) => [s.name, s])), next)).toEqual({ removed: [], added: [] });
  });

  it('Jingle forms: JSON keyed by owner with desktop flag and FID only; XML with ssrc-info owner and msid', () => {
    const list = consumerView('rcv', [consumer('a', 'a-a0', 1), consumer('a', 'a-v1', 2, 3, 'desktop'), consumer('b', 'b-v0', 4, 5, 'camera')], everyone).accepted;
    const json = parseJingle(buildJingle(sourcesJingle('source-add', 'sid1', list, true)));
    expect(json.jsonSources?.owners.map((o) => [o.owner, o.audio.map((s) => s.ssrc), o.video.map((s) => [s.ssrc, s.desktop === true]), o.videoGroups])).toEqual([
      ['a', [1], [[2, true], [3, true]], [{ semantics: 'FID', ssrcs: [2, 3] }]],
      ['b', [], [[4, false], [5, false]], [{ semantics: 'FID', ssrcs: [4, 5] }]],
    ]);
    const rtp = jsonSourcesToRtp(json.jsonSources ?? { owners: [] });
    expect(rtp.video.sources.every((s) => s.parameters.some((p) => p.name === 'msid'))).toBe(true);
    const xml = parseJingle(buildJingle(sourcesJingle('source-remove', 'sid1', list, false)));
    expect(xml.action).toBe('source-remove');
    const video = xml.contents.find((c) => c.name === 'video')?.description;
    expect(video?.sources.map((s) => [s.ssrc, s.owner, s.name, s.videoType])).toEqual([[2, 'a', 'a-v1', 'desktop'], [3, 'a', 'a-v1', 'desktop'], [4, 'b', 'b-v0', 'camera'], [5, 'b', 'b-v0', 'camera']]);
    expect(video?.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [2, 3] }, { semantics: 'FID', ssrcs: [4, 5] }]);
  });
});

describe('COLIBRI2 client: consumer reports', () => {
  const FP = Array.from({ length: 32 }, () => 'AB').join(':');
  const transport = { ufrag: 'u', pwd: 'p'.repeat(22), fingerprints: [{ hash: 'sha-256', setup: 'actpass' as const, value: FP }], candidates: [], webSockets: [], rtcpMux: true };
  const feedback: Colibri2MediaSource[] = [
    { type: 'audio', id: 'jvb-a0', sources: [{ ssrc: 11, parameters: [] }], ssrcGroups: [] },
    { type: 'video', id: 'jvb-v0', sources: [{ ssrc: 22, parameters: [] }], ssrcGroups: [] },
  ];
  const sender = (answer: () => Element): IqSender => ({
    request() {
      const iq = new Element('iq', { type: 'result' });
      iq.cnode(answer());
      return Promise.resolve(iq);
    },
  });
  const request = { meetingId: 'm', roomJid: 'r@conference.meet.test', createConference: false, endpointId: 'rcv', media: [], ssrcRewriting: false };

  it('hands the report on with arrival numbers; an answer without one (JVB) has none', async () => {
    let withReport = true;
    const client = new Colibri2Client(
      sender(() => {
        const m = buildConferenceModified({ endpoints: [{ id: 'rcv', transport: { iceUdp: transport } }], relays: [], sources: feedback });
        if (withReport) m.cnode(buildConsumerReport([{ endpointId: 'rcv', sources: [consumer('a', 'a-a0', 5)] }]));
        return m;
      }),
      { from: 'focus@focus.meet.test/focus' },
    );
    const first = await client.allocate('b', request);
    expect(first.consumers?.receivers).toEqual([{ endpointId: 'rcv', sources: [consumer('a', 'a-a0', 5)] }]);
    const second = await client.update('b', 'm', 'rcv', {});
    expect(second?.seq).toBeGreaterThan(first.consumers?.seq ?? Infinity);
    withReport = false;
    expect(await client.expireEndpoint('b', 'm', 'rcv')).toBeUndefined();
    expect((await client.allocate('b', request)).consumers).toBeUndefined();
  });

  it('a malformed report is a bridge failure (its receivers could not be told their sources)', async () => {
    const client = new Colibri2Client(
      sender(() => {
        const m = buildConferenceModified({ endpoints: [{ id: 'rcv' }], relays: [] });
        const c = new Element('consumers', { xmlns: CONSUMERS_NS });
        c.cnode(new Element('endpoint', { id: 'rcv' })).cnode(new Element('media-source', { type: 'smell', id: 'x' }));
        m.cnode(c);
        return m;
      }),
      { from: 'focus@focus.meet.test/focus' },
    );
    const error = await client.update('b', 'm', 'rcv', {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ColibriError);
    expect(error).toMatchObject({ action: 'bridge-failed' });
    expect(String((error as Error).message)).toMatch(/malformed consumer report/);
  });
});
