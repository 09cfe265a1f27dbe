import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURE, NS } from '../src/index.js';

// The spec is the source of truth; when it is reachable (it lives beside the repo in shared/),
// every namespace and feature here must appear in it verbatim.
const specs = ['jitsi-client-protocol.md', 'jicofo-jvb.md', 'prosody.md'].flatMap((name) => {
  try {
    return [readFileSync(new URL(`../../../../shared/spec/${name}`, import.meta.url), 'utf8')];
  } catch {
    return [];
  }
});
// Core XMPP namespaces from RFCs/XEPs that the Jitsi specs abbreviate (`…muc#user`) or take for granted.
const FROM_RFCS_AND_XEPS = new Set<string>([
  NS.STANZAS,
  NS.COMPONENT_ACCEPT,
  NS.CLIENT,
  NS.DISCO_INFO,
  NS.DISCO_ITEMS,
  NS.DATA_FORMS,
  NS.MUC_USER,
  NS.MUC_OWNER,
  NS.MUC_ADMIN,
]);

describe('namespaces', () => {
  it('has no duplicate values (two names for one namespace would split handlers)', () => {
    const values = Object.values(NS);
    expect(new Set(values).size).toBe(values.length);
  });

  // CI checks out shared/ beside the repository; a self-hoster's clone has no spec, so skip there.
  it.skipIf(specs.length === 0)('uses the exact strings of the specs', () => {
    const text = specs.join('\n');
    for (const value of [...Object.values(NS), ...Object.values(FEATURE)]) {
      if (FROM_RFCS_AND_XEPS.has(value)) continue;
      expect(text, value).toContain(value);
    }
  });

  it('has the namespaces the conference flow depends on', () => {
    expect(NS.FOCUS).toBe('http://jitsi.org/protocol/focus');
    expect(NS.COLIBRI2).toBe('jitsi:colibri2');
    expect(NS.JINGLE).toBe('urn:xmpp:jingle:1');
    expect(NS.JINGLE_DTLS).toBe('urn:xmpp:jingle:apps:dtls:0');
    expect(NS.EXTDISCO).toBe('urn:xmpp:extdisco:2');
  });
});
