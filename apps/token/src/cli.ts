#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, configFileFrom, createLogger, runMain } from '@hummingbird/service';
import { tokenConfig } from './config.js';
import { buildComponents, start } from './index.js';

const USAGE = `usage:
  hummingbird-token serve [--config <file>]
  hummingbird-token issue --room <room|*> [--name <display name>] [--id <user id>] [--email <e>]
                          [--avatar <url>] [--moderator] [--ttl <seconds>] [--sub <tenant>] [--config <file>]

"issue" mints a token with the configured signing key (the same config as "serve") and prints it
on stdout. Configuration: --config <file> or HB_TOKEN_CONFIG, plus HB_TOKEN_* variables.`;

/** Runs the CLI; returns the exit code. `out`/`err` are injectable for tests. */
export async function cli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') {
    await runMain({ definition: tokenConfig, argv: rest, env, start: (config, logger) => start(config, logger, env), logLevel: (c) => c.log.level });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  }
  if (command !== 'issue') {
    err(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        room: { type: 'string' },
        name: { type: 'string' },
        id: { type: 'string' },
        email: { type: 'string' },
        avatar: { type: 'string' },
        moderator: { type: 'boolean', default: false },
        ttl: { type: 'string' },
        sub: { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (values.room === undefined || values.room === '') {
    err(`--room is required (a room name, or * for every room)\n${USAGE}\n`);
    return 2;
  }
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1)) {
    err('--ttl must be a positive whole number of seconds\n');
    return 2;
  }
  try {
    const config = tokenConfig.loadConfig({ file: configFileFrom(rest, env, tokenConfig.fileEnvName), env });
    const { issuer } = await buildComponents(config, env);
    if (issuer === undefined) {
      err('HB_ERR_TOKEN_NO_SIGNING_KEY: no signing key configured (jwt.appSecretRef or jwt.signingKid)\n');
      return 1;
    }
    const minted = await issuer.mint({
      room: values.room,
      user: { id: values.id, name: values.name, email: values.email, avatar: values.avatar },
      moderator: values.moderator,
      ttlSeconds: ttl,
      sub: values.sub,
    });
    out(`${minted.token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`${error.code}: ${error.message}\n`);
      return 2;
    }
    createLogger({ name: 'token-cli', level: 'error' }).error({ err: error }, 'issue failed');
    return 1;
  }
}

// Run when executed (bin), not when imported by a test.
if (process.argv[1] !== undefined && /[\\/]cli\.(ts|js)$/.test(process.argv[1])) {
  const code = await cli(process.argv.slice(2));
  if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
}
