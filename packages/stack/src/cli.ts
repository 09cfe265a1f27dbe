// `npm start`: runs the stack on localhost until Ctrl-C.
//   --domain <d>       base domain (default meet.localhost)
//   --random-ports     do not try XMPP's usual ports first
//   --quiet            do not stream Prosody's and the apps' logs
//   --auth token       JWT login on the client host, anonymous guests on guest.<domain> (docs/jwt.md)
//   --bridges <n>      how many bridges (default 1)
//   --no-page          do not serve the meeting page
//   --config <file>    the launcher's options from a YAML file (src/stack-file.ts); flags given too win
import { parseArgs } from 'node:util';
import { ProsodyStartError, StackAppError } from './errors.js';
import { readStackFile, stackOptionsFrom, StackFileError } from './stack-file.js';
import { startStack } from './stack.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      domain: { type: 'string' },
      'random-ports': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      auth: { type: 'string' },
      bridges: { type: 'string' },
      config: { type: 'string' },
      'no-page': { type: 'boolean', default: false },
    },
  });
  const file = values.config ? await readStackFile(values.config) : {};
  const flags = stackOptionsFrom(
    {
      ...(values.domain ? { domain: values.domain } : {}),
      ...(values.auth ? { auth: values.auth } : {}),
      ...(values.bridges ? { bridges: Number(values.bridges) } : {}),
      ...(values['random-ports'] ? { standardPorts: false } : {}),
      ...(values['no-page'] ? { page: false } : {}),
    },
    'command line',
  );
  const stack = await startStack({
    ...file,
    ...flags,
    ...(values.quiet ? { logs: 'quiet' as const } : {}),
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
    if (error instanceof ProsodyStartError || error instanceof StackAppError || error instanceof StackFileError) console.error(`hummingbird: ${error.message}`);
    else console.error('hummingbird: the stack failed to start:', error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
