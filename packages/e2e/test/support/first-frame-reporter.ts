// A vitest reporter next to the default one: clears the first-frame lines when a run starts, and when it ends
// prints them as one table and writes .hb/artifacts/e2e-first-frame.json (see first-frame.ts).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { Reporter } from 'vitest/node';

// vitest loads reporters in its main process, where workspace packages do not resolve to their source: this file
// imports nothing of ours, and first-frame.ts takes the paths and the record's shape from here.
export const ARTIFACTS = fileURLToPath(new URL('../../../../.hb/artifacts/', import.meta.url));
/** What the scenarios append during a run (cleared when a run starts). */
export const FIRST_FRAME_LINES = `${ARTIFACTS}e2e-first-frame.jsonl`;
/** The run's summary, written by the reporter. */
export const FIRST_FRAME_JSON = `${ARTIFACTS}e2e-first-frame.json`;

export const JOIN_TO_FIRST_FRAME = 'join → first decoded remote frame';

export type ClientKind = 'hummingbird' | 'legacy' | 'meeting page';

export interface FirstFrameRecord {
  /** The test file, relative to packages/e2e. */
  file: string;
  scenario: string;
  client: ClientKind;
  /** What was timed, when it is not JOIN_TO_FIRST_FRAME. */
  measure: string;
  /** Per participant, rounded to the millisecond; null where it has none. */
  ms: (number | null)[];
  /** Over the participants that have a time; null when none has one. */
  p50: number | null;
}

function readRecords(): FirstFrameRecord[] {
  if (!existsSync(FIRST_FRAME_LINES)) return [];
  return readFileSync(FIRST_FRAME_LINES, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FirstFrameRecord);
}

/** A plain-text table, columns padded to their widest cell. */
export function formatTable(records: readonly FirstFrameRecord[]): string {
  const head = ['scenario', 'client', 'measure', 'p50 ms', 'per participant ms', 'file'];
  const rows = records.map((r) => [
    r.scenario,
    r.client,
    r.measure === JOIN_TO_FIRST_FRAME ? 'join → first frame' : r.measure,
    r.p50 === null ? '-' : String(r.p50),
    r.ms.map((m) => (m === null ? '-' : String(m))).join(', '),
    r.file,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  // The p50 column is right-aligned, the others left-aligned.
  const pad = (c: string, i: number): string => (i === 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0));
  const line = (cells: readonly string[]): string => cells.map(pad).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export default class FirstFrameReporter implements Reporter {
  onTestRunStart(): void {
    rmSync(FIRST_FRAME_LINES, { force: true });
  }

  onTestRunEnd(): void {
    const records = readRecords();
    if (records.length === 0) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    const summary = { measure: `${JOIN_TO_FIRST_FRAME} (ms, p50 over the participants)`, scenarios: records };
    writeFileSync(FIRST_FRAME_JSON, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`\nHummingbird e2e: ${JOIN_TO_FIRST_FRAME} per scenario (ms)\n${formatTable(records)}\n(also in ${FIRST_FRAME_JSON})\n`);
  }
}
