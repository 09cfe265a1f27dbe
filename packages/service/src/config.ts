import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import { envName, leaves, schemaTree, type SchemaBranch, type SchemaLeaf, type SchemaNode } from './schema-tree.js';

/**
 * Typed configuration: one zod schema per app (ARCHITECTURE.md, rules of the house: "configuration
 * is data"). Precedence, lowest first: schema defaults, the file, environment variables.
 */
export interface ConfigOptions {
  /** Short app name used in messages and the sample header, e.g. `focus`. */
  appName: string;
  /** Env variable prefix without trailing underscore; defaults to `HB_<APPNAME>`. */
  envPrefix?: string;
}

export interface LoadConfigOptions {
  /** Path to a YAML (`.yaml`, `.yml`) or JSON (`.json`) file. Absent: defaults and env only. */
  file?: string | undefined;
  /** Environment to read overrides from; pass `process.env` explicitly (tests pass their own). */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface ConfigDefinition<S extends z.ZodObject> {
  readonly schema: S;
  readonly appName: string;
  readonly envPrefix: string;
  /** The env variable that names the config file, e.g. `HB_FOCUS_CONFIG`. */
  readonly fileEnvName: string;
  /** Env variable name for each dotted key, in schema order (documentation and tests use it). */
  readonly envNames: ReadonlyMap<string, string>;
  loadConfig(options?: LoadConfigOptions): Readonly<z.output<S>>;
  renderSample(): string;
}

export function defineConfig<S extends z.ZodObject>(schema: S, options: ConfigOptions): ConfigDefinition<S> {
  const appName = options.appName;
  const envPrefix = options.envPrefix ?? `HB_${appName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
  const fileEnvName = `${envPrefix}_CONFIG`;
  const tree = schemaTree(schema);
  if (tree.type !== 'branch') throw new TypeError('a configuration schema must be a zod object');

  const envNames = new Map<string, string>();
  const leafByEnv = new Map<string, SchemaLeaf>();
  for (const leaf of leaves(tree)) {
    const name = envName(envPrefix, leaf.path);
    // Two keys mapping to one variable (`fooBar` and `foo_bar`) would make an override ambiguous.
    if (leafByEnv.has(name) || name === fileEnvName) {
      throw new TypeError(`config key ${leaf.path.join('.')} maps to env ${name}, which is already taken`);
    }
    envNames.set(leaf.path.join('.'), name);
    leafByEnv.set(name, leaf);
  }

  return {
    schema,
    appName,
    envPrefix,
    fileEnvName,
    envNames,
    loadConfig(loadOptions = {}) {
      const issues: ConfigIssue[] = [];
      const input = loadOptions.file === undefined ? {} : readConfigFile(appName, loadOptions.file);
      const envSourced = applyEnv(input, envPrefix, fileEnvName, leafByEnv, loadOptions.env ?? {}, issues);
      issues.push(...unknownKeys(tree, input, []));
      fillBranches(tree, input);
      const result = schema.safeParse(input);
      if (!result.success) {
        for (const issue of result.error.issues) issues.push(describeIssue(issue, envSourced));
      }
      if (issues.length > 0 || !result.success) throw new ConfigError(appName, issues);
      return deepFreeze(result.data);
    },
    renderSample() {
      return renderSample(tree, appName, envPrefix, fileEnvName);
    },
  };
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readConfigFile(appName: string, file: string): PlainObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(appName, [{ key: file, message: `cannot read the config file (${reason})` }], {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    // YAML is a superset of JSON, but JSON.parse gives the better message for a .json file.
    parsed = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(appName, [{ key: file, message: `not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${reason}` }], {
      cause: error,
    });
  }
  // An empty file, or one with only comments (the sample with everything commented out), is {}.
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) {
    throw new ConfigError(appName, [{ key: file, message: 'the top level must be a mapping of keys' }]);
  }
  return dropNulls(parsed);
}

/** `key:` with no value is YAML null; treat it as "not set" so the default or "required" applies. */
function dropNulls(value: PlainObject): PlainObject {
  const out: PlainObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null) continue;
    out[key] = isPlainObject(child) ? dropNulls(child) : child;
  }
  return out;
}

/** Applies `HB_<APP>_<KEY>` overrides in place; returns which dotted keys came from which variable. */
function applyEnv(
  target: PlainObject,
  prefix: string,
  fileEnvName: string,
  leafByEnv: ReadonlyMap<string, SchemaLeaf>,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
): Map<string, string> {
  const sourced = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(`${prefix}_`) || raw === undefined || name === fileEnvName) continue;
    const leaf = leafByEnv.get(name);
    if (leaf === undefined) {
      // A typo in an override would otherwise be silently ignored: the worst kind of config bug.
      issues.push({ key: name, message: 'unknown environment variable (no such config key)' });
      continue;
    }
    let node = target;
    for (const segment of leaf.path.slice(0, -1)) {
      const next = node[segment];
      if (!isPlainObject(next)) node[segment] = {};
      node = node[segment] as PlainObject;
    }
    const key = leaf.path[leaf.path.length - 1];
    if (key === undefined) continue;
    node[key] = coerceEnv(leaf, raw);
    sourced.set(leaf.path.join('.'), name);
  }
  return sourced;
}

/** Env values are strings; turn them into what the leaf expects, or leave them for zod to reject. */
function coerceEnv(leaf: SchemaLeaf, raw: string): unknown {
  const value = raw.trim();
  switch (leaf.kind) {
    case 'number':
      return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value) ? Number(value) : raw;
    case 'boolean': {
      const lower = value.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return raw;
    }
    case 'array':
      if (value.startsWith('[')) {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          return raw;
        }
      }
      return value === '' ? [] : value.split(',').map((s) => s.trim());
    default:
      return raw;
  }
}

function unknownKeys(node: SchemaBranch, value: PlainObject, path: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [key, child] of Object.entries(value)) {
    const schemaChild = node.children.get(key);
    const dotted = [...path, key].join('.');
    if (schemaChild === undefined) {
      const known = [...node.children.keys()].join(', ');
      issues.push({ key: dotted, message: `unknown key (known here: ${known})` });
    } else if (schemaChild.type === 'branch' && isPlainObject(child)) {
      issues.push(...unknownKeys(schemaChild, child, [...path, key]));
    }
  }
  return issues;
}

/**
 * Missing sections become `{}` so that zod reports the missing *leaf* (`auth.sharedSecret`), not
 * the section (`auth`), and section defaults do not need repeating in every schema.
 */
function fillBranches(node: SchemaBranch, value: PlainObject): void {
  for (const [key, child] of node.children) {
    if (child.type !== 'branch') continue;
    if (value[key] === undefined) value[key] = {};
    const next = value[key];
    if (isPlainObject(next)) fillBranches(child, next);
  }
}

function describeIssue(issue: z.core.$ZodIssue, envSourced: ReadonlyMap<string, string>): ConfigIssue {
  const dotted = issue.path.map(String).join('.');
  const fromEnv = envSourced.get(dotted);
  const key = fromEnv === undefined ? dotted || '(root)' : `${dotted} (from ${fromEnv})`;
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return { key, message: `required, but not set` };
  }
  if (issue.code === 'unrecognized_keys') {
    return { key, message: `unknown keys: ${issue.keys.join(', ')}` };
  }
  return { key, message: issue.message };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Sample rendering (LiveKit's config-sample.yaml, checked by a test in each app)

function yamlScalar(value: unknown): string {
  if (Array.isArray(value)) return JSON.stringify(value);
  return stringifyYaml(value).trimEnd();
}

function commentLines(text: string, indent: string): string[] {
  return text.split('\n').map((line) => `${indent}# ${line}`.trimEnd());
}

interface Rendered {
  lines: string[];
  /** False when nothing in it is set: the whole block is then commented out. */
  active: boolean;
}

function renderNode(node: SchemaNode, key: string, depth: number, envPrefix: string): Rendered {
  const indent = '  '.repeat(depth);
  const lines: string[] = [];
  if (node.description !== undefined) lines.push(...commentLines(node.description, indent));

  if (node.type === 'branch') {
    const children = [...node.children].map(([childKey, child]) => renderNode(child, childKey, depth + 1, envPrefix));
    const active = children.some((c) => c.active);
    lines.push(active ? `${indent}${key}:` : `${indent}# ${key}:`);
    children.forEach((child, index) => {
      if (index > 0) lines.push('');
      // A section is inactive only when all its children are, so their lines are comments already.
      lines.push(...child.lines);
    });
    return { lines, active };
  }

  const notes: string[] = [];
  if (node.enumValues !== undefined) notes.push(`one of: ${node.enumValues.join(', ')}`);
  notes.push(`env: ${envName(envPrefix, node.path)}`);
  if (node.defaultValue === undefined && !node.optional) notes.push('REQUIRED, no default');
  lines.push(`${indent}# (${notes.join('; ')})`);
  if (node.defaultValue !== undefined) {
    lines.push(`${indent}${key}: ${yamlScalar(node.defaultValue.value)}`);
    return { lines, active: true };
  }
  const example = node.example === undefined ? '' : ` ${yamlScalar(node.example)}`;
  lines.push(`${indent}# ${key}:${example}`);
  return { lines, active: false };
}

function renderSample(tree: SchemaBranch, appName: string, envPrefix: string, fileEnvName: string): string {
  const header = [
    `# Hummingbird ${appName}: sample configuration.`,
    '#',
    '# Generated from the schema in src/config.ts; a test checks that this file matches it.',
    `# Pass it with --config <file> or ${fileEnvName}=<file>. Any key can be overridden by an`,
    `# environment variable ${envPrefix}_<KEY>, nested keys joined by "__" (shown on each key).`,
    '# Keys marked REQUIRED have no default: set them here (uncomment) or through the environment.',
    '',
  ];
  const body: string[] = [];
  for (const [key, child] of tree.children) {
    const rendered = renderNode(child, key, 0, envPrefix);
    if (body.length > 0) body.push('');
    body.push(...rendered.lines);
  }
  return `${[...header, ...body].join('\n')}\n`;
}
