import { z } from 'zod';

/**
 * The claims a Jitsi-style token carries (jitsi-client-protocol.md §1.2, ljm `doc/tokens.md`),
 * checked for shape after the signature: a wrong type is `invalid_claims`, never a crash.
 * Unknown claims are allowed and not returned.
 */
const text = z.string().max(1024);
const flag = z.union([z.boolean(), z.enum(['true', 'false'])]);

export const tokenClaimsSchema = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
  sub: z.string().max(256).optional(),
  room: z.string().max(256).optional(),
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
      features: z.record(z.string().max(64), z.union([z.boolean(), z.string().max(64)])).optional(),
    })
    .optional(),
});

export type RawClaims = z.output<typeof tokenClaimsSchema>;

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

export function toVerifiedClaims(raw: RawClaims & { room: string }, kid: string | undefined, alg: string): VerifiedClaims {
  const user = raw.context?.user;
  const affiliation = user?.affiliation;
  return {
    iss: raw.iss,
    aud: typeof raw.aud === 'string' ? [raw.aud] : raw.aud,
    sub: raw.sub,
    room: raw.room,
    exp: raw.exp,
    nbf: raw.nbf,
    user: {
      ...(user?.id === undefined ? {} : { id: user.id }),
      ...(user?.name === undefined ? {} : { name: user.name }),
      ...(user?.email === undefined ? {} : { email: user.email }),
      ...(user?.avatar === undefined ? {} : { avatar: user.avatar }),
    },
    moderator: isTrue(raw.moderator) || isTrue(user?.moderator) || affiliation === 'owner' || affiliation === 'moderator',
    affiliation,
    group: raw.context?.group,
    features: raw.context?.features,
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
