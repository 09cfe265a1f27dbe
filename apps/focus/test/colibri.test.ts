import {
  Element,
  IqTimeoutError,
  StanzaError,
  buildConferenceModified,
  colibri2StanzaError,
  parseConferenceModify,
  type ConferenceModified,
} from '@hummingbird/xmpp';
import { describe, expect, it } from 'vitest';
import { Colibri2Client, ColibriError, classify, type IqSender } from '../src/colibri.js';

const FP = Array.from({ length: 32 }, () => 'AB').join(':');
const transport = { ufrag: 'u', pwd: 'p'.repeat(22), fingerprints: [{ hash: 'sha-256', setup: 'actpass' as const, value: FP }], candidates: [], webSockets: ['wss://b/colibri-ws/x/y/ep?pwd=z'], rtcpMux: true };
const feedback: ConferenceModified['sources'] = [
  { type: 'audio', id: 'jvb-a0', sources: [{ ssrc: 11, parameters: [] }], ssrcGroups: [] },
  { type: 'video', id: 'jvb-v0', sources: [{ ssrc: 22, parameters: [] }], ssrcGroups: [] },
];

/** An IqSender answering with `answer(request)`; records what was sent. */
function sender(answer: (payload: Element) => Element | Error): IqSender & { sent: { type: string; to: string; payload: Element; from?: string }[] } {
  const sent: { type: string; to: string; payload: Element; from?: string }[] = [];
  return {
    sent,
    request(type, to, payload, options) {
      sent.push({ type, to, payload, ...(options?.from === undefined ? {} : { from: options.from }) });
      const a = answer(payload);
      if (a instanceof Error) return Promise.reject(a);
      const iq = new Element('iq', { type: 'result' });
      iq.cnode(a);
      return Promise.resolve(iq);
    },
  };
}

const request = { meetingId: 'm-1', roomJid: 'r@conference.meet.test', createConference: true, endpointId: 'abcd1234', media: [], ssrcRewriting: false };

async function failure(p: Promise<unknown>): Promise<ColibriError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof ColibriError) return error;
    throw error;
  }
  throw new Error('expected a ColibriError');
}

describe('COLIBRI2 client (jicofo-jvb §3)', () => {
  it('allocate: conference create + endpoint create with source-names, as a set IQ from the focus JID', async () => {
    const s = sender(() => buildConferenceModified({ endpoints: [{ id: 'abcd1234', transport: { iceUdp: transport } }], relays: [], sources: feedback }));
    const client = new Colibri2Client(s, { from: 'focus@focus.meet.test/focus' });
    const allocation = await client.allocate('brewery@internal/jvb', request);
    expect(allocation.feedbackSsrcs).toEqual({ audio: 11, video: 22 });
    expect(allocation.transport.ufrag).toBe('u');
    const sent = s.sent[0];
    expect(sent).toMatchObject({ type: 'set', to: 'brewery@internal/jvb', from: 'focus@focus.meet.test/focus' });
    const modify = parseConferenceModify(sent?.payload as Element);
    expect(modify).toMatchObject({ meetingId: 'm-1', create: true, name: 'r@conference.meet.test' });
    expect(modify.endpoints[0]).toMatchObject({ id: 'abcd1234', create: true, capabilities: ['source-names'], transport: { iceControlling: true } });
    // later allocations do not create the conference
    await client.allocate('brewery@internal/jvb', { ...request, createConference: false, ssrcRewriting: true });
    const second = parseConferenceModify(s.sent[1]?.payload as Element);
    expect(second.create).toBeUndefined();
    expect(second.endpoints[0]?.capabilities).toEqual(['source-names', 'ssrc-rewriting']);
  });

  it('a hostile or incomplete answer is a bridge failure, never a crash', async () => {
    const answers: (() => Element)[] = [
      () => new Element('conference-modified', { xmlns: 'jitsi:colibri2' }), // no endpoint, no transport
      () => buildConferenceModified({ endpoints: [{ id: 'other' , transport: { iceUdp: transport } }], relays: [], sources: feedback }),
      () => buildConferenceModified({ endpoints: [{ id: 'abcd1234', transport: { iceUdp: { ...transport, fingerprints: [...transport.fingerprints, ...transport.fingerprints] } } }], relays: [], sources: feedback }),
      () => buildConferenceModified({ endpoints: [{ id: 'abcd1234', transport: { iceUdp: transport } }], relays: [] }), // no feedback sources
      () => new Element('something-else', { xmlns: 'urn:x' }),
      () => {
        const e = buildConferenceModified({ endpoints: [{ id: 'abcd1234', transport: { iceUdp: transport } }], relays: [], sources: feedback });
        e.getChild('endpoint')?.attr('id', ''); // empty token
        return e;
      },
    ];
    for (const answer of answers) {
      const error = await failure(new Colibri2Client(sender(answer), { from: 'f' }).allocate('b', request));
      expect(error.action).toBe('bridge-failed');
      expect(error.bridge).toBe('b');
    }
  });

  it('update, expire endpoint and expire conference have the §3.3 shapes', async () => {
    const s = sender(() => buildConferenceModified({ endpoints: [], relays: [] }));
    const client = new Colibri2Client(s, { from: 'f' });
    await client.update('b', 'm', 'ep', { transport, sources: [], initialLastN: 3 });
    await client.expireEndpoint('b', 'm', 'ep');
    await client.expireConference('b', 'm');
    const [update, expireEp, expireConf] = s.sent.map((x) => parseConferenceModify(x.payload));
    expect(update?.endpoints[0]).toMatchObject({ id: 'ep', sources: [], initialLastN: 3, transport: { iceUdp: { ufrag: 'u' } } });
    expect(update?.endpoints[0]?.create).toBeUndefined();
    expect(expireEp?.endpoints).toEqual([expect.objectContaining({ id: 'ep', expire: true })]);
    expect(expireConf).toMatchObject({ meetingId: 'm', expire: true, endpoints: [] });
  });

  it('classifies failures as §3.6 says, with timeouts always against the bridge', () => {
    const cases: [unknown, string][] = [
      [new IqTimeoutError('b', 15_000), 'bridge-failed'],
      [new StanzaError('bad-request', 'modify'), 'fail-participant'],
      [colibri2StanzaError('conference_not_found'), 'reset-session'],
      [colibri2StanzaError('unknown_endpoint'), 'reset-session'],
      [new StanzaError('item-not-found', 'cancel', 'Recipient not in room'), 'bridge-failed'],
      [colibri2StanzaError('conference_already_exists'), 'fail-participant'],
      [new StanzaError('conflict', 'cancel'), 'reset-session'],
      [colibri2StanzaError('graceful_shutdown'), 'move-conference'],
      [new StanzaError('service-unavailable', 'cancel'), 'bridge-failed'],
      [new StanzaError('internal-server-error', 'wait'), 'bridge-failed'],
      [new TypeError('boom'), 'bridge-failed'],
    ];
    for (const [error, action] of cases) expect(classify('b', error).action, String(error)).toBe(action);
  });
});
