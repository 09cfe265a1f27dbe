import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { z } from 'zod';

const port = z.number().int().min(1).max(65_535);

export const turnConfigSchema = z.object({
  ops: opsConfigSchema(8891),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  listen: z
    .object({
      host: z
        .string()
        .min(1)
        .default('0.0.0.0')
        .describe('Address the STUN/TURN listeners bind. All interfaces by default: a TURN relay\nserves browsers from outside, as coturn does.'),
      udpPort: port.default(3478).describe('STUN/TURN over UDP (RFC 8656).'),
      tcpPort: port.default(3478).describe('STUN/TURN over TCP (RFC 8656 framing).'),
    })
    .describe('Client-facing listeners (spec/turn.md: UDP and TCP 3478; TLS 5349 comes later).'),
  realm: z
    .string()
    .min(1)
    .describe('TURN realm sent in 401 challenges (coturn realm=); usually the meet domain.')
    .meta({ example: 'meet.example.com' }),
  auth: z
    .object({
      sharedSecret: z
        .string()
        .min(16, 'must be at least 16 characters: it signs every TURN credential')
        .describe('TURN REST API shared secret (coturn static-auth-secret). The same value must be\ngiven to Prosody (mod_external_services) and apps/token, which mint the credentials.'),
    })
    .describe('Credentials: TURN REST API (username "expiry:user", password HMAC-SHA1 of it).'),
});

export type TurnConfig = z.output<typeof turnConfigSchema>;

export const turnConfig = defineConfig(turnConfigSchema, { appName: 'turn' });
