import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NS, parseJingle, parseXmlString, type Element } from '@hummingbird/xmpp';
import { describe, expect, it } from 'vitest';
import { EMPTY_SOURCES, addSources, colibriSources, receiverView, sourcesOf, type SourceSet } from '../src/sources.js';

// The real lib-jitsi-meet's Jingle as the focus received it (fixtures/lib-jitsi-meet, copied in packages/xmpp):
// every session-accept and session-terminate must pass the focus's own validation unchanged.
const DATA = '../../../packages/xmpp/test/data/lib-jitsi-meet/';

interface Received {
  readonly action: string;
  readonly nick: string;
  readonly jingle: Element;
}

function received(file: string): Received[] {
  const lines = readFileSync(fileURLToPath(new URL(`${DATA}${file}`, import.meta.url)), 'utf8').split('\n');
  const out: Received[] = [];
  lines.forEach((line, i) => {
    const m = /^=== IN jingle (\S+) from [^/]+\/(\S+) ===$/.exec(line);
    if (m === null) return;
    const iq = parseXmlString(lines[i + 1] ?? '');
    const jingle = iq.getChild('jingle', NS.JINGLE);
    if (jingle === undefined) throw new Error(`no jingle after line ${String(i + 1)}`);
    out.push({ action: m[1] as string, nick: m[2] as string, jingle });
  });
  return out;
}

describe('the real client\'s Jingle (traces) passes the focus\'s validation', () => {
  for (const file of ['jingle-sources.focus-side.trace.txt', 'ssrc-rewriting.focus-side.trace.txt']) {
    it(file, () => {
      const all = received(file);
      const accepts = all.filter((r) => r.action === 'session-accept');
      expect(accepts).toHaveLength(3);
      const taken = new Set<number>();
      for (const r of accepts) {
        const jingle = parseJingle(r.jingle);
        const mine: SourceSet = addSources(EMPTY_SOURCES, sourcesOf(jingle), r.nick, taken);
        for (const m of ['audio', 'video'] as const) for (const s of mine[m].sources) taken.add(s.ssrc);
        expect(mine.audio.sources.length).toBeGreaterThan(0);
        expect(mine.video.sources.length).toBeGreaterThan(0);
        // receivers: one video SSRC + its RTX, no SIM; every source named and owned by the sender
        const view = receiverView(mine);
        expect(view.video.ssrcGroups.every((g) => g.semantics === 'FID')).toBe(true);
        expect(view.video.sources.length).toBeLessThanOrEqual(2);
        expect([...view.audio.sources, ...view.video.sources].every((s) => s.owner === r.nick && s.name?.startsWith(`${r.nick}-`))).toBe(true);
        // the bridge: one media-source per source name, all SSRCs
        expect(colibriSources(mine).map((s) => s.id).sort()).toEqual([`${r.nick}-a0`, `${r.nick}-v0`]);
        // the client's transport (DTLS active) is there for the bridge
        expect(jingle.contents.find((c) => c.transport !== undefined)?.transport?.fingerprints[0]?.setup).toBe('active');
      }
      for (const t of all.filter((r) => r.action === 'session-terminate')) {
        const jingle = parseJingle(t.jingle);
        expect(jingle.bridgeSession?.restart).toBe(true);
        expect(jingle.reason?.condition).toBe('connectivity-error');
      }
    });
  }
});
