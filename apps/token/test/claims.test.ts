import { describe, expect, it } from 'vitest';
import { claimTypeError, tokenClaimsSchema, toVerifiedClaims, type RawClaims } from '../src/claims.js';

// /v1/verify checks claim types with the hand-written claimTypeError; the zod schema is the
// specification. Both must accept exactly the same claim sets and name the same first bad claim.

function zodVerdict(payload: unknown): { path: string | undefined; data: RawClaims | undefined } {
  const parsed = tokenClaimsSchema.safeParse(payload);
  if (parsed.success) return { path: undefined, data: parsed.data };
  return { path: parsed.error.issues[0]?.path.join('.') ?? '?', data: undefined };
}

function expectSameVerdict(payload: unknown): void {
  const zod = zodVerdict(payload);
  const ours = claimTypeError(payload);
  expect(ours, JSON.stringify(payload)).toBe(zod.path);
  if (zod.data !== undefined) {
    // The answer built from the unparsed payload equals the one built from zod's output.
    expect(toVerifiedClaims(payload as RawClaims, 'r', 'k', 'HS256')).toStrictEqual(toVerifiedClaims(zod.data, 'r', 'k', 'HS256'));
  }
}

const base = { iss: 'app', aud: 'jitsi', exp: 2_000_000_000 };
const long = (n: number): string => 'x'.repeat(n);

describe('claimTypeError agrees with the zod claims schema', () => {
  const hostile: [string, unknown][] = [
    ['valid minimal', base],
    ['valid full', { ...base, nbf: 1, iat: 1, sub: '*', room: 'r', moderator: 'true', context: { user: { id: 'a', name: 'n', email: 'e', avatar: 'v', moderator: false, affiliation: 'owner' }, group: 'g', features: { recording: true, x: 'y' } } }],
    ['not an object', 'claims'],
    ['an array', [base]],
    ['null', null],
    ['iss missing', { aud: 'jitsi', exp: 1 }],
    ['iss a number', { ...base, iss: 1 }],
    ['aud a number', { ...base, aud: 1 }],
    ['aud with a number inside', { ...base, aud: ['jitsi', 1] }],
    ['aud empty array', { ...base, aud: [] }],
    ['aud an object', { ...base, aud: { 0: 'jitsi' } }],
    ['exp a string', { ...base, exp: '2000000000' }],
    ['exp overflowing to Infinity', JSON.parse('{"iss":"app","aud":"jitsi","exp":1e400}')],
    ['exp null', { ...base, exp: null }],
    ['nbf a string', { ...base, nbf: '1' }],
    ['iat a boolean', { ...base, iat: true }],
    ['sub too long', { ...base, sub: long(257) }],
    ['sub at the limit', { ...base, sub: long(256) }],
    ['room too long', { ...base, room: long(257) }],
    ['room an array', { ...base, room: ['r'] }],
    ['moderator an object', { ...base, moderator: { admin: true } }],
    ['moderator "TRUE"', { ...base, moderator: 'TRUE' }],
    ['moderator 1', { ...base, moderator: 1 }],
    ['context null', { ...base, context: null }],
    ['context a string', { ...base, context: 'x' }],
    ['context an array', { ...base, context: [] }],
    ['user an array', { ...base, context: { user: [] } }],
    ['user null', { ...base, context: { user: null } }],
    ['user.id a number', { ...base, context: { user: { id: 1 } } }],
    ['user.name too long', { ...base, context: { user: { name: long(1025) } } }],
    ['user.name at the limit', { ...base, context: { user: { name: long(1024) } } }],
    ['user.email an object', { ...base, context: { user: { email: {} } } }],
    ['user.avatar null', { ...base, context: { user: { avatar: null } } }],
    ['user.moderator "yes"', { ...base, context: { user: { moderator: 'yes' } } }],
    ['user.affiliation "admin"', { ...base, context: { user: { affiliation: 'admin' } } }],
    ['user.affiliation "Owner"', { ...base, context: { user: { affiliation: 'Owner' } } }],
    ['group a number', { ...base, context: { group: 1 } }],
    ['features an array', { ...base, context: { features: ['a'] } }],
    ['features null', { ...base, context: { features: null } }],
    ['feature value a number', { ...base, context: { features: { a: 1 } } }],
    ['feature value too long', { ...base, context: { features: { a: long(65) } } }],
    ['feature name too long', { ...base, context: { features: { [long(65)]: true } } }],
    ['feature name and value bad', { ...base, context: { features: { [long(65)]: 1 } } }],
    ['numeric feature names', { ...base, context: { features: { 2: true, 1: 'x', b: false } } }],
    ['__proto__ feature (JSON)', JSON.parse('{"iss":"app","aud":"jitsi","exp":1,"context":{"features":{"__proto__":true,"x":"y"}}}')],
    ['__proto__ feature of a bad type (JSON)', JSON.parse('{"iss":"app","aud":"jitsi","exp":1,"context":{"features":{"__proto__":{"a":1}}}}')],
    ['__proto__ user (JSON)', JSON.parse('{"iss":"app","aud":"jitsi","exp":1,"context":{"user":{"__proto__":{"id":1}}}}')],
    ['__proto__ at the top (JSON)', JSON.parse('{"iss":"app","aud":"jitsi","exp":1,"__proto__":{"room":1}}')],
    ['unknown claims everywhere', { ...base, x: 1, context: { y: [], user: { z: {} }, features: { ok: true } } }],
    ['two bad claims: first reported', { ...base, sub: 1, room: 2, context: { user: { id: 3 } } }],
  ];
  it.each(hostile)('%s', (_name, payload) => expectSameVerdict(payload));

  it('agrees on 5000 random claim sets (valid and invalid values mixed)', () => {
    // A small deterministic PRNG (mulberry32) so a failure reproduces.
    let seed = 0x4b1d;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const junk = [undefined, null, 0, -1, 1.5, Number.MAX_VALUE, true, false, '', 'true', 'false', 'owner', 'x', long(64), long(65), long(256), long(257), long(1024), long(1025), [], ['a'], [1], {}, { a: 1 }];
    const maybe = (good: readonly unknown[]): unknown => (random() < 0.7 ? pick(good) : pick(junk));
    const object = (entries: [string, unknown][]): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) if (v !== undefined && random() < 0.8) out[k] = v;
      return out;
    };
    for (let i = 0; i < 5000; i++) {
      const features = random() < 0.8 ? Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(['a', 'b', long(64), long(65), '__proto__', '1']), maybe([true, false, 'on', long(64)])])) : pick(junk);
      const user = random() < 0.8 ? object([['id', maybe(['alice', long(1024)])], ['name', maybe(['Alice'])], ['email', maybe(['a@b'])], ['avatar', maybe(['https://a'])], ['moderator', maybe([true, false, 'true', 'false'])], ['affiliation', maybe(['owner', 'moderator', 'member', 'none'])]]) : pick(junk);
      const context = random() < 0.8 ? object([['user', user], ['group', maybe(['g', long(1024)])], ['features', features]]) : pick(junk);
      const payload = object([
        ['iss', maybe(['app'])],
        ['aud', maybe(['jitsi', ['jitsi', 'other']])],
        ['exp', maybe([2_000_000_000])],
        ['nbf', maybe([1])],
        ['iat', maybe([1])],
        ['sub', maybe(['*', 'tenant', long(256)])],
        ['room', maybe(['r1', '*', long(256)])],
        ['moderator', maybe([true, false, 'true', 'false'])],
        ['context', context],
      ]);
      // Through JSON, as jose hands the payload over (also turns `__proto__` into an own key).
      expectSameVerdict(JSON.parse(JSON.stringify(payload)));
    }
  });
});
