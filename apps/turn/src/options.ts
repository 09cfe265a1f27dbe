import { readFileSync } from 'node:fs';
import type { TurnConfig } from './config.js';
import type { TurnLogger, TurnServerOptions } from './server.js';

/** Maps the validated app config onto the relay's options (reads the TLS files). */
export function serverOptionsFromConfig(config: TurnConfig, logger?: TurnLogger, worker?: { index: number; count: number }): TurnServerOptions {
  const { tls } = config;
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new TypeError('tls.certFile and tls.keyFile must be set together');
  }
  let { portMin, portMax } = config.relay;
  if (portMin > portMax) throw new TypeError(`relay.portMin (${portMin}) is above relay.portMax (${portMax})`);
  if (worker !== undefined && worker.count > 1) {
    // Each worker owns a slice of the relay range, so no two processes race for a port.
    const slice = Math.floor((portMax - portMin + 1) / worker.count);
    if (slice < 1) throw new TypeError('relay port range is smaller than the number of workers');
    portMin = config.relay.portMin + worker.index * slice;
    portMax = worker.index === worker.count - 1 ? config.relay.portMax : portMin + slice - 1;
  }
  return {
    listen: {
      host: config.listen.host,
      udpPort: config.listen.udpPort,
      tcpPort: config.listen.tcpPort,
      ...(tls.certFile !== undefined ? { tlsPort: config.listen.tlsPort, tlsHost: config.listen.tlsHost } : {}),
    },
    realm: config.realm,
    secrets: [config.auth.sharedSecret, ...config.auth.previousSecrets],
    relay: { host: config.relay.host, host6: config.relay.host6, portMin, portMax },
    externalIp: config.relay.externalIp,
    externalIp6: config.relay.externalIp6,
    allowPeers: config.peers.allow,
    denyPeers: config.peers.deny,
    ...(tls.certFile !== undefined && tls.keyFile !== undefined
      ? { tls: { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8'), proxyProtocol: tls.proxyProtocol } }
      : {}),
    lifetimes: config.lifetimes,
    quotas: config.quotas,
    socketBuffers: config.socketBuffers,
    dataPath: config.dataPath,
    logger,
  };
}
