import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '@hummingbird/service';
import { luaString, startProsody, type ProsodyHandle } from '@hummingbird/stack';
import { start as startToken, tokenConfig, type TokenService } from '@hummingbird/token';
import { focusConfig, start, type FocusConfig, type RunningFocus } from '../../src/index.js';
import { DOMAIN } from './xmpp.js';

export const PLUGINS = fileURLToPath(new URL('../../../../infra/prosody/plugins', import.meta.url));
export const GUEST_HOST = `guest.${DOMAIN}`;

/**
 * Prosody in the Jitsi layout with the real token plugin on the client host (apps/token in-process, as docs/jwt.md
 * describes) and a guest host. The guest host deliberately does NOT load `hummingbird_claims_strip`: a guest's forged
 * `<claims>` then reaches the focus, which must ignore it on its own (defence in depth; production strips it too).
 */
export interface FocusStack {
  readonly prosody: ProsodyHandle;
  readonly token: TokenService;
  readonly bridgePassword: string;
  readonly issueKey: string;
  focus: RunningFocus;
  /** Starts a focus on this Prosody; `tokenHost: false` runs it as a deployment without authentication. */
  startFocus(env?: Record<string, string>, options?: { tokenHost?: boolean; waitOnline?: boolean }): Promise<RunningFocus>;
  mint(body: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export const quietLogger = (): Logger => createLogger({ name: 'focus-test', level: process.env.HB_TEST_LOG === '1' ? 'debug' : 'silent' });

export async function startFocusStack(focusEnv: Record<string, string> = {}): Promise<FocusStack> {
  const appSecret = randomBytes(32).toString('base64url');
  const apiKey = `prosody-${randomBytes(16).toString('hex')}`;
  const issueKey = `backend-${randomBytes(16).toString('hex')}`;
  const base = tokenConfig.loadConfig({
    env: { HB_TOKEN_JWT__APP_ID: 'hb-focus-test', HB_TOKEN_JWT__APP_SECRET_REF: 'env:T_APP_SECRET', HB_TOKEN_OPS__PORT: '0', HB_TOKEN_HTTP__PORT: '0' },
  });
  const token = await startToken(
    {
      ...base,
      log: { level: 'silent' },
      apiKeys: [
        { id: 'prosody', keyRef: 'env:T_API_KEY', scopes: ['verify'] },
        { id: 'backend', keyRef: 'env:T_ISSUE_KEY', scopes: ['issue'] },
      ],
    },
    createLogger({ name: 'token', level: 'silent' }),
    { T_APP_SECRET: appSecret, T_API_KEY: apiKey, T_ISSUE_KEY: issueKey },
  );
  const secrets = await mkdtemp(join(tmpdir(), 'hb-focus-test-'));
  const apiKeyFile = join(secrets, 'prosody.key');
  await writeFile(apiKeyFile, `${apiKey}\n`, { mode: 0o600 });
  const bridgePassword = randomBytes(12).toString('hex');
  let prosody: ProsodyHandle;
  try {
    prosody = await startProsody({
      domain: DOMAIN,
      pluginPaths: [PLUGINS],
      meetAuth: 'hummingbird_token',
      users: [['jvb', `auth.${DOMAIN}`, bridgePassword]],
      meetExtra: [
        `  hummingbird_token_verify_url = ${luaString(`${token.apiAddress}/v1/verify`)}`,
        `  hummingbird_token_api_key_file = ${luaString(apiKeyFile)}`,
        `VirtualHost ${luaString(GUEST_HOST)}`,
        '  authentication = "anonymous"',
      ].join('\n'),
    });
  } catch (error) {
    await token.close();
    await rm(secrets, { recursive: true, force: true });
    throw error;
  }
  const stack: FocusStack = {
    prosody,
    token,
    bridgePassword,
    issueKey,
    focus: undefined as unknown as RunningFocus,
    async startFocus(env: Record<string, string> = {}, options: { tokenHost?: boolean; waitOnline?: boolean } = {}): Promise<RunningFocus> {
      const config: FocusConfig = focusConfig.loadConfig({
        env: {
          HB_FOCUS_XMPP__DOMAIN: DOMAIN,
          HB_FOCUS_XMPP__COMPONENT__SECRET: prosody.config.componentSecret,
          HB_FOCUS_XMPP__COMPONENT__PORT: String(prosody.ports.component),
          HB_FOCUS_OPS__PORT: '0',
          // The fake bridges publish their stats once, unless a test starts their reporting: no presence liveness
          // unless a test asks for it (the real bridge in focus.bridge.test.ts publishes every 5 s).
          HB_FOCUS_BRIDGE__PRESENCE_TIMEOUT_MS: '0',
          ...(options.tokenHost === false ? {} : { HB_FOCUS_AUTH__TOKEN_HOST: DOMAIN }),
          ...focusEnv,
          ...env,
        },
      });
      const running = await start(config, quietLogger());
      if (options.waitOnline !== false) await running.focus.online;
      return running;
    },
    async mint(body: Record<string, unknown>): Promise<string> {
      const reply = await token.api.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: `Bearer ${issueKey}` }, payload: body });
      if (reply.statusCode !== 200) throw new Error(`mint failed: ${reply.body}`);
      return reply.json<{ token: string }>().token;
    },
    async close() {
      await stack.focus?.close();
      await prosody.stop();
      await token.close();
      await rm(secrets, { recursive: true, force: true });
    },
  };
  stack.focus = await stack.startFocus();
  return stack;
}
