// The ICE-UDP transport (XEP-0176) with the DTLS fingerprint (XEP-0320), Jitsi's colibri-ws
// `<web-socket>` and `ice-generation`, and the legacy `<sctpmap>` (jitsi-client-protocol §4.2, §4.7;
// jicofo-jvb §3.4). Shared by Jingle contents and COLIBRI2 endpoint transports.
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import {
  appendAll, children, el, expectElement, fail, optEnum, optToken, optUint, reqEnum, reqString, reqToken, reqUint,
  singleChild, text, withText, optBool,
} from './read.js';

export const DTLS_SETUP = ['actpass', 'active', 'passive', 'holdconn'] as const;
export type DtlsSetup = (typeof DTLS_SETUP)[number];

export interface DtlsFingerprint {
  /** Hash function, e.g. `sha-256` (jitsi-client-protocol §4.2: send exactly one, sha-256). */
  readonly hash: string;
  readonly setup?: DtlsSetup;
  /** Colon-separated hex as written on the wire (case preserved; see `normalizeFingerprint`). */
  readonly value: string;
  /** jicofo-jvb §3.4: `cryptex="true"` (RFC 9335) when the bridge offers it. */
  readonly cryptex?: boolean;
}

export const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'] as const;
export type CandidateType = (typeof CANDIDATE_TYPES)[number];

export interface IceCandidate {
  readonly component: number;
  readonly foundation: string;
  readonly generation?: number;
  readonly id?: string;
  readonly ip: string;
  readonly network?: number;
  readonly port: number;
  readonly priority: number;
  /** `udp` or `tcp` (compared case-insensitively by browsers; carried verbatim). */
  readonly protocol: string;
  readonly type: CandidateType;
  readonly relAddr?: string;
  readonly relPort?: number;
  /** For TCP candidates: `active` / `passive` / `so` (the bridge offers `passive`, §8.2). */
  readonly tcptype?: string;
}

export interface SctpMap {
  readonly number: number;
  readonly protocol: string;
  readonly streams?: number;
}

export interface IceUdpTransport {
  readonly ufrag?: string;
  readonly pwd?: string;
  /** jitsi-client-protocol §4.7: in-place ICE restart generation (strictly increasing). */
  readonly iceGeneration?: number;
  readonly fingerprints: readonly DtlsFingerprint[];
  readonly candidates: readonly IceCandidate[];
  /** colibri-ws bridge-channel URLs (`<web-socket xmlns="http://jitsi.org/protocol/colibri" url>`), §5.2. */
  readonly webSockets: readonly string[];
  readonly rtcpMux: boolean;
  readonly sctpmap?: SctpMap;
}

const iceNs = NS.JINGLE_ICE_UDP;

function parseFingerprint(e: Element, path: string): DtlsFingerprint {
  const setup = optEnum(e, 'setup', path, DTLS_SETUP);
  const cryptex = optBool(e, 'cryptex', path);
  const value = text(e, path).trim();
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/.test(value)) fail(path, 'fingerprint is not colon-separated hex');
  return {
    hash: reqToken(e, 'hash', path),
    ...(setup === undefined ? {} : { setup }),
    value,
    ...(cryptex === undefined ? {} : { cryptex }),
  };
}

function buildFingerprint(f: DtlsFingerprint): Element {
  return withText(el('fingerprint', { xmlns: NS.JINGLE_DTLS, hash: f.hash, setup: f.setup, cryptex: f.cryptex }), f.value);
}

function parseCandidate(e: Element, path: string): IceCandidate {
  const generation = optUint(e, 'generation', path, 0, 0xffffffff);
  const id = optToken(e, 'id', path);
  const network = optUint(e, 'network', path, 0, 0xffffffff);
  const relAddr = optToken(e, 'rel-addr', path);
  const relPort = optUint(e, 'rel-port', path, 0, 65535);
  const tcptype = optToken(e, 'tcptype', path);
  const ip = reqToken(e, 'ip', path);
  if (!/^[0-9A-Za-z.:%_-]{1,255}$/.test(ip)) fail(`${path}@ip`, 'not an IP address or host name');
  return {
    component: reqUint(e, 'component', path, 1, 256),
    foundation: reqToken(e, 'foundation', path),
    ...(generation === undefined ? {} : { generation }),
    ...(id === undefined ? {} : { id }),
    ip,
    ...(network === undefined ? {} : { network }),
    port: reqUint(e, 'port', path, 0, 65535),
    priority: reqUint(e, 'priority', path, 0, 0xffffffff),
    protocol: reqToken(e, 'protocol', path),
    type: reqEnum(e, 'type', path, CANDIDATE_TYPES),
    ...(relAddr === undefined ? {} : { relAddr }),
    ...(relPort === undefined ? {} : { relPort }),
    ...(tcptype === undefined ? {} : { tcptype }),
  };
}

function buildCandidate(c: IceCandidate): Element {
  return el('candidate', {
    component: c.component, foundation: c.foundation, generation: c.generation, id: c.id, ip: c.ip, network: c.network,
    port: c.port, priority: c.priority, protocol: c.protocol, type: c.type, 'rel-addr': c.relAddr, 'rel-port': c.relPort,
    tcptype: c.tcptype,
  });
}

export function parseIceUdpTransport(input: Element, path = 'transport'): IceUdpTransport {
  const e = expectElement(input, 'transport', iceNs, path);
  const ufrag = optToken(e, 'ufrag', path);
  const pwd = optToken(e, 'pwd', path);
  const iceGeneration = optUint(e, 'ice-generation', path, 0, 0xffffffff);
  const sctp = singleChild(e, 'sctpmap', NS.JINGLE_DTLS_SCTP, path);
  let sctpmap: SctpMap | undefined;
  if (sctp !== undefined) {
    const sp = `${path}/sctpmap`;
    const streams = optUint(sctp, 'streams', sp, 0, 65535);
    sctpmap = {
      number: reqUint(sctp, 'number', sp, 0, 65535),
      protocol: reqToken(sctp, 'protocol', sp),
      ...(streams === undefined ? {} : { streams }),
    };
  }
  return {
    ...(ufrag === undefined ? {} : { ufrag }),
    ...(pwd === undefined ? {} : { pwd }),
    ...(iceGeneration === undefined ? {} : { iceGeneration }),
    fingerprints: children(e, 'fingerprint', NS.JINGLE_DTLS).map((f, i) => parseFingerprint(f, `${path}/fingerprint[${i}]`)),
    candidates: children(e, 'candidate', iceNs).map((c, i) => parseCandidate(c, `${path}/candidate[${i}]`)),
    webSockets: children(e, 'web-socket', NS.COLIBRI).map((w, i) => {
      const wp = `${path}/web-socket[${i}]`;
      const url = reqString(w, 'url', wp);
      if (!/^wss?:\/\/[^\s]+$/.test(url)) fail(`${wp}@url`, 'not a ws:// or wss:// URL');
      return url;
    }),
    rtcpMux: children(e, 'rtcp-mux', iceNs).length > 0,
    ...(sctpmap === undefined ? {} : { sctpmap }),
  };
}

export function buildIceUdpTransport(t: IceUdpTransport): Element {
  const e = el('transport', { xmlns: iceNs, ufrag: t.ufrag, pwd: t.pwd, 'ice-generation': t.iceGeneration });
  appendAll(e, t.fingerprints.map(buildFingerprint));
  appendAll(e, t.webSockets.map((url) => el('web-socket', { xmlns: NS.COLIBRI, url })));
  if (t.rtcpMux) e.cnode(el('rtcp-mux', {}));
  appendAll(e, t.candidates.map(buildCandidate));
  if (t.sctpmap !== undefined) {
    e.cnode(el('sctpmap', { xmlns: NS.JINGLE_DTLS_SCTP, number: t.sctpmap.number, protocol: t.sctpmap.protocol, streams: t.sctpmap.streams }));
  }
  return e;
}

/**
 * mediasoup's `transport.connect({ dtlsParameters })` wants the fingerprint as UPPER-case colon hex
 * (finding recorded with the e2e ICE/DTLS acceptance, commit 3154d2c); browsers may write lower case.
 * Throws MalformedStanzaError when the value is not colon-separated hex.
 */
export function normalizeFingerprint(value: string): string {
  const v = value.trim();
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(v)) fail('fingerprint', 'not colon-separated hex');
  return v.toUpperCase();
}
