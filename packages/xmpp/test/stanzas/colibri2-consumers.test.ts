// Hummingbird's COLIBRI2 additions used by apps/bridge and apps/focus: per-receiver consumer reports, the
// router's media on endpoint create, and the conference-failed event. Round trips plus hostile input.
import { describe, expect, it } from 'vitest';
import { MalformedStanzaError } from '../../src/errors.ts';
import { buildConferenceModified, parseConferenceModified, type Colibri2Media } from '../../src/stanzas/colibri2.ts';
import {
  BRIDGE_EVENTS_NS, buildConferenceFailed, buildConsumerReport, consumerReportOf, CONSUMERS_NS, parseConferenceFailed,
  parseConsumerReport, type ReceiverConsumers,
} from '../../src/stanzas/colibri2-consumers.ts';
import { parseXmlString } from '../../src/xml.ts';

const report: ReceiverConsumers[] = [
  {
    endpointId: 'aaaa1111',
    sources: [
      {
        type: 'video', id: 'bbbb2222-v0',
        sources: [
          { ssrc: 1001, name: 'bbbb2222-v0', parameters: [{ name: 'msid', value: 'bbbb2222-video-1 track-1' }], owner: 'bbbb2222' },
          { ssrc: 1002, name: 'bbbb2222-v0', parameters: [{ name: 'msid', value: 'bbbb2222-video-1 track-1' }], owner: 'bbbb2222' },
        ],
        ssrcGroups: [{ semantics: 'FID', ssrcs: [1001, 1002] }],
      },
      { type: 'audio', id: 'bbbb2222-a0', sources: [{ ssrc: 2001, name: 'bbbb2222-a0', parameters: [], owner: 'bbbb2222' }], ssrcGroups: [] },
    ],
  },
  { endpointId: 'cccc3333', sources: [] },
];

describe('consumer report', () => {
  it('round-trips through XML text', () => {
    const text = buildConsumerReport(report).toString();
    expect(parseConsumerReport(parseXmlString(text))).toEqual(report);
  });

  it('rides inside conference-modified and is found there', () => {
    const cm = buildConferenceModified({ endpoints: [{ id: 'aaaa1111' }], relays: [] });
    cm.cnode(buildConsumerReport(report));
    const back = parseXmlString(cm.toString());
    expect(consumerReportOf(back)).toEqual(report);
    // The standard model still parses the element (a Jicofo-style reader ignores the extension).
    expect(parseConferenceModified(back).endpoints).toEqual([{ id: 'aaaa1111' }]);
    expect(consumerReportOf(buildConferenceModified({ endpoints: [], relays: [] }))).toBeUndefined();
  });

  it('refuses hostile input with MalformedStanzaError', () => {
    const bad = [
      `<consumers xmlns="wrong"/>`,
      `<consumers xmlns="${CONSUMERS_NS}"><endpoint/></consumers>`,
      `<consumers xmlns="${CONSUMERS_NS}"><endpoint id="a"/><endpoint id="a"/></consumers>`,
      `<consumers xmlns="${CONSUMERS_NS}"><endpoint id="a"><media-source type="data" id="x"/></endpoint></consumers>`,
      `<consumers xmlns="${CONSUMERS_NS}"><endpoint id="a"><media-source type="audio" id="x"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="99999999999"/></media-source></endpoint></consumers>`,
    ];
    for (const x of bad) expect(() => parseConsumerReport(parseXmlString(x)), x).toThrow(MalformedStanzaError);
  });
});

describe('router media in an endpoint result', () => {
  const media: Colibri2Media[] = [
    {
      type: 'audio',
      payloadTypes: [{ id: 100, name: 'opus', clockrate: 48000, channels: 2, parameters: [{ name: 'useinbandfec', value: '1' }], rtcpFbs: [{ type: 'transport-cc' }] }],
      headerExtensions: [{ id: 10, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }],
      extmapAllowMixed: true,
    },
  ];
  it('round-trips and is absent when not set', () => {
    const el = buildConferenceModified({ endpoints: [{ id: 'e1', media }, { id: 'e2' }], relays: [] });
    const back = parseConferenceModified(parseXmlString(el.toString()));
    expect(back.endpoints[0]?.media).toEqual(media);
    expect(back.endpoints[1]).toEqual({ id: 'e2' });
  });
});

describe('conference-failed event', () => {
  it('round-trips and refuses unknown reasons', () => {
    const v = { meetingId: 'm-1', reason: 'worker-died' } as const;
    expect(parseConferenceFailed(parseXmlString(buildConferenceFailed(v).toString()))).toEqual(v);
    expect(() => parseConferenceFailed(parseXmlString(`<conference-failed xmlns="${BRIDGE_EVENTS_NS}" meeting-id="m" reason="boom"/>`))).toThrow(MalformedStanzaError);
    expect(() => parseConferenceFailed(parseXmlString(`<conference-failed xmlns="${BRIDGE_EVENTS_NS}" reason="worker-died"/>`))).toThrow(MalformedStanzaError);
  });
});
