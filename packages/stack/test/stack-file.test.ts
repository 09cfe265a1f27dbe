// The launcher's options from a YAML file (`npm start -- --config stack.yaml`) and the app-config merge.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeConfig, readStackFile, StackFileError, stackOptionsFrom } from '../src/index.js';

describe('stack file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hb-stack-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every option, with app overrides', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(
      file,
      ['domain: Meet.Example.org', 'auth: token', 'bridges: 2', 'turn: false', 'standardPorts: false', 'page: false', 'apps:', '  bridge: { media: { announcedAddress: 203.0.113.7 } }'].join('\n'),
    );
    expect(await readStackFile(file)).toEqual({
      domain: 'meet.example.org',
      auth: 'token',
      bridges: 2,
      turn: false,
      standardPorts: false,
      page: false,
      apps: { bridge: { media: { announcedAddress: '203.0.113.7' } } },
    });
  });

  it('names every bad key at once', () => {
    const error = (() => {
      try {
        stackOptionsFrom({ domain: 'not a domain', auth: 'ldap', bridges: -1, turn: 'yes', page: 'on', apps: { jibri: {}, focus: [] }, extra: 1 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StackFileError);
    const message = (error as StackFileError).message;
    for (const key of ['domain:', 'auth:', 'bridges:', 'turn:', 'page:', 'apps.jibri:', 'apps.focus:', 'extra:']) expect(message).toContain(key);
  });

  it('refuses a file that is not YAML or not a mapping, and a missing file', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'domain: [unclosed');
    await expect(readStackFile(bad)).rejects.toThrow(/not valid YAML/);
    const list = join(dir, 'list.yaml');
    await writeFile(list, '- a\n- b\n');
    await expect(readStackFile(list)).rejects.toThrow(/mapping/);
    await expect(readStackFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read/);
    expect(stackOptionsFrom(null)).toEqual({});
  });
});

describe('mergeConfig', () => {
  it('merges objects key by key, replaces arrays and values, ignores prototype keys', () => {
    const base = { ops: { host: '127.0.0.1', port: 1 }, peers: { allow: ['127.0.0.1/32'] }, workers: 1 };
    const over = JSON.parse('{"ops":{"port":2},"peers":{"allow":["10.0.0.5/32"]},"workers":2,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const merged = mergeConfig(base, over);
    expect(merged).toEqual({ ops: { host: '127.0.0.1', port: 2 }, peers: { allow: ['10.0.0.5/32'] }, workers: 2 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(base.ops.port).toBe(1);
  });
});
