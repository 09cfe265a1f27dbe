// XEP-0215 external service discovery, as ljm uses it for STUN/TURN (`spec/jitsi-client-protocol.md` §1.3):
// `<services xmlns="urn:xmpp:extdisco:2" [type]/>` in an IQ get, answered with `<service>` children. ljm
// retries with `urn:xmpp:extdisco:1` after an error, so both versions parse.
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import { appendAll, children, el, fail, localName, nsOf, optBool, optString, optToken, optUint, reqToken } from './read.js';

export type ExtdiscoNamespace = typeof NS.EXTDISCO | typeof NS.EXTDISCO_1;

export interface ExternalService {
  /** `stun`, `turn`, `turns` (others carried verbatim). */
  readonly type: string;
  readonly host: string;
  readonly port?: number;
  /** `udp` / `tcp`; ljm keeps only `transport=tcp` TURN entries for the bridge connection. */
  readonly transport?: string;
  readonly username?: string;
  readonly password?: string;
  /** XEP-0082 date-time, verbatim. */
  readonly expires?: string;
  /** Credentials are time-limited (Prosody writes `1`). */
  readonly restricted?: boolean;
  readonly name?: string;
}

export interface ServicesRequest {
  readonly ns: ExtdiscoNamespace;
  readonly type?: string;
}

export interface ServicesResponse {
  readonly ns: ExtdiscoNamespace;
  readonly type?: string;
  readonly services: readonly ExternalService[];
}

function servicesElement(input: Element, path: string): { e: Element; ns: ExtdiscoNamespace } {
  const ns = nsOf(input);
  if (localName(input) !== 'services' || (ns !== NS.EXTDISCO && ns !== NS.EXTDISCO_1)) {
    fail(path, `expected <services xmlns="${NS.EXTDISCO}">`);
  }
  return { e: input, ns };
}

export function parseServicesRequest(input: Element): ServicesRequest {
  const path = 'services';
  const { e, ns } = servicesElement(input, path);
  if (children(e, 'service', ns).length > 0) fail(`${path}/service`, 'a request carries no services');
  const type = optToken(e, 'type', path);
  return { ns, ...(type === undefined ? {} : { type }) };
}

export function buildServicesRequest(r: ServicesRequest): Element {
  return el('services', { xmlns: r.ns, type: r.type });
}

export function parseServicesResponse(input: Element): ServicesResponse {
  const path = 'services';
  const { e, ns } = servicesElement(input, path);
  const type = optToken(e, 'type', path);
  return {
    ns,
    ...(type === undefined ? {} : { type }),
    services: children(e, 'service', ns).map((s, i) => {
      const sp = `${path}/service[${i}]`;
      const port = optUint(s, 'port', sp, 0, 65535);
      const transport = optToken(s, 'transport', sp);
      const username = optString(s, 'username', sp);
      const password = optString(s, 'password', sp);
      const expires = optToken(s, 'expires', sp);
      const restricted = optBool(s, 'restricted', sp);
      const name = optString(s, 'name', sp);
      return {
        type: reqToken(s, 'type', sp),
        host: reqToken(s, 'host', sp),
        ...(port === undefined ? {} : { port }),
        ...(transport === undefined ? {} : { transport }),
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        ...(expires === undefined ? {} : { expires }),
        ...(restricted === undefined ? {} : { restricted }),
        ...(name === undefined ? {} : { name }),
      };
    }),
  };
}

export function buildServicesResponse(r: ServicesResponse): Element {
  return appendAll(
    el('services', { xmlns: r.ns, type: r.type }),
    r.services.map((s) => el('service', {
      type: s.type, host: s.host, port: s.port, transport: s.transport, username: s.username, password: s.password,
      expires: s.expires, restricted: s.restricted === undefined ? undefined : s.restricted ? '1' : '0', name: s.name,
    })),
  );
}
