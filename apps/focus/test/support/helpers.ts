import { Element as ElementCtor, NS, StanzaError, parseConferenceResponse, type Element } from '@hummingbird/xmpp';
import { expect } from 'vitest';
import type { FakeParticipant } from './xmpp.js';

/** Polls `check` until it holds (state the focus keeps in memory; stanzas are awaited as events instead). */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function errorOf(promise: Promise<unknown>): Promise<StanzaError> {
  return promise.then(
    () => {
      throw new Error('expected an error');
    },
    (error: unknown) => {
      if (error instanceof StanzaError) return error;
      throw error;
    },
  );
}

/** Conference IQ (must be ready) then MUC join (must succeed), as ljm does. */
export async function joinRoom(p: FakeParticipant, room: string, nick: string): Promise<void> {
  const answer = parseConferenceResponse(await p.conferenceRequest(room));
  expect(answer.ready).toBe(true);
  const self = await p.join(room, nick);
  expect(self.attrs.type).toBeUndefined();
}

export function affiliationSeen(p: FakeParticipant, room: string, nick: string, affiliation: string): Promise<Element> {
  return p.nextPresence((s) => s.attrs.from === `${room}/${nick}` && s.getChild('x', NS.MUC_USER)?.getChild('item')?.attrs.affiliation === affiliation);
}

/** Resolves once Prosody says the room does not exist (disco#info item-not-found); the focus left asynchronously. */
export async function roomGone(p: FakeParticipant, room: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const query = new ElementCtor('query', { xmlns: NS.DISCO_INFO });
    const outcome = await p.conn.caller.get(room, query).then(
      () => 'exists',
      (error: unknown) => (error instanceof StanzaError ? error.condition : 'other'),
    );
    if (outcome === 'item-not-found') return;
    if (Date.now() > deadline) throw new Error(`room ${room} still answers disco#info (${outcome})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
