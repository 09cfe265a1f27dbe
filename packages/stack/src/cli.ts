// `npm start`: runs the stack on localhost until Ctrl-C.
//   --domain <d>       base domain (default meet.localhost)
//   --random-ports     do not try XMPP's usual ports first
//   --quiet            do not stream Prosody's and the apps' logs
//   --auth token       JWT login on the client host, anonymous guests on guest.<domain> (docs/jwt.md)
//   --bridges <n>      how many bridges (default 1)
import { parseArgs } from 'node:util';
import { ProsodyStartError, StackAppError } from './errors.js';
import { startStack } from './stack.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      domain: { type: 'string' },
      'random-ports': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      auth: { type: 'string', default: 'none' },
      bridges: { type: 'string', default: '1' },
    },
  });
  if (values.auth !== 'none' && values.auth !== 'token') throw new Error(`--auth must be none or token, got ${values.auth}`);
  const bridges = Number(values.bridges);
  if (!Number.isInteger(bridges) || bridges < 0 || bridges > 16) throw new Error(`--bridges must be 0..16, got ${values.bridges}`);
  const stack = await startStack({
    auth: values.auth,
    bridges,
    ...(values.quiet ? { logs: 'quiet' as const } : {}),
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
    if (error instanceof ProsodyStartError || error instanceof StackAppError) console.error(`hummingbird: ${error.message}`);
    else console.error('hummingbird: the stack failed to start:', error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
