import { describe, expect, it } from 'vitest';

import { defaultMucAdmins, jitsiHosts, luaString, renderProsodyConfig, type ProsodyConfig } from '../src/index.js';

const hosts = jitsiHosts('example.org');
const base: ProsodyConfig = {
  dir: '/tmp/hb-prosody-x',
  hosts,
  ports: { c2s: 1000, component: 1001, http: 1002 },
  componentSecret: 'comp',
  turn: { host: 'turn.example.org', port: 3478, tlsPort: 5349, secret: 'turnsecret', ttl: 600 },
  mucAdmins: defaultMucAdmins(hosts),
  runAsRoot: false,
  smacks: false,
  logLevel: 'info',
  pluginPaths: [],
  globalModules: [],
  globalExtra: '',
  meetAuth: 'anonymous',
  meetModules: [],
  meetExtra: '',
};

/** The lines of one `VirtualHost`/`Component` section (up to the next blank line). */
function section(config: string, header: string): string {
  const start = config.indexOf(header);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = config.indexOf('\n\n', start);
  return config.slice(start, end === -1 ? undefined : end);
}

describe('renderProsodyConfig', () => {
  it('renders the Jitsi layout: anonymous <d>, internal_hashed auth.<d>, two MUCs with focus admins, the focus component', () => {
    const config = renderProsodyConfig(base);
    expect(section(config, 'VirtualHost "example.org"')).toContain('authentication = "anonymous"');
    expect(section(config, 'VirtualHost "auth.example.org"')).toContain('authentication = "internal_hashed"');
    for (const muc of ['conference.example.org', 'internal.auth.example.org']) {
      expect(section(config, `Component "${muc}" "muc"`)).toContain(
        'admins = { "focus@focus.example.org"; "focus.example.org"; "focus@auth.example.org" }',
      );
    }
    expect(section(config, 'Component "focus.example.org"')).toContain('component_secret = "comp"');
    expect(config).toContain('c2s_ports = { 1000 }');
    expect(config).toContain('modules_disabled = { "s2s" }');
    expect(config).toContain('c2s_close_timeout = 1');
    expect(config).not.toContain('run_as_root');
  });

  it('gives every turn/turns entry TURN REST credentials with algorithm "turn" (spec §3.2)', () => {
    const meet = section(renderProsodyConfig(base), 'VirtualHost "example.org"');
    expect(meet).toContain('external_service_secret = "turnsecret"');
    const entries = meet.split('\n').filter((l) => l.includes('type = "turn'));
    expect(entries).toHaveLength(3);
    for (const entry of entries) expect(entry).toContain('secret = true, ttl = 600, algorithm = "turn"');
    expect(meet).toContain('type = "turns", host = "turn.example.org", port = 5349, transport = "tcp"');
  });

  it('loads smacks on the client host only, never globally or on auth.<d>', () => {
    const config = renderProsodyConfig({ ...base, smacks: true });
    expect(section(config, 'VirtualHost "example.org"')).toMatch(/modules_enabled = \{[^}]*"smacks"/);
    expect(section(config, 'VirtualHost "auth.example.org"')).not.toContain('smacks');
    expect(config.slice(0, config.indexOf('VirtualHost'))).not.toContain('smacks');
    expect(renderProsodyConfig(base)).not.toContain('smacks');
  });

  it('sets run_as_root only when asked, and appends extra Lua where it belongs', () => {
    const config = renderProsodyConfig({ ...base, runAsRoot: true, globalExtra: 'g_extra = 1', meetExtra: '  m_extra = 2' });
    expect(config).toMatch(/^run_as_root = true/m);
    expect(config.indexOf('g_extra = 1')).toBeLessThan(config.indexOf('VirtualHost'));
    expect(section(config, 'VirtualHost "example.org"')).toContain('m_extra = 2');
  });

  it('rejects values Prosody would misread: bad domain, duplicate or out-of-range ports, relative dir', () => {
    expect(() => renderProsodyConfig({ ...base, hosts: jitsiHosts('a"b') })).toThrow(TypeError);
    expect(() => renderProsodyConfig({ ...base, ports: { c2s: 1, component: 1, http: 2 } })).toThrow(/distinct/);
    expect(() => renderProsodyConfig({ ...base, ports: { c2s: 0, component: 1, http: 2 } })).toThrow(/ports.c2s/);
    expect(() => renderProsodyConfig({ ...base, dir: 'relative' })).toThrow(/absolute/);
  });

  it('quotes any string as a valid Lua literal', () => {
    expect(luaString('plain')).toBe('"plain"');
    expect(luaString('a"b\\c\nd\u0001é')).toBe('"a\\"b\\\\c\\nd\\001é"');
  });
});
