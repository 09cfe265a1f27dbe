// The e2e suite's one summary (issue 8 acceptance: "per scenario, join → first decoded remote frame in ms, p50
// over the participants"): each scenario appends one JSON line to the run's file under the repo's ignored
// output folder; the reporter (first-frame-reporter.ts) prints them as one table at the end of the run and
// writes them as one JSON file next to it.
import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { p50 } from '@hummingbird/test-support';

import { ARTIFACTS, FIRST_FRAME_LINES, JOIN_TO_FIRST_FRAME, type ClientKind, type FirstFrameRecord } from './first-frame-reporter.ts';

export { ARTIFACTS, JOIN_TO_FIRST_FRAME, type ClientKind, type FirstFrameRecord };

/** Records one scenario's times (call it once the participants decode). */
export function recordFirstFrame(
  testFile: string,
  scenario: string,
  client: ClientKind,
  ms: readonly number[],
  measure: string = JOIN_TO_FIRST_FRAME,
): FirstFrameRecord {
  const finite = ms.filter((m) => Number.isFinite(m));
  const record: FirstFrameRecord = {
    file: fileURLToPath(testFile).replace(/^.*\/packages\/e2e\//, ''),
    scenario,
    client,
    measure,
    ms: ms.map((m) => (Number.isFinite(m) ? Math.round(m) : null)),
    p50: finite.length > 0 ? Math.round(p50(finite)) : null,
  };
  mkdirSync(ARTIFACTS, { recursive: true });
  appendFileSync(FIRST_FRAME_LINES, `${JSON.stringify(record)}\n`);
  return record;
}
