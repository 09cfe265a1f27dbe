import { isIPv6 } from 'node:net';

/**
 * JIDs (RFC 7622). Every address the focus and the bridge receive comes from the network — MUC
 * occupant JIDs, IQ `from`, `item@jid` in presence — so parsing is the first line of defence:
 * `parseJid` accepts a string of any size or content and either returns a valid JID or throws a
 * `JidError`, never anything else.
 *
 * Scope: the RFC 7622 rules that matter for routing and for Prosody interop — part order and
 * separators (§3.1), length limits (§3.2–3.4), the localpart's forbidden characters (§3.3.1),
 * control characters, empty parts, IP literals. Full PRECIS/IDNA2008 preparation is not done:
 * the domain and localpart are NFC-normalised and lower-cased, which is what Prosody's nodeprep
 * and nameprep do for the identifiers Jitsi produces (room names, hex endpoint ids).
 */
export interface Jid {
  readonly local?: string;
  readonly domain: string;
  readonly resource?: string;
}

export type JidPart = 'jid' | 'local' | 'domain' | 'resource';

export type JidErrorReason = 'empty' | 'too-long' | 'forbidden-character' | 'invalid-domain' | 'not-a-string';

export class JidError extends Error {
  /** The RFC 6120 stanza error condition a server answers with for such an address. */
  readonly condition = 'jid-malformed';
  readonly part: JidPart;
  readonly reason: JidErrorReason;

  constructor(part: JidPart, reason: JidErrorReason, detail: string) {
    super(`invalid JID ${part}: ${detail}`);
    this.name = 'JidError';
    this.part = part;
    this.reason = reason;
  }
}

/** RFC 7622 §3.2–3.4: each part is at most 1023 octets of UTF-8. */
export const MAX_PART_OCTETS = 1023;
// Three parts plus the two separators; anything longer cannot be valid, so reject it before
// normalising or encoding (a hostile multi-megabyte "JID" costs nothing).
const MAX_JID_CHARS = 3 * MAX_PART_OCTETS + 2;

// C0 and C1 controls and DEL: disallowed in every PRECIS class (RFC 8264 §9.12). Matching
// control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Unpaired surrogates cannot be encoded as UTF-8, so they cannot be on the wire.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;
// RFC 7622 §3.3.1 forbids these in a localpart; whitespace is excluded by the PRECIS
// IdentifierClass the localpart profile is built on.
const LOCAL_FORBIDDEN = /["&'/:<>@\s]/u;
// Outside an IP literal, a domain is dot-separated labels: no spaces, no URL or XML syntax.
const DOMAIN_FORBIDDEN = /[\s"&'/:<>@[\]\\?#%]/u;

function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function checkCommon(part: Exclude<JidPart, 'jid'>, value: string): void {
  if (value.length === 0) throw new JidError(part, 'empty', `the ${part}part is empty`);
  if (CONTROL.test(value)) throw new JidError(part, 'forbidden-character', 'contains a control character');
  if (LONE_SURROGATE.test(value)) throw new JidError(part, 'forbidden-character', 'contains an unpaired surrogate');
  if (octets(value) > MAX_PART_OCTETS) {
    throw new JidError(part, 'too-long', `the ${part}part is longer than ${MAX_PART_OCTETS} octets`);
  }
}

function prepareLocal(raw: string): string {
  checkCommon('local', raw);
  const local = raw.normalize('NFC').toLowerCase();
  const bad = LOCAL_FORBIDDEN.exec(local);
  if (bad !== null) throw new JidError('local', 'forbidden-character', `contains forbidden character ${JSON.stringify(bad[0])}`);
  checkCommon('local', local);
  return local;
}

function prepareDomain(raw: string): string {
  checkCommon('domain', raw);
  if (raw.startsWith('[')) {
    // RFC 7622 §3.2: an IPv6 address as a domainpart is written as an IP-literal, `[::1]`.
    if (!raw.endsWith(']') || !isIPv6(raw.slice(1, -1))) {
      throw new JidError('domain', 'invalid-domain', 'not a valid IPv6 literal');
    }
    return raw.toLowerCase();
  }
  // §3.2: a trailing label separator is stripped before any other check.
  const stripped = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const domain = stripped.normalize('NFC').toLowerCase();
  if (domain.length === 0) throw new JidError('domain', 'empty', 'the domainpart is empty');
  const bad = DOMAIN_FORBIDDEN.exec(domain);
  if (bad !== null) throw new JidError('domain', 'forbidden-character', `contains forbidden character ${JSON.stringify(bad[0])}`);
  for (const label of domain.split('.')) {
    if (label.length === 0) throw new JidError('domain', 'invalid-domain', 'has an empty label');
    // DNS limit (RFC 1035 §2.3.4), for the ASCII labels that can be checked without IDNA.
    if (/^[\u0020-\u007e]+$/.test(label) && label.length > 63) {
      throw new JidError('domain', 'invalid-domain', 'has a label longer than 63 characters');
    }
  }
  checkCommon('domain', domain);
  return domain;
}

function prepareResource(raw: string): string {
  checkCommon('resource', raw);
  // OpaqueString (RFC 8265 §4.2): case and characters are preserved, only NFC applies.
  const resource = raw.normalize('NFC');
  checkCommon('resource', resource);
  return resource;
}

/**
 * Parses `[local@]domain[/resource]`. RFC 7622 §3.1: the resource is everything after the first
 * `/` (it may itself contain `@` and `/`), the local part everything before the first `@` of
 * what remains.
 */
export function parseJid(input: unknown): Jid {
  if (typeof input !== 'string') throw new JidError('jid', 'not-a-string', `expected a string, got ${typeof input}`);
  if (input.length === 0) throw new JidError('jid', 'empty', 'the JID is empty');
  if (input.length > MAX_JID_CHARS) throw new JidError('jid', 'too-long', `longer than ${MAX_JID_CHARS} characters`);

  const slash = input.indexOf('/');
  const beforeResource = slash === -1 ? input : input.slice(0, slash);
  const at = beforeResource.indexOf('@');
  const local = at === -1 ? undefined : prepareLocal(beforeResource.slice(0, at));
  const domain = prepareDomain(at === -1 ? beforeResource : beforeResource.slice(at + 1));
  const resource = slash === -1 ? undefined : prepareResource(input.slice(slash + 1));
  return makeJid(local, domain, resource);
}

function makeJid(local: string | undefined, domain: string, resource: string | undefined): Jid {
  return Object.freeze({
    ...(local === undefined ? {} : { local }),
    domain,
    ...(resource === undefined ? {} : { resource }),
  });
}

/** Builds a JID from parts, applying the same rules as `parseJid` (throws `JidError`). */
export function jid(parts: { local?: string | undefined; domain: string; resource?: string | undefined }): Jid {
  return makeJid(
    parts.local === undefined ? undefined : prepareLocal(parts.local),
    prepareDomain(parts.domain),
    parts.resource === undefined ? undefined : prepareResource(parts.resource),
  );
}

export function formatJid(value: Jid): string {
  const checked = jid(value);
  const local = checked.local === undefined ? '' : `${checked.local}@`;
  const resource = checked.resource === undefined ? '' : `/${checked.resource}`;
  return `${local}${checked.domain}${resource}`;
}

/** The JID without its resource: a MUC room, an account. */
export function bareJid(value: Jid): Jid {
  return jid({ local: value.local, domain: value.domain });
}

export function jidEquals(a: Jid, b: Jid): boolean {
  return a.local === b.local && a.domain === b.domain && a.resource === b.resource;
}
