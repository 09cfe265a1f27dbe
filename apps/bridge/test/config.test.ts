// The bridge's configuration: the sample file is rendered from the schema, required keys are named, secrets
// are references, bad values are refused with the key that holds them (ConfigError).
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@hummingbird/service';
import { describe, expect, it } from 'vitest';
import { bridgeConfig, layerFor } from '../src/index.js';

const samplePath = fileURLToPath(new URL('../config.sample.yaml', import.meta.url));
const required = {
  HB_BRIDGE_XMPP__DOMAIN: 'auth.meet.example.org',
  HB_BRIDGE_XMPP__PASSWORD_REF: 'env:HB_BRIDGE_XMPP_PASSWORD',
  HB_BRIDGE_XMPP__BREWERY_JID: 'JvbBrewery@internal.auth.meet.example.org',
};

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('bridge config', () => {
  it('config.sample.yaml is the sample rendered from the schema (update with `pnpm test -u`)', async () => {
    await expect(bridgeConfig.renderSample()).toMatchFileSnapshot(samplePath);
  });

  it('the sample loads, with the required keys from env, to the schema defaults', () => {
    const config = bridgeConfig.loadConfig({ file: samplePath, env: required });
    expect(config).toEqual(bridgeConfig.loadConfig({ env: required }));
    expect(config.media).toMatchObject({ workers: 0, udpPort: 10_000, enableTcp: true });
    expect(config.bridge.statsIntervalMs).toBe(5_000);
    expect(config.websocket).toMatchObject({ enabled: true, port: 9090 });
  });

  it('names the missing required keys', () => {
    const error = configError(() => bridgeConfig.loadConfig({ env: {} }));
    expect(error.issues.map((i) => i.key).sort()).toEqual(['xmpp.breweryJid', 'xmpp.domain', 'xmpp.passwordRef']);
  });

  it('refuses an inline password and bad values, without echoing the secret', () => {
    const inline = configError(() => bridgeConfig.loadConfig({ env: { ...required, HB_BRIDGE_XMPP__PASSWORD_REF: 'hunter2' } }));
    expect(inline.message).toContain('not the secret itself');
    expect(inline.message).not.toContain('hunter2');
    const port = configError(() => bridgeConfig.loadConfig({ env: { ...required, HB_BRIDGE_MEDIA__UDP_PORT: '70000' } }));
    expect(port.issues[0]?.key).toContain('media.udpPort');
    const url = configError(() => bridgeConfig.loadConfig({ env: { ...required, HB_BRIDGE_WEBSOCKET__PUBLIC_URL: 'https://x/y' } }));
    expect(url.issues[0]?.key).toContain('websocket.publicUrl');
  });
});

describe('layerFor (receiver maxHeight → simulcast spatial layer)', () => {
  it('picks the highest layer not above maxHeight, assuming 1/4, 1/2, 1 of the top height', () => {
    expect([90, 179, 180, 359, 360, 719, 720, 1080].map((h) => layerFor(h, 3, 720))).toEqual([0, 0, 0, 0, 1, 1, 2, 2]);
    expect(layerFor(720, 1, 720)).toBe(0);
    expect(layerFor(360, 2, 720)).toBe(0);
    expect(layerFor(720, 2, 720)).toBe(1);
  });
});
