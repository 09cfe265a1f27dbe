// COLIBRI2 (`spec/jicofo-jvb.md` §3) and brewery stats (§2.5) on hand-written samples (test/data/colibri2:
// the lib-jitsi-meet traces have none). Every sample round-trips; values are checked where the focus or the
// bridge acts on them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MalformedStanzaError, StanzaError } from '../../src/errors.ts';
import { NS } from '../../src/namespaces.ts';
import {
  buildColibri2Error, buildConferenceModified, buildConferenceModify, colibri2ReasonOf, colibri2StanzaError,
  COLIBRI2_ERROR_REASONS, conferenceModifyShapeError, parseColibri2Error, parseConferenceModified, parseConferenceModify,
  type ConferenceModify,
} from '../../src/stanzas/colibri2.ts';
import { buildBridgeStats, parseBridgeStats } from '../../src/stanzas/brewery.ts';
import { parseXmlString, type Element } from '../../src/xml.ts';
import { canonical } from './support/canonical.ts';

const DIR = join(import.meta.dirname, '../data/colibri2');
const load = (f: string): Element => parseXmlString(readFileSync(join(DIR, f), 'utf8'));
const payload = (f: string): Element => {
  const c = load(f).getChildElements()[0];
  if (c === undefined) throw new Error(`${f}: empty iq`);
  return c;
};
const files = readdirSync(DIR).filter((f) => f.endsWith('.xml')).sort();

describe('COLIBRI2 samples round-trip', () => {
  const modify = files.filter((f) => f.startsWith('modify-'));
  const modified = files.filter((f) => f.startsWith('modified-'));
  const errors = files.filter((f) => f.startsWith('error-'));

  it('has samples of every kind (8 modify, 3 modified, 7 errors)', () => {
    expect([modify.length, modified.length, errors.length]).toEqual([8, 3, 7]);
  });

  for (const f of modify) {
    it(`conference-modify ${f}`, () => {
      const el = payload(f);
      const v = parseConferenceModify(el);
      expect(canonical(buildConferenceModify(v))).toEqual(canonical(el));
      expect(parseConferenceModify(buildConferenceModify(v))).toEqual(v);
    });
  }
  for (const f of modified) {
    it(`conference-modified ${f}`, () => {
      const el = payload(f);
      const v = parseConferenceModified(el);
      expect(canonical(buildConferenceModified(v))).toEqual(canonical(el));
      expect(parseConferenceModified(buildConferenceModified(v))).toEqual(v);
    });
  }
  for (const f of errors) {
    it(`error ${f}`, () => {
      const el = payload(f);
      const v = parseColibri2Error(el);
      expect(canonical(buildColibri2Error(v))).toEqual(canonical(el));
    });
  }
});

describe('COLIBRI2 values', () => {
  it('reads the create request: conference flags, endpoint, media, transport, empty sources, capabilities', () => {
    const m = parseConferenceModify(payload('modify-create.iq.xml'));
    expect(m).toMatchObject({ meetingId: '6f1e3b0c-2a44-4f51-9d39-0c8a2b7e5d10', name: 'room1@muc.meet.example', create: true, rtcstatsEnabled: false });
    const ep = m.endpoints[0];
    expect(ep).toMatchObject({ id: 'a1b2c3d4', create: true, statsId: 'Alice-x1', mucRole: 'participant', sources: [], capabilities: ['source-names', 'ssrc-rewriting'] });
    expect(ep?.transport).toEqual({ iceControlling: true, sctp: {} });
    expect(ep?.media.map((x) => x.type)).toEqual(['audio', 'video']);
    expect(ep?.media[0]?.payloadTypes[1]?.parameters).toEqual([{ value: '111/111' }]);
    expect(conferenceModifyShapeError(m)).toBeUndefined();
  });

  it('reads the update after session-accept: client ICE transport, SIM/FID groups in order, initial last-n', () => {
    const ep = parseConferenceModify(payload('modify-after-accept.iq.xml')).endpoints[0];
    expect(ep?.transport?.iceUdp?.fingerprints[0]).toMatchObject({ hash: 'sha-256', setup: 'active' });
    const video = ep?.sources?.find((s) => s.type === 'video');
    expect(video?.ssrcGroups.map((g) => [g.semantics, ...g.ssrcs])).toEqual([
      ['SIM', 2001, 2002, 2003], ['FID', 2001, 2101], ['FID', 2002, 2102], ['FID', 2003, 2103],
    ]);
    expect(ep?.initialLastN).toBe(20);
  });

  it('distinguishes "no <sources>" from "empty <sources/>" (an empty set clears the endpoint, §3.2)', () => {
    expect(parseConferenceModify(payload('modify-expire-endpoint.iq.xml')).endpoints[0]?.sources).toBeUndefined();
    expect(parseConferenceModify(payload('modify-create.iq.xml')).endpoints[0]?.sources).toEqual([]);
  });

  it('reads the bridge answer: ICE, fingerprint, colibri-ws URL, candidates, SCTP, feedback sources', () => {
    const r = parseConferenceModified(payload('modified-create.iq.xml'));
    const t = r.endpoints[0]?.transport;
    expect(t?.iceUdp?.webSockets).toEqual(['wss://bridge1.meet.example:443/colibri-ws/jvb-1/4c1d2e3f/a1b2c3d4?pwd=Hk3nR8wQ2vYb5zT1mC0xLp9s']);
    expect(t?.iceUdp?.candidates.map((c) => [c.type, c.ip, c.port, c.relAddr])).toEqual([['host', '10.0.0.5', 10000, undefined], ['srflx', '203.0.113.7', 10000, '10.0.0.5']]);
    expect(t?.sctp).toEqual({ port: 5000, role: 'server' });
    expect(r.sources?.map((s) => [s.id, s.sources[0]?.ssrc])).toEqual([['jvb-a0', 411312308], ['jvb-v0', 3929652146]]);
  });

  it('applies the bridge request-shape limits (§3.2 validateRequest)', () => {
    const base = parseConferenceModify(payload('modify-create.iq.xml'));
    const ep = base.endpoints[0];
    if (ep === undefined) throw new Error('no endpoint');
    const two: ConferenceModify = { ...base, endpoints: [ep, { ...ep, id: 'other' }] };
    expect(conferenceModifyShapeError(two)).toMatch(/at most one endpoint/);
    const mixed: ConferenceModify = { ...base, relays: [{ id: 'r', media: [] }] };
    expect(conferenceModifyShapeError(mixed)).toMatch(/both endpoints and relays/);
    expect(conferenceModifyShapeError(parseConferenceModify(payload('modify-force-mute.iq.xml')))).toBeUndefined();
  });

  it('rejects a conference name that is not a bare JID and a request without meeting-id', () => {
    const el = payload('modify-create.iq.xml');
    el.attrs.name = 'room1@muc.meet.example/res';
    expect(() => parseConferenceModify(el)).toThrow(MalformedStanzaError);
    el.attrs.name = 'a@@b';
    expect(() => parseConferenceModify(el)).toThrow(MalformedStanzaError);
    delete el.attrs.name;
    delete el.attrs['meeting-id'];
    expect(() => parseConferenceModify(el)).toThrow(/meeting-id/);
  });
});

describe('COLIBRI2 errors (§3.5)', () => {
  it('maps every reason to the table condition and reads it back from the StanzaError', () => {
    const expected = {
      conference_already_exists: 'conflict', graceful_shutdown: 'service-unavailable', conference_not_found: 'item-not-found',
      unknown_endpoint: 'item-not-found', feature_not_implemented: 'feature-not-implemented', unspecified: 'internal-server-error',
    } as const;
    for (const reason of COLIBRI2_ERROR_REASONS) {
      const err = colibri2StanzaError(reason, 'x');
      expect(err).toBeInstanceOf(StanzaError);
      expect(err.condition).toBe(expected[reason]);
      expect(colibri2ReasonOf(err)).toBe(reason);
    }
    expect(colibri2ReasonOf(new StanzaError('bad-request', 'modify'))).toBeUndefined();
  });

  it('reads unknown_endpoint with the endpoint to re-invite, and a plain bad-request without reason', () => {
    expect(parseColibri2Error(payload('error-unknown_endpoint.iq.xml'))).toEqual({
      type: 'cancel', condition: 'item-not-found', text: 'unknown endpoint', reason: 'unknown_endpoint', endpointId: 'a1b2c3d4',
    });
    expect(parseColibri2Error(payload('error-bad-request.iq.xml'))).toEqual({ type: 'modify', condition: 'bad-request', text: 'endpoint create without transport' });
  });

  it('reads the reason as Jitsi does: case-insensitive, absent means unspecified', () => {
    const e = (app: string) => parseXmlString(`<error type="cancel"><item-not-found xmlns="${NS.STANZAS}"/>${app}</error>`);
    expect(parseColibri2Error(e('<error xmlns="jitsi:colibri2" reason="CONFERENCE_not_FOUND"/>')).reason).toBe('conference_not_found');
    expect(parseColibri2Error(e('<error xmlns="jitsi:colibri2"/>')).reason).toBe('unspecified');
    expect(parseColibri2Error(e('')).reason).toBeUndefined();
  });

  it('rejects an error without a defined condition or with an unknown reason', () => {
    expect(() => parseColibri2Error(parseXmlString(`<error type="cancel"><text xmlns="${NS.STANZAS}">x</text></error>`))).toThrow(MalformedStanzaError);
    expect(() => parseColibri2Error(parseXmlString(`<error type="cancel"><conflict xmlns="${NS.STANZAS}"/><error xmlns="jitsi:colibri2" reason="bogus"/></error>`))).toThrow(MalformedStanzaError);
  });
});

describe('brewery stats (§2.5)', () => {
  const stats = (): Element => {
    const s = load('brewery-presence.xml').getChild('stats', NS.COLIBRI);
    if (s === undefined) throw new Error('no stats');
    return s;
  };

  it('types the fields the focus acts on and keeps the rest', () => {
    const v = parseBridgeStats(stats());
    expect(v).toMatchObject({
      stressLevel: 0.12, averageParticipantStress: 0.01, region: 'eu-west-1', relayId: 'jvb-1234', version: '2.3.100', release: '123',
      gracefulShutdown: false, shuttingDown: false, drain: false, healthy: true,
    });
    expect(v.other.map((o) => o.name)).toEqual(['colibri2', 'current_timestamp', 'conferences']);
  });

  it('round-trips', () => {
    const v = parseBridgeStats(stats());
    expect(canonical(buildBridgeStats(v))).toEqual(canonical(stats()));
    expect(parseBridgeStats(buildBridgeStats(v))).toEqual(v);
  });

  it('rejects a non-numeric stress level and a non-boolean drain flag', () => {
    const a = stats();
    (a.getChildByAttr('name', 'stress_level') as Element).attrs.value = 'high';
    expect(() => parseBridgeStats(a)).toThrow(/stress_level|stat\[0\]/);
    const b = stats();
    (b.getChildByAttr('name', 'drain') as Element).attrs.value = 'maybe';
    expect(() => parseBridgeStats(b)).toThrow(MalformedStanzaError);
  });
});
