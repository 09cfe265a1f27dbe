import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { z } from 'zod';

/**
 * Where a secret lives, never the secret itself: `file:/etc/hummingbird/jvb.password` or
 * `env:JVB_XMPP_PASSWORD` (the same convention as apps/token).
 */
export const secretRef = z
  .string()
  .regex(/^(file:.+|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be a reference, "file:<path>" or "env:<VARIABLE>", not the secret itself');

const port = z.number().int().min(0).max(65_535);

export const bridgeConfigSchema = z.object({
  ops: opsConfigSchema(8080),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  xmpp: z
    .object({
      service: z
        .string()
        .regex(/^(xmpp|ws|wss):\/\/\S+$/, 'must be xmpp://host:port, ws://… or wss://…')
        .default('xmpp://127.0.0.1:5222')
        .describe('How to reach Prosody: xmpp://host:port (c2s) or ws(s)://host/xmpp-websocket.'),
      domain: z.string().min(1).describe('The XMPP domain of the bridge account (auth.<d> in the Jitsi layout).').meta({ example: 'auth.meet.example.org' }),
      username: z.string().min(1).default('jvb').describe('The bridge account\'s user name (jicofo-jvb.md §4.1).'),
      passwordRef: secretRef.describe('Reference to the account password.').meta({ example: 'env:JVB_XMPP_PASSWORD' }),
      breweryJid: z
        .string()
        .min(3)
        .describe('Bare JID of the brewery MUC the focus watches (jicofo-jvb.md §2.5).')
        .meta({ example: 'JvbBrewery@internal.auth.meet.example.org' }),
      nickname: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe('Occupant nickname in the brewery; must be unique per bridge. Default: the bridge id.'),
    })
    .describe('The XMPP control plane: Prosody account, brewery MUC.'),
  bridge: z
    .object({
      id: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/)
        .optional()
        .describe('Bridge id (server-id in colibri-ws URLs, default brewery nickname). Default: random.'),
      region: z.string().min(1).optional().describe('Region published in the brewery stats (region-based bridge selection).'),
      relayId: z.string().min(1).optional().describe('relay_id published in the brewery stats (cascading). Default: the bridge id.'),
      release: z.string().min(1).optional().describe('Appended to the version for the focus\'s version matching (JVB version.release).'),
      statsIntervalMs: z.number().int().min(500).max(60_000).default(5_000).describe('Brewery presence is published at least this often (JVB default 5 s).'),
      initialDrain: z.boolean().default(false).describe('Start drained (the focus prefers other bridges).'),
      endpointTimeoutMs: z
        .number()
        .int()
        .min(100)
        .default(60_000)
        .describe('An endpoint whose ICE/DTLS has not connected this long after creation, or whose ICE stayed\ndisconnected this long, is expired by the bridge (JVB: 1 min). The focus is not told (as with JVB).'),
      shuttingDownDelayMs: z
        .number()
        .int()
        .min(0)
        .default(60_000)
        .describe('Graceful shutdown: how long shutting_down is announced before the process exits (JVB 1 min).'),
      maxPacketRate: z
        .number()
        .int()
        .min(1)
        .default(50_000)
        .describe('Packets per second (in + out) that count as stress 1.0 (jicofo-jvb.md §4.8 packet-rate).'),
    })
    .default({ statsIntervalMs: 5_000, initialDrain: false, endpointTimeoutMs: 60_000, shuttingDownDelayMs: 60_000, maxPacketRate: 50_000 })
    .describe('Identity and load reporting.'),
  media: z
    .object({
      workers: z
        .number()
        .int()
        .min(0)
        .max(256)
        .default(0)
        .describe('mediasoup workers; 0 = one per CPU core.'),
      workerBin: z.string().min(1).optional().describe('Path of a patched mediasoup-worker binary (default: MEDIASOUP_WORKER_BIN, then the build cache).'),
      listenIp: z.string().min(1).default('0.0.0.0').describe('Address the WebRtcServers bind.'),
      announcedAddress: z
        .string()
        .min(1)
        .optional()
        .describe('Address put in ICE candidates (the public IP or host name); default the listen address.'),
      udpPort: port.default(10_000).describe('UDP port of worker 0\'s WebRtcServer; worker i uses udpPort + i (0 = any free port).'),
      tcpPort: port
        .default(0)
        .describe('TCP port of worker 0\'s WebRtcServer (worker i: tcpPort + i); 0 = any free port. ICE-TCP passive candidates.'),
      enableTcp: z.boolean().default(true).describe('Offer ICE-TCP candidates as well.'),
      logLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn').describe('mediasoup worker log level.'),
    })
    .default({ workers: 0, listenIp: '0.0.0.0', udpPort: 10_000, tcpPort: 0, enableTcp: true, logLevel: 'warn' })
    .describe('The media plane: mediasoup workers and their WebRtcServers.'),
  websocket: z
    .object({
      enabled: z.boolean().default(true).describe('Offer the bridge channel over colibri-ws (jitsi-client-protocol.md §5.1).'),
      host: z.string().min(1).default('127.0.0.1').describe('Address the colibri-ws HTTP server binds (put it behind your TLS proxy).'),
      port: port.default(9090).describe('TCP port of the colibri-ws server (0 = any free port).'),
      publicUrl: z
        .string()
        .regex(/^wss?:\/\/[^/?#\s]+$/, 'must be ws://host[:port] or wss://host[:port], without a path')
        .optional()
        .describe('Base URL clients dial, e.g. wss://meet.example.org (the proxy forwards /colibri-ws/ here).\nDefault: ws://<host>:<port>.'),
    })
    .default({ enabled: true, host: '127.0.0.1', port: 9090 })
    .describe('The bridge channel (colibri-ws).'),
  video: z
    .object({
      topLayerHeight: z
        .number()
        .int()
        .min(90)
        .max(4320)
        .default(720)
        .describe('Assumed height of the top simulcast layer; lower layers are 1/2 and 1/4 of it. Maps a\nreceiver\'s maxHeight to a spatial layer.'),
    })
    .default({ topLayerHeight: 720 })
    .describe('Video forwarding.'),
});

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;

export const bridgeConfig = defineConfig(bridgeConfigSchema, { appName: 'bridge' });
