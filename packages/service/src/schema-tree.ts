import { z } from 'zod';

/**
 * A read-only view of a zod object schema as a tree of keys. Env overrides, unknown-key checks and
 * the sample renderer all need the same walk; doing it once here keeps the three in agreement.
 */
export type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'array' | 'other';

export interface SchemaLeaf {
  readonly type: 'leaf';
  readonly kind: LeafKind;
  readonly path: readonly string[];
  readonly description: string | undefined;
  /** Present when the schema has a `.default()`; the value the sample shows. */
  readonly defaultValue: { value: unknown } | undefined;
  /** Optional or nullable without a default: absence is fine. */
  readonly optional: boolean;
  /** `.meta({ example })`: shown (commented out) in the sample for keys without a default. */
  readonly example: unknown;
  readonly enumValues: readonly string[] | undefined;
}

export interface SchemaBranch {
  readonly type: 'branch';
  readonly path: readonly string[];
  readonly description: string | undefined;
  readonly children: ReadonlyMap<string, SchemaNode>;
}

export type SchemaNode = SchemaLeaf | SchemaBranch;

interface Unwrapped {
  inner: z.ZodType;
  description: string | undefined;
  example: unknown;
  defaultValue: { value: unknown } | undefined;
  optional: boolean;
}

/** Peel the wrappers that do not change what a key *is* (default, optional, nullable, readonly, pipe). */
function unwrap(schema: z.ZodType): Unwrapped {
  let current: z.ZodType = schema;
  let description: string | undefined;
  let example: unknown;
  let defaultValue: { value: unknown } | undefined;
  let optional = false;
  // Bounded: a schema deeper than this is not a configuration schema.
  for (let depth = 0; depth < 32; depth++) {
    const meta = current.meta();
    description ??= current.description;
    if (example === undefined && meta !== undefined && 'example' in meta) example = meta['example'];
    if (current instanceof z.ZodDefault) {
      defaultValue ??= { value: (current.def as { defaultValue: unknown }).defaultValue };
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      optional = true;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodReadonly) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      break;
    }
  }
  return { inner: current, description, example, defaultValue, optional };
}

function leafKind(schema: z.ZodType): LeafKind {
  if (schema instanceof z.ZodString) return 'string';
  if (schema instanceof z.ZodNumber) return 'number';
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodEnum) return 'enum';
  if (schema instanceof z.ZodArray) return 'array';
  return 'other';
}

export function schemaTree(schema: z.ZodType, path: readonly string[] = []): SchemaNode {
  const u = unwrap(schema);
  if (u.inner instanceof z.ZodObject) {
    const children = new Map<string, SchemaNode>();
    const shape = u.inner.shape as Record<string, z.ZodType>;
    for (const [key, child] of Object.entries(shape)) {
      children.set(key, schemaTree(child, [...path, key]));
    }
    return { type: 'branch', path, description: u.description, children };
  }
  const kind = leafKind(u.inner);
  return {
    type: 'leaf',
    kind,
    path,
    description: u.description,
    defaultValue: u.defaultValue,
    optional: u.optional,
    example: u.example,
    enumValues: u.inner instanceof z.ZodEnum ? (u.inner.options as string[]).map(String) : undefined,
  };
}

export function* leaves(node: SchemaNode): Generator<SchemaLeaf> {
  if (node.type === 'leaf') {
    yield node;
    return;
  }
  for (const child of node.children.values()) yield* leaves(child);
}

/** `sharedSecret` → `SHARED_SECRET`: env names are upper snake case, nesting joined by `__`. */
export function envName(prefix: string, path: readonly string[]): string {
  const parts = path.map((p) =>
    p
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .toUpperCase(),
  );
  return `${prefix}_${parts.join('__')}`;
}
