// Reads the lib-jitsi-meet traces copied into test/data/lib-jitsi-meet (their README describes the
// format) and returns every XML element and every bridge-channel JSON message they contain, in order.
// Nothing is skipped here: classification (and counting) is the test's job.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseXmlString, type Element } from '../../src/xml.ts';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lib-jitsi-meet');

export interface FixtureXml {
  readonly kind: 'xml';
  readonly file: string;
  /** Index of this element within its file, for error messages. */
  readonly index: number;
  /** `IN`/`OUT` from the client's point of view, or the focus-side header (e.g. `IN iq/set`). */
  readonly label: string;
  readonly element: Element;
  readonly text: string;
}

export interface FixtureJson {
  readonly kind: 'json';
  readonly file: string;
  readonly index: number;
  readonly label: string;
  readonly value: unknown;
  readonly text: string;
}

export type FixtureEntry = FixtureXml | FixtureJson;

export function fixtureFiles(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.trace.txt')).sort();
}

// A WebSocket trace logs `<open/>` and `<stream:features>` frames; ltx parses a prefixed name as is,
// but the `stream` prefix must be declared for the frame to be a document on its own.
function parseFrame(text: string): Element {
  return parseXmlString(text);
}

function unwrapBosh(el: Element): Element[] {
  if (el.name === 'body' && el.attrs.xmlns === 'http://jabber.org/protocol/httpbind') {
    const inner = el.getChildElements();
    // The body itself is the entry when it carries no stanza (session creation, empty polls).
    return inner.length === 0 ? [el] : inner;
  }
  return [el];
}

function clientEntries(file: string, raw: string): FixtureEntry[] {
  const out: FixtureEntry[] = [];
  for (const block of raw.split(/\n\s*\n/)) {
    const trimmed = block.trim();
    if (trimmed === '') continue;
    const m = /^(OUT|IN) {1,2}([\s\S]*)$/.exec(trimmed);
    if (m === null) throw new Error(`${file}: unrecognised trace entry: ${trimmed.slice(0, 80)}`);
    const label = m[1] as string;
    const text = m[2] as string;
    for (const element of unwrapBosh(parseFrame(text))) {
      out.push({ kind: 'xml', file, index: out.length, label, element, text: element.toString() });
    }
  }
  return out;
}

function focusEntries(file: string, raw: string): FixtureEntry[] {
  const out: FixtureEntry[] = [];
  let header: string | undefined;
  for (const line of raw.split('\n')) {
    const h = /^=== (.*) ===$/.exec(line);
    if (h !== null) {
      header = h[1];
      continue;
    }
    if (line.trim() === '') continue;
    if (header === undefined) throw new Error(`${file}: content before any header`);
    if (line.startsWith('<')) {
      const element = parseFrame(line);
      out.push({ kind: 'xml', file, index: out.length, label: header, element, text: line });
    } else if (line.startsWith('{')) {
      out.push({ kind: 'json', file, index: out.length, label: header, value: JSON.parse(line) as unknown, text: line });
    } else {
      throw new Error(`${file}: unrecognised line under ${header}: ${line.slice(0, 80)}`);
    }
  }
  return out;
}

export function readFixture(file: string): FixtureEntry[] {
  const raw = readFileSync(join(FIXTURE_DIR, file), 'utf8');
  return file.includes('focus-side') ? focusEntries(file, raw) : clientEntries(file, raw);
}

export function allFixtureEntries(): FixtureEntry[] {
  return fixtureFiles().flatMap(readFixture);
}
