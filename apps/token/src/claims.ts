import { z } from 'zod';

/**
 * The claims a Jitsi-style token carries (jitsi-client-protocol.md §1.2, ljm `doc/tokens.md`),
 * checked for shape after the signature: a wrong type is `invalid_claims`, never a crash.
 * Unknown claims are allowed and not returned.
 *
 * This zod schema is the specification. `/v1/verify` runs {@link claimTypeError}, a hand-written
 * equivalent without zod's per-call allocations; `test/claims.test.ts` checks on hostile and
 * random claim sets that both accept the same sets and report the same first bad claim.
 */
const TEXT_MAX = 1024;
const SHORT_MAX = 256;
const FEATURE_MAX = 64;
const AFFILIATIONS: ReadonlySet<unknown> = new Set(['owner', 'moderator', 'member', 'none']);
const text = z.string().max(TEXT_MAX);
const flag = z.union([z.boolean(), z.enum(['true', 'false'])]);

export const tokenClaimsSchema = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
  sub: z.string().max(SHORT_MAX).optional(),
  room: z.string().max(SHORT_MAX).optional(),
  moderator: flag.optional(),
  context: z
    .object({
      user: z
        .object({
          id: text.optional(),
          name: text.optional(),
          email: text.optional(),
          avatar: text.optional(),
          moderator: flag.optional(),
          affiliation: z.enum(['owner', 'moderator', 'member', 'none']).optional(),
        })
        .optional(),
      group: text.optional(),
      features: z.record(z.string().max(FEATURE_MAX), z.union([z.boolean(), z.string().max(FEATURE_MAX)])).optional(),
    })
    .optional(),
});

export type RawClaims = z.output<typeof tokenClaimsSchema>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);
const isText = (value: unknown, max: number): boolean => typeof value === 'string' && value.length <= max;
const isFlag = (value: unknown): boolean => typeof value === 'boolean' || value === 'true' || value === 'false';
const isAudience = (value: unknown): boolean => typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));

/** Ordered as the schema's keys, so the first failure is the one zod reports first. */
function userError(user: Record<string, unknown>): string | undefined {
  if (user['id'] !== undefined && !isText(user['id'], TEXT_MAX)) return 'context.user.id';
  if (user['name'] !== undefined && !isText(user['name'], TEXT_MAX)) return 'context.user.name';
  if (user['email'] !== undefined && !isText(user['email'], TEXT_MAX)) return 'context.user.email';
  if (user['avatar'] !== undefined && !isText(user['avatar'], TEXT_MAX)) return 'context.user.avatar';
  if (user['moderator'] !== undefined && !isFlag(user['moderator'])) return 'context.user.moderator';
  if (user['affiliation'] !== undefined && !AFFILIATIONS.has(user['affiliation'])) return 'context.user.affiliation';
  return undefined;
}

function contextError(context: Record<string, unknown>): string | undefined {
  const user = context['user'];
  if (user !== undefined) {
    if (!isObject(user)) return 'context.user';
    const error = userError(user);
    if (error !== undefined) return error;
  }
  if (context['group'] !== undefined && !isText(context['group'], TEXT_MAX)) return 'context.group';
  const features = context['features'];
  if (features !== undefined) {
    if (!isObject(features)) return 'context.features';
    for (const name of Object.keys(features)) {
      // As zod's record: a `__proto__` key (an own key after JSON.parse) is skipped, never checked or kept.
      if (name === '__proto__') continue;
      const value = features[name];
      if (name.length > FEATURE_MAX || !(typeof value === 'boolean' || isText(value, FEATURE_MAX))) return `context.features.${name}`;
    }
  }
  return undefined;
}

/**
 * The dotted path of the first claim that does not fit {@link tokenClaimsSchema} (the path zod's
 * first issue names; `''` when the payload is not an object), or `undefined` when it fits — then
 * the payload may be read as {@link RawClaims}. Reads, never copies: unknown claims stay in the
 * object but nothing reads them.
 */
export function claimTypeError(payload: unknown): string | undefined {
  if (!isObject(payload)) return '';
  if (typeof payload['iss'] !== 'string') return 'iss';
  if (!isAudience(payload['aud'])) return 'aud';
  if (!isNumber(payload['exp'])) return 'exp';
  if (payload['nbf'] !== undefined && !isNumber(payload['nbf'])) return 'nbf';
  if (payload['iat'] !== undefined && !isNumber(payload['iat'])) return 'iat';
  if (payload['sub'] !== undefined && !isText(payload['sub'], SHORT_MAX)) return 'sub';
  if (payload['room'] !== undefined && !isText(payload['room'], SHORT_MAX)) return 'room';
  if (payload['moderator'] !== undefined && !isFlag(payload['moderator'])) return 'moderator';
  const context = payload['context'];
  if (context === undefined) return undefined;
  if (!isObject(context)) return 'context';
  return contextError(context);
}

/** What `/v1/verify` answers: the claims Prosody stamps into presence and the focus acts on. */
export interface VerifiedClaims {
  iss: string;
  aud: string[];
  sub: string | undefined;
  room: string;
  exp: number;
  nbf: number | undefined;
  user: { id?: string; name?: string; email?: string; avatar?: string };
  /** True from `moderator`, `context.user.moderator` or an owner/moderator affiliation. */
  moderator: boolean;
  affiliation: string | undefined;
  group: string | undefined;
  features: Record<string, boolean | string> | undefined;
  kid: string | undefined;
  alg: string;
}

function isTrue(value: boolean | 'true' | 'false' | undefined): boolean {
  return value === true || value === 'true';
}

/** A copy of the features record with zod's output semantics: a `__proto__` key is not kept (and was not checked). */
function copyFeatures(features: Record<string, boolean | string>): Record<string, boolean | string> {
  const copy: Record<string, boolean | string> = {};
  for (const name of Object.keys(features)) if (name !== '__proto__') copy[name] = features[name] as boolean | string;
  return copy;
}

/** The answer of `/v1/verify` from claims that passed {@link claimTypeError} (or the zod schema). */
export function toVerifiedClaims(raw: RawClaims, room: string, kid: string | undefined, alg: string): VerifiedClaims {
  const context = raw.context;
  const user = context?.user;
  const affiliation = user?.affiliation;
  const out: VerifiedClaims['user'] = {};
  if (user !== undefined) {
    if (user.id !== undefined) out.id = user.id;
    if (user.name !== undefined) out.name = user.name;
    if (user.email !== undefined) out.email = user.email;
    if (user.avatar !== undefined) out.avatar = user.avatar;
  }
  return {
    iss: raw.iss,
    aud: typeof raw.aud === 'string' ? [raw.aud] : raw.aud,
    sub: raw.sub,
    room,
    exp: raw.exp,
    nbf: raw.nbf,
    user: out,
    moderator: isTrue(raw.moderator) || isTrue(user?.moderator) || affiliation === 'owner' || affiliation === 'moderator',
    affiliation,
    group: context?.group,
    features: context?.features === undefined ? undefined : copyFeatures(context.features),
    kid,
    alg,
  };
}

/**
 * Room match rules (docs/jwt.md "Claim reference"):
 * - `room: "*"` matches every room;
 * - otherwise the claim must equal the room's name after Unicode NFKC normalisation and lower-casing
 *   on both sides: Prosody nodepreps room JIDs (lower-case), so `MyRoom` in a token names the room
 *   `myroom@conference.<domain>`;
 * - nothing else is a wildcard (no prefixes, no patterns).
 */
export function normaliseRoom(room: string): string {
  return room.normalize('NFKC').toLowerCase();
}

export function roomMatches(claim: string, room: string): boolean {
  return claim === '*' || normaliseRoom(claim) === normaliseRoom(room);
}
