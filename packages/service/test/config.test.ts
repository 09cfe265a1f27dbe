import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rmSync } from 'node:fs';
import { ConfigError, defineConfig, opsConfigSchema } from '../src/index.js';

const schema = z.object({
  ops: opsConfigSchema(8888),
  mode: z.enum(['a', 'b']).default('a').describe('Which mode.'),
  verbose: z.boolean().default(false),
  tags: z.array(z.string()).default([]),
  auth: z
    .object({
      sharedSecret: z.string().min(8).describe('The shared secret.'),
      realm: z.string().default('example.org'),
    })
    .describe('Authentication.'),
});

const definition = defineConfig(schema, { appName: 'demo' });
const dir = mkdtempSync(join(tmpdir(), 'hb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('defineConfig / loadConfig', () => {
  it('derives HB_<APP>_<KEY> env names, nested keys joined by __, camelCase as snake case', () => {
    expect(definition.envPrefix).toBe('HB_DEMO');
    expect(definition.fileEnvName).toBe('HB_DEMO_CONFIG');
    expect(definition.envNames.get('ops.port')).toBe('HB_DEMO_OPS__PORT');
    expect(definition.envNames.get('auth.sharedSecret')).toBe('HB_DEMO_AUTH__SHARED_SECRET');
  });

  it('applies schema defaults when only the required keys are given', () => {
    const config = definition.loadConfig({ env: { HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } });
    expect(config).toEqual({
      ops: { host: '127.0.0.1', port: 8888 },
      mode: 'a',
      verbose: false,
      tags: [],
      auth: { sharedSecret: 'abcdefgh', realm: 'example.org' },
    });
  });

  it('reads a YAML file and lets env override it, coercing numbers, booleans and lists', () => {
    const path = file('a.yaml', 'ops:\n  port: 9000\n  host: 0.0.0.0\nauth:\n  sharedSecret: from-the-file\n');
    const config = definition.loadConfig({
      file: path,
      env: { HB_DEMO_OPS__PORT: '9100', HB_DEMO_VERBOSE: 'true', HB_DEMO_TAGS: 'x, y', UNRELATED: '1' },
    });
    expect(config.ops).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(config.verbose).toBe(true);
    expect(config.tags).toEqual(['x', 'y']);
    expect(config.auth.sharedSecret).toBe('from-the-file');
  });

  it('reads a JSON file', () => {
    const path = file('a.json', JSON.stringify({ mode: 'b', auth: { sharedSecret: '12345678' } }));
    expect(definition.loadConfig({ file: path }).mode).toBe('b');
  });

  it('returns a frozen config: configuration is data, nobody mutates it later', () => {
    const config = definition.loadConfig({ env: { HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ops)).toBe(true);
  });

  it('names a missing required key (nested, not just its section) with code HB_ERR_CONFIG', () => {
    const error = configError(() => definition.loadConfig({}));
    expect(error.code).toBe('HB_ERR_CONFIG');
    expect(error.httpStatus).toBe(500);
    expect(error.issues).toEqual([{ key: 'auth.sharedSecret', message: 'required, but not set' }]);
    expect(error.message).toContain('auth.sharedSecret: required, but not set');
  });

  it('names every bad key in one message, including unknown keys (typos) in the file', () => {
    const path = file('bad.yaml', 'ops:\n  prot: 1\n  port: 70000\nmode: c\nauth:\n  sharedSecret: short\n');
    const error = configError(() => definition.loadConfig({ file: path }));
    const keys = error.issues.map((i) => i.key).sort();
    expect(keys).toEqual(['auth.sharedSecret', 'mode', 'ops.port', 'ops.prot']);
    for (const key of keys) expect(error.message).toContain(`${key}:`);
  });

  it('names the env variable when an env override is invalid', () => {
    const error = configError(() =>
      definition.loadConfig({ env: { HB_DEMO_OPS__PORT: 'eighty', HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } }),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.key).toBe('ops.port (from HB_DEMO_OPS__PORT)');
  });

  it('rejects an unknown HB_<APP>_ env variable instead of silently ignoring a typo', () => {
    const error = configError(() =>
      definition.loadConfig({ env: { HB_DEMO_OPS__PROT: '1', HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } }),
    );
    expect(error.issues).toEqual([{ key: 'HB_DEMO_OPS__PROT', message: expect.stringContaining('unknown environment variable') as string }]);
  });

  it('ignores the config-file variable HB_<APP>_CONFIG when reading overrides', () => {
    expect(() =>
      definition.loadConfig({ env: { HB_DEMO_CONFIG: '/x.yaml', HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } }),
    ).not.toThrow();
  });

  it('reports an unreadable file and a malformed file as ConfigError naming the file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(configError(() => definition.loadConfig({ file: missing })).issues[0]?.key).toBe(missing);
    const broken = file('broken.yaml', 'ops: [unclosed\n');
    const error = configError(() => definition.loadConfig({ file: broken }));
    expect(error.issues[0]?.message).toMatch(/^not valid YAML/);
    const list = file('list.yaml', '- a\n- b\n');
    expect(configError(() => definition.loadConfig({ file: list })).issues[0]?.message).toContain('mapping');
  });

  it('treats an empty YAML value as unset, so the default or "required" applies', () => {
    const path = file('empty-values.yaml', 'ops:\n  port:\nauth:\n  sharedSecret:\n');
    const error = configError(() => definition.loadConfig({ file: path }));
    expect(error.issues).toEqual([{ key: 'auth.sharedSecret', message: 'required, but not set' }]);
  });

  it('refuses at definition time two keys that map to one env variable', () => {
    expect(() => defineConfig(z.object({ fooBar: z.string(), foo_bar: z.string() }), { appName: 'x' })).toThrow(TypeError);
  });
});

describe('renderSample', () => {
  const sample = definition.renderSample();

  it('documents each key with its description, env variable and default', () => {
    expect(sample).toContain('# Authentication.');
    expect(sample).toContain('# The shared secret.');
    expect(sample).toContain('# (env: HB_DEMO_OPS__PORT)');
    expect(sample).toContain('  port: 8888');
    expect(sample).toContain('# (one of: a, b; env: HB_DEMO_MODE)');
  });

  it('comments out required keys that have no default, marked REQUIRED', () => {
    expect(sample).toContain('# (env: HB_DEMO_AUTH__SHARED_SECRET; REQUIRED, no default)');
    expect(sample).toMatch(/^ {2}# sharedSecret:$/m);
  });

  it('loads back to the defaults once the required keys are supplied', () => {
    const path = file('sample.yaml', sample);
    const fromSample = definition.loadConfig({ file: path, env: { HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } });
    const fromNothing = definition.loadConfig({ env: { HB_DEMO_AUTH__SHARED_SECRET: 'abcdefgh' } });
    expect(fromSample).toEqual(fromNothing);
  });

  it('comments out a whole section when nothing in it has a default', () => {
    const only = defineConfig(z.object({ xmpp: z.object({ domain: z.string().meta({ example: 'meet.example.com' }) }) }), {
      appName: 'x',
    });
    const text = only.renderSample();
    expect(text).toContain('# xmpp:');
    expect(text).toContain('  # domain: meet.example.com');
    const path = file('only.yaml', text);
    expect(configError(() => only.loadConfig({ file: path })).issues).toEqual([
      { key: 'xmpp.domain', message: 'required, but not set' },
    ]);
  });
});
