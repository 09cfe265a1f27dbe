// RTP description pieces shared by Jingle (`spec/jitsi-client-protocol.md` §4.2–4.4) and COLIBRI2 `<media>` /
// `<sources>` (`spec/jicofo-jvb.md` §3.2): payload types (XEP-0167) with fmtp parameters and rtcp-fb
// (XEP-0293), header extensions (XEP-0294), sources and ssrc-groups (XEP-0339) with Jitsi's `name`,
// `videoType` and `ssrc-info@owner`.
import { NS } from '../namespaces.js';
import type { Element } from '../xml.js';
import {
  MAX_SSRC, appendAll, children, el, fail, optString, optToken, optUint, reqToken, reqUint,
} from './read.js';

export interface FmtpParameter {
  /** jitsi-client-protocol §4.2: "name may be omitted" (the value is then a bare fmtp token). */
  readonly name?: string;
  readonly value: string;
}

export interface RtcpFb {
  readonly type: string;
  readonly subtype?: string;
}

export interface PayloadType {
  /** RTP payload type, 0..127. */
  readonly id: number;
  readonly name?: string;
  readonly clockrate?: number;
  readonly channels?: number;
  readonly ptime?: number;
  readonly maxptime?: number;
  readonly parameters: readonly FmtpParameter[];
  readonly rtcpFbs: readonly RtcpFb[];
}

export interface HeaderExtension {
  /** RFC 8285 extension id, 1..255. */
  readonly id: number;
  readonly uri: string;
  readonly senders?: string;
}

export interface SourceParameter {
  readonly name: string;
  readonly value?: string;
}

/** A `<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0">`. */
export interface RtpSource {
  readonly ssrc: number;
  /** Jitsi source name, `<ep>-a0` / `<ep>-v0` (jitsi-client-protocol §4.5). */
  readonly name?: string;
  /** `camera` / `desktop` (absent means camera). */
  readonly videoType?: string;
  /** Usually one `msid` parameter (§4.2: required on every real remote source). */
  readonly parameters: readonly SourceParameter[];
  /** `<ssrc-info xmlns="http://jitsi.org/jitmeet" owner>`: the owner's endpoint id, or `jvb`. */
  readonly owner?: string;
}

export type SsrcGroupSemantics = string;

export interface SsrcGroup {
  /** `FID` (primary, rtx), `SIM` (low → high), `FEC`; others are carried verbatim. */
  readonly semantics: SsrcGroupSemantics;
  readonly ssrcs: readonly number[];
}

const fbNs = NS.JINGLE_RTCP_FB;
const hdrNs = NS.JINGLE_RTP_HDREXT;
const ssmaNs = NS.JINGLE_SSMA;

export function parseRtcpFb(e: Element, path: string): RtcpFb {
  const subtype = optToken(e, 'subtype', path);
  return { type: reqToken(e, 'type', path), ...(subtype === undefined ? {} : { subtype }) };
}

export function buildRtcpFb(fb: RtcpFb): Element {
  return el('rtcp-fb', { xmlns: fbNs, type: fb.type, subtype: fb.subtype });
}

/** A `<payload-type>` (XEP-0167) with its `<parameter>`s (fmtp) and `<rtcp-fb>`s (XEP-0293). */
export function parsePayloadType(e: Element, path: string): PayloadType {
  const name = optToken(e, 'name', path);
  const clockrate = optUint(e, 'clockrate', path, 1, 0xffffffff);
  const channels = optUint(e, 'channels', path, 1, 255);
  const ptime = optUint(e, 'ptime', path, 0, 0xffff);
  const maxptime = optUint(e, 'maxptime', path, 0, 0xffff);
  return {
    id: reqUint(e, 'id', path, 0, 127),
    ...(name === undefined ? {} : { name }),
    ...(clockrate === undefined ? {} : { clockrate }),
    ...(channels === undefined ? {} : { channels }),
    ...(ptime === undefined ? {} : { ptime }),
    ...(maxptime === undefined ? {} : { maxptime }),
    parameters: children(e, 'parameter', NS.JINGLE_RTP).map((p, i) => {
      const pp = `${path}/parameter[${i}]`;
      const pname = optString(p, 'name', pp);
      const value = optString(p, 'value', pp);
      if (value === undefined) fail(`${pp}@value`, 'required attribute missing');
      return pname === undefined ? { value } : { name: pname, value };
    }),
    rtcpFbs: children(e, 'rtcp-fb', fbNs).map((f, i) => parseRtcpFb(f, `${path}/rtcp-fb[${i}]`)),
  };
}

export function buildPayloadType(pt: PayloadType, xmlns?: string): Element {
  const e = el('payload-type', {
    ...(xmlns === undefined ? {} : { xmlns }),
    id: pt.id, name: pt.name, clockrate: pt.clockrate, channels: pt.channels, ptime: pt.ptime, maxptime: pt.maxptime,
  });
  for (const p of pt.parameters) e.cnode(el('parameter', { name: p.name, value: p.value }));
  return appendAll(e, pt.rtcpFbs.map(buildRtcpFb));
}

export function parseHeaderExtension(e: Element, path: string): HeaderExtension {
  const senders = optToken(e, 'senders', path);
  return {
    id: reqUint(e, 'id', path, 1, 255),
    uri: reqToken(e, 'uri', path),
    ...(senders === undefined ? {} : { senders }),
  };
}

export function buildHeaderExtension(h: HeaderExtension): Element {
  return el('rtp-hdrext', { xmlns: hdrNs, id: h.id, uri: h.uri, senders: h.senders });
}

export function parseSource(e: Element, path: string): RtpSource {
  const name = optToken(e, 'name', path);
  const videoType = optToken(e, 'videoType', path);
  const infos = children(e, 'ssrc-info', NS.JITMEET);
  if (infos.length > 1) fail(`${path}/ssrc-info`, 'more than one <ssrc-info>');
  const info = infos[0];
  const owner = info === undefined ? undefined : reqToken(info, 'owner', `${path}/ssrc-info`);
  return {
    ssrc: reqUint(e, 'ssrc', path, 0, MAX_SSRC),
    ...(name === undefined ? {} : { name }),
    ...(videoType === undefined ? {} : { videoType }),
    parameters: children(e, 'parameter', ssmaNs).map((p, i) => {
      const pp = `${path}/parameter[${i}]`;
      const value = optString(p, 'value', pp);
      return { name: reqToken(p, 'name', pp), ...(value === undefined ? {} : { value }) };
    }),
    ...(owner === undefined ? {} : { owner }),
  };
}

export function buildSource(s: RtpSource): Element {
  const e = el('source', { xmlns: ssmaNs, ssrc: s.ssrc, name: s.name, videoType: s.videoType });
  for (const p of s.parameters) e.cnode(el('parameter', { name: p.name, value: p.value }));
  if (s.owner !== undefined) e.cnode(el('ssrc-info', { xmlns: NS.JITMEET, owner: s.owner }));
  return e;
}

/** The msid parameter of a source, if any. */
export function sourceMsid(s: RtpSource): string | undefined {
  return s.parameters.find((p) => p.name === 'msid')?.value;
}

export function parseSsrcGroup(e: Element, path: string): SsrcGroup {
  const ssrcs = children(e, 'source', ssmaNs).map((s, i) => reqUint(s, 'ssrc', `${path}/source[${i}]`, 0, MAX_SSRC));
  if (ssrcs.length === 0) fail(`${path}/source`, 'an ssrc-group needs at least one source');
  return { semantics: reqToken(e, 'semantics', path), ssrcs };
}

export function buildSsrcGroup(g: SsrcGroup): Element {
  return appendAll(el('ssrc-group', { xmlns: ssmaNs, semantics: g.semantics }), g.ssrcs.map((ssrc) => el('source', { ssrc })));
}

export function parseSources(parent: Element, path: string): { sources: RtpSource[]; ssrcGroups: SsrcGroup[] } {
  return {
    sources: children(parent, 'source', ssmaNs).map((s, i) => parseSource(s, `${path}/source[${i}]`)),
    ssrcGroups: children(parent, 'ssrc-group', ssmaNs).map((g, i) => parseSsrcGroup(g, `${path}/ssrc-group[${i}]`)),
  };
}

export { hdrNs as HDREXT_NS };
