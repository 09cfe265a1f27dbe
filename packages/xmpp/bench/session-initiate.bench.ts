// `pnpm bench`: throughput of a full Jingle session-initiate through the typed model, next to a bare ltx parse
// of the same XML, measured side by side in one run (interleaved rounds, medians) and printed as ratios.
// The stanza is the focus's real session-initiate from the lib-jitsi-meet traces (test/data copy).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildJingle, parseJingle } from '../src/stanzas/jingle.ts';
import { parseXmlString, xml, type Element } from '../src/xml.ts';

const trace = readFileSync(join(import.meta.dirname, '../test/data/lib-jitsi-meet/jingle-sources.focus-side.trace.txt'), 'utf8');
const lines = trace.split('\n');
const at = lines.findIndex((l) => l === '=== OUT session-initiate ===');
const XML = lines[at + 1];
if (at < 0 || XML === undefined) throw new Error('no session-initiate in the trace');

function jingleOf(iq: Element): Element {
  const j = iq.getChildElements()[0];
  if (j === undefined) throw new Error('iq without jingle');
  return j;
}

// Sinks keep the work observable so the JIT cannot drop it.
let sink = 0;
const cases: Record<string, () => void> = {
  'ltx parse (baseline)': () => {
    sink += parseXmlString(XML).children.length;
  },
  'ltx parse + parseJingle': () => {
    sink += parseJingle(jingleOf(parseXmlString(XML))).contents.length;
  },
  'ltx parse + parseJingle + buildJingle + serialise': () => {
    const iq = parseXmlString(XML);
    const j = parseJingle(jingleOf(iq));
    sink += xml('iq', { ...iq.attrs }, buildJingle(j)).toString().length;
  },
};
const preParsed = jingleOf(parseXmlString(XML));
const model = parseJingle(preParsed);
cases['parseJingle only (pre-parsed element)'] = () => {
  sink += parseJingle(preParsed).contents.length;
};
cases['buildJingle only'] = () => {
  sink += buildJingle(model).children.length;
};

function rate(fn: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

const ROUNDS = 7;
const ROUND_MS = 250;
const names = Object.keys(cases);
for (const n of names) rate(cases[n] as () => void, 200); // warm-up
const samples = Object.fromEntries(names.map((n) => [n, [] as number[]]));
for (let r = 0; r < ROUNDS; r++) for (const n of names) samples[n]?.push(rate(cases[n] as () => void, ROUND_MS));

const base = median(samples['ltx parse (baseline)'] ?? []);
console.log(`session-initiate: ${XML.length} bytes of XML, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, medians (node ${process.version})`);
console.log(`${'case'.padEnd(52)} ${'stanzas/s'.padStart(12)} ${'vs ltx parse'.padStart(14)}`);
for (const n of names) {
  const m = median(samples[n] ?? []);
  console.log(`${n.padEnd(52)} ${m.toFixed(0).padStart(12)} ${(base / m).toFixed(2).padStart(13)}x`);
}
const full = median(samples['ltx parse + parseJingle + buildJingle + serialise'] ?? []);
console.log(`ratio: full parse+build costs ${(base / full).toFixed(2)}x a bare ltx parse (${(full).toFixed(0)} vs ${base.toFixed(0)} stanzas/s)`);
if (sink === 0) console.log('');
