import { fileURLToPath } from 'node:url';
import { ConfigError } from '@hummingbird/service';
import { describe, expect, it } from 'vitest';
import { breweryJid, componentDomain, focusConfig, mucDomain } from '../src/index.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const required = { HB_FOCUS_XMPP__DOMAIN: 'meet.example.com', HB_FOCUS_XMPP__COMPONENT__SECRET: 'component-secret' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('focus config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(focusConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults', () => {
    const config = focusConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(focusConfig.loadConfig({ env: required }));
    expect(config.ops).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(config.xmpp.component).toMatchObject({ host: '127.0.0.1', port: 5347, secret: 'component-secret' });
    expect(componentDomain(config)).toBe('focus.meet.example.com');
    expect(mucDomain(config)).toBe('conference.meet.example.com');
    expect(breweryJid(config)).toBe('jvbbrewery@internal.auth.meet.example.com');
    expect(config.auth).toEqual({ authenticatedModerators: false, guestsMayCreateRooms: true });
  });

  it('without the required keys, names each of them', () => {
    const error = configError(() => focusConfig.loadConfig({ file: samplePath, env: {} }));
    expect(error.code).toBe('HB_ERR_CONFIG');
    expect(error.issues.map((i) => i.key).sort()).toEqual(['xmpp.component.secret', 'xmpp.domain']);
  });

  it('names a bad key: an invalid XMPP domain and a non-numeric port from env', () => {
    const error = configError(() =>
      focusConfig.loadConfig({
        env: { ...required, HB_FOCUS_XMPP__DOMAIN: 'user@meet.example.com', HB_FOCUS_XMPP__COMPONENT__PORT: 'five' },
      }),
    );
    expect(error.issues.map((i) => i.key).sort()).toEqual([
      'xmpp.component.port (from HB_FOCUS_XMPP__COMPONENT__PORT)',
      'xmpp.domain (from HB_FOCUS_XMPP__DOMAIN)',
    ]);
    expect(error.message).toContain('must be a domain only');
  });
});
