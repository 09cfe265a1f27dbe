import { createHmac } from 'node:crypto';

export interface TurnServer {
  host: string;
  port: number;
  tlsPort: number;
  ttlSeconds: number;
}

export interface TurnCredentials {
  username: string;
  password: string;
  ttl: number;
  expiresAt: number;
  uris: string[];
}

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest; coturn `use-auth-secret`; the same
 * scheme as Prosody's mod_external_services, prosody.md §3.2): username `<expiry>:<user>`,
 * password base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(secret: string, server: TurnServer, user: string, nowMs = Date.now()): TurnCredentials {
  const expiresAt = Math.floor(nowMs / 1000) + server.ttlSeconds;
  // A ':' in the user part would make the expiry ambiguous to the TURN server's parser.
  const safeUser = user.replaceAll(':', '_');
  const username = safeUser === '' ? String(expiresAt) : `${expiresAt}:${safeUser}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  const host = server.host.includes(':') && !server.host.startsWith('[') ? `[${server.host}]` : server.host;
  return {
    username,
    password,
    ttl: server.ttlSeconds,
    expiresAt,
    uris: [
      `turn:${host}:${server.port}?transport=udp`,
      `turn:${host}:${server.port}?transport=tcp`,
      `turns:${host}:${server.tlsPort}?transport=tcp`,
    ],
  };
}
