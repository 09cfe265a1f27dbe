// `npm start`: runs the stack on localhost until Ctrl-C.
//   --domain <d>       base domain (default meet.localhost)
//   --random-ports     do not try XMPP's usual ports first
//   --quiet            do not stream Prosody's log
import { parseArgs } from 'node:util';
import { ProsodyStartError } from './errors.js';
import { startStack } from './stack.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      domain: { type: 'string' },
      'random-ports': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const stack = await startStack({
    ...(values.domain ? { domain: values.domain } : {}),
    standardPorts: !values['random-ports'],
    prosody: values.quiet ? {} : { onLog: (line) => console.log(`[prosody] ${line}`) },
  });
  console.log(['', 'Hummingbird stack is up', ...stack.describe(), 'Press Ctrl-C to stop.', ''].join('\n'));

  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      // Ctrl-C reaches every process of the group, and npm forwards it too: act once.
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping the stack`);
      stack.stop().then(
        () => {
          console.log('stack stopped');
          resolve(0);
        },
        (error: unknown) => {
          console.error('stopping the stack failed:', error instanceof Error ? error.message : error);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ProsodyStartError) console.error(`hummingbird: ${error.message}`);
    else console.error('hummingbird: the stack failed to start:', error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
