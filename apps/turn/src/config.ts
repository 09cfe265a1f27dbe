import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.number().int().min(0).max(65_535);
const ip = z.string().refine((value) => isIP(value) !== 0, 'must be an IP address');
const cidr = z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'must be an IP address or CIDR range');

export const turnConfigSchema = z.object({
  ops: opsConfigSchema(8891),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  listen: z
    .object({
      host: ip
        .default('0.0.0.0')
        .describe('Address the STUN/TURN listeners bind ("::" = IPv6 and IPv4). All interfaces by\ndefault: a TURN relay serves browsers from outside, as coturn does.'),
      udpPort: port.default(3478).describe('STUN/TURN over UDP (RFC 8656).'),
      tcpPort: port.default(3478).describe('STUN/TURN over TCP (RFC 8656 framing).'),
      tlsPort: port.default(5349).describe('STUN/TURN over TLS; opened only when tls.certFile and tls.keyFile are set.'),
      tlsHost: ip
        .optional()
        .describe('Address of the TLS listener if not listen.host: 127.0.0.1 behind nginx\'s 443 mux with\ntls.proxyProtocol, so that nobody can reach it directly with a forged PROXY header.')
        .meta({ example: '127.0.0.1' }),
    })
    .describe('Client-facing listeners (spec/turn.md §4.2: UDP and TCP 3478, TLS 5349).'),
  tls: z
    .object({
      certFile: z.string().min(1).optional().describe('PEM certificate chain for the TLS listener.').meta({ example: '/etc/hummingbird/turn/fullchain.pem' }),
      keyFile: z.string().min(1).optional().describe('PEM private key for the TLS listener.').meta({ example: '/etc/hummingbird/turn/privkey.pem' }),
      proxyProtocol: z
        .boolean()
        .default(false)
        .describe('Expect a PROXY protocol header (v2, or v1 as nginx stream sends with proxy_protocol on)\nbefore TLS: the 443 SNI mux. The header is trusted, so set listen.tlsHost to loopback.'),
    })
    .describe('TLS listener (TURNS).'),
  relay: z
    .object({
      host: ip.default('0.0.0.0').describe('Address relay sockets bind (IPv4, or IPv6).'),
      host6: ip.optional().describe('Second relay address, IPv6, for REQUESTED-ADDRESS-FAMILY IPv6 (RFC 6156).').meta({ example: '::' }),
      portMin: z.number().int().min(1).max(65_535).default(49_152).describe('Lowest relay port.'),
      portMax: z.number().int().min(1).max(65_535).default(65_535).describe('Highest relay port.'),
      externalIp: ip.optional().describe('Public IPv4 address told to clients (XOR-RELAYED-ADDRESS) when behind NAT.').meta({ example: '203.0.113.7' }),
      externalIp6: ip.optional().describe('Same for the IPv6 relay.').meta({ example: '2001:db8::7' }),
    })
    .describe('Relay sockets (one UDP port per allocation).'),
  peers: z
    .object({
      allow: z
        .array(cidr)
        .default([])
        .describe('CIDRs clients may reach despite the built-in deny list (loopback, RFC 1918, link-local,\nCGNAT, multicast, ...): e.g. the videobridge\'s private address.'),
      deny: z.array(cidr).default([]).describe('CIDRs denied on top of the built-in list.'),
    })
    .describe('Peer policy (spec/turn.md §4.2 item 6).'),
  lifetimes: z
    .object({
      allocationDefaultSec: z.number().int().min(1).default(600).describe('Allocation lifetime when a client asks for less or nothing.'),
      allocationMaxSec: z.number().int().min(1).max(86_400).default(3600).describe('Cap on a requested allocation lifetime.'),
      permissionSec: z.number().int().min(1).default(300).describe('Permission lifetime (RFC 8656: 300).'),
      channelSec: z.number().int().min(1).default(600).describe('Channel binding lifetime (RFC 8656: 600).'),
      nonceSec: z.number().int().min(1).default(600).describe('How long a nonce is fresh; 438 Stale Nonce after that.'),
    })
    .describe('Lifetimes.'),
  quotas: z
    .object({
      allocationsPerUser: z.number().int().min(1).default(32).describe('Allocations per TURN username (486 above).'),
      allocationsTotal: z.number().int().min(1).default(10_000).describe('Allocations in this process (486 above).'),
      permissionsPerAllocation: z.number().int().min(1).default(256).describe('508 above.'),
      channelsPerAllocation: z.number().int().min(1).default(256).describe('508 above.'),
      bandwidthBps: z.number().int().min(0).default(20_000_000).describe('Per allocation and direction, bits per second (0 = unlimited).'),
      unauthenticatedPerSecond: z.number().min(0.1).default(50).describe('Requests per second per source IP from clients without an allocation.'),
      unauthenticatedBurst: z.number().int().min(1).default(200).describe('Burst for the above.'),
      maxConnections: z.number().int().min(1).default(10_000).describe('TCP + TLS connections at once.'),
      halfOpenTimeoutMs: z.number().int().min(100).default(30_000).describe('A connection without an allocation is closed after this long.'),
    })
    .describe('Quotas and abuse controls (spec/turn.md §4.2 item 7).'),
  socketBuffers: z
    .object({
      listenerBytes: z.number().int().min(65_536).default(4 * 1024 * 1024).describe('SO_RCVBUF/SO_SNDBUF of the UDP listener (capped by net.core.rmem_max).'),
      relayBytes: z.number().int().min(65_536).default(1024 * 1024).describe('Same for each relay socket.'),
    })
    .describe('Socket buffers.'),
  dataPath: z
    .enum(['auto', 'native', 'dgram'])
    .default('auto')
    .describe('UDP socket layer. auto: the native batched one (recvmmsg/sendmmsg, Linux; compiled at\nstart with cc into ~/.cache/hummingbird/turn-native) if it builds, else Node dgram with a\nwarning; native: that or refuse to start; dgram: Node dgram (docs/turn.md, "Data path").'),
  workers: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe('Relay processes (node:cluster). TCP and TLS connections are spread over all of them,\nUDP is served by the first one (docs/turn.md explains why).'),
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
      previousSecrets: z
        .array(z.string().min(16, 'must be at least 16 characters: it signs every TURN credential'))
        .default([])
        .describe('Secrets still accepted during a rotation (credentials minted before the switch).'),
    })
    .describe('Credentials: TURN REST API (username "expiry:user", password HMAC-SHA1 of it).'),
});

export type TurnConfig = z.output<typeof turnConfigSchema>;

export const turnConfig = defineConfig(turnConfigSchema, { appName: 'turn' });
