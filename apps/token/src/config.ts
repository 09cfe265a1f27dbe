import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { z } from 'zod';

/**
 * Where a secret lives, never the secret itself: `file:/etc/hummingbird/jwt.secret` or
 * `env:HB_TOKEN_APP_SECRET`. A config file is copied, diffed and pasted into bug reports; a
 * reference in it leaks nothing.
 */
export const secretRef = z
  .string()
  .regex(/^(file:.+|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be a reference, "file:<path>" or "env:<VARIABLE>", not the secret itself');

export const tokenConfigSchema = z.object({
  ops: opsConfigSchema(8892),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  http: z
    .object({
      host: z
        .string()
        .min(1)
        .default('127.0.0.1')
        .describe('Address the token API binds. Loopback by default: Prosody calls it locally;\npublish it through a reverse proxy if clients must reach it.'),
      port: z.number().int().min(0).max(65_535).default(8890).describe('TCP port of the token API.'),
    })
    .describe('The token API (JWT verification for Prosody, TURN credentials over HTTP).'),
  jwt: z
    .object({
      appId: z
        .string()
        .min(1)
        .describe('Expected "iss" of the tokens (Jitsi\'s app_id).')
        .meta({ example: 'my-app' }),
      appSecretRef: secretRef
        .describe('Reference to the HS256 secret (Jitsi\'s app_secret): file:<path> or env:<VARIABLE>.')
        .meta({ example: 'file:/etc/hummingbird/jwt.secret' }),
    })
    .describe('JWT verification (Prosody mod_auth_token\'s app_id / app_secret).'),
});

export type TokenConfig = z.output<typeof tokenConfigSchema>;

export const tokenConfig = defineConfig(tokenConfigSchema, { appName: 'token' });
