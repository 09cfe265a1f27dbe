// hb-worker: `ensure` (build if needed), `check` (never build), `path`, `key`.
import { ensureWorker } from './ensure.js';
import { cacheKey, resolveWorkerBin, WorkerBinaryError } from './index.js';

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'ensure';
  switch (command) {
    case 'ensure':
      await ensureWorker();
      return 0;
    case 'check':
      await ensureWorker({ build: false });
      return 0;
    case 'path':
      console.log(resolveWorkerBin().path);
      return 0;
    case 'key':
      console.log(cacheKey());
      return 0;
    default:
      console.error(`usage: hb-worker [ensure|check|path|key]  (unknown command: ${command})`);
      return 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One clear line, no stack, for the errors we expect (spec: bad input / failure).
    if (error instanceof WorkerBinaryError || error instanceof Error) console.error(`hb-worker: ${error.message}`);
    else console.error('hb-worker: unexpected failure', error);
    process.exit(2);
  },
);
