// A real Prosody, the bridge started in-process against it, and a COLIBRI2 client standing in for the focus
// (built on packages/xmpp, as apps/focus will be).
import { randomBytes } from 'node:crypto';
import { createLogger } from '@hummingbird/service';
import { startProsody, type ProsodyHandle } from '@hummingbird/stack';
import {
  BRIDGE_EVENTS_NS, buildConferenceModify, buildMucPresence, consumerReportOf, createClientConnection, hasStatus, MalformedStanzaError,
  NS, parseBridgeStats, parseConferenceFailed, parseConferenceModified, parseMucPresence, StanzaError, type BridgeStats, type ClientConnection,
  type ConferenceFailed, type ConferenceModified, type ConferenceModify, type Element, type ReceiverConsumers,
} from '@hummingbird/xmpp';
import { waitFor } from '@hummingbird/test-support';
import { bridgeConfigSchema, start, type BridgeConfig, type BridgeService } from '../../src/index.js';

export const DOMAIN = 'meet.test';
export const AUTH = `auth.${DOMAIN}`;
export const BREWERY = `JvbBrewery@internal.auth.${DOMAIN}`;
export const BREWERY_BARE = BREWERY.toLowerCase();

export async function startTestProsody(): Promise<ProsodyHandle> {
  return startProsody({ domain: DOMAIN, ...(process.env['HB_TEST_PROSODY_DEBUG'] ? { logLevel: 'debug' } : {}) });
}

export type ConfigOverrides = { [K in keyof BridgeConfig]?: Partial<BridgeConfig[K]> };

/** Starts a bridge with its own account (registered through the harness) in the brewery. */
export async function startTestBridge(prosody: ProsodyHandle, overrides: ConfigOverrides = {}, opts: { waitForJoin?: boolean } = {}): Promise<BridgeService> {
  const user = `jvb-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await prosody.register(user, AUTH, password);
  const config = bridgeConfigSchema.parse({
    ops: { host: '127.0.0.1', port: 0, ...overrides.ops },
    log: { level: 'warn', ...overrides.log },
    shutdown: { ...overrides.shutdown },
    xmpp: {
      service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: AUTH, username: user, passwordRef: 'env:HB_TEST_BRIDGE_PASSWORD',
      breweryJid: BREWERY, nickname: user, ...overrides.xmpp,
    },
    bridge: { statsIntervalMs: 1_000, shuttingDownDelayMs: 200, ...overrides.bridge },
    media: { workers: 1, listenIp: '127.0.0.1', udpPort: 0, tcpPort: 0, ...overrides.media },
    websocket: { host: '127.0.0.1', port: 0, ...overrides.websocket },
    video: { ...overrides.video },
  });
  const logger = createLogger({ name: 'bridge', level: config.log.level });
  const bridge = await start(config, logger, { HB_TEST_BRIDGE_PASSWORD: password });
  // IQs to the occupant JID only route once the join is confirmed (Prosody answers "Recipient not in room").
  if (opts.waitForJoin ?? true) await waitFor('the bridge joined the brewery', () => bridge.brewery.joined, (j) => j);
  return bridge;
}

export interface ModifyResult {
  readonly modified: ConferenceModified;
  readonly consumers: ReceiverConsumers[] | undefined;
  readonly element: Element;
}

/**
 * The focus's side of COLIBRI2 and the brewery: an XMPP client on auth.<d> that joins the brewery, reads the
 * bridges' stats presences and sends conference-modify to a bridge's occupant JID (jicofo-jvb.md §2.5, §3.1).
 */
export class TestFocus {
  readonly stats = new Map<string, BridgeStats>();
  readonly statsUpdates = new Map<string, number>();
  readonly failures: ConferenceFailed[] = [];
  joined = false;

  private constructor(readonly connection: ClientConnection, readonly nickname: string) {
    connection.on('stanza', (s) => this.#onStanza(s));
    connection.router.register(BRIDGE_EVENTS_NS, 'conference-failed', 'set', (req) => {
      this.failures.push(parseConferenceFailed(req.payload));
    });
  }

  static async start(prosody: ProsodyHandle): Promise<TestFocus> {
    const user = `focus-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await prosody.register(user, AUTH, password);
    const connection = createClientConnection({
      service: `xmpp://127.0.0.1:${prosody.ports.c2s}`, domain: AUTH, username: user, password, resource: 'focus', reconnect: false,
    });
    await connection.start();
    const focus = new TestFocus(connection, user);
    await connection.send(buildMucPresence({ to: `${BREWERY}/${user}`, join: {}, extensions: [] }));
    await waitFor('the focus joined the brewery', () => focus.joined, (j) => j);
    return focus;
  }

  #onStanza(s: Element): void {
    if (s.name !== 'presence') return;
    const from = s.attrs.from;
    if (typeof from !== 'string' || !from.startsWith(`${BREWERY_BARE}/`)) return;
    let p;
    try {
      p = parseMucPresence(s);
    } catch (error) {
      if (error instanceof MalformedStanzaError) return;
      throw error;
    }
    const nick = from.slice(BREWERY_BARE.length + 1);
    if (nick === this.nickname) {
      if (hasStatus(p, 110)) this.joined = true;
      return;
    }
    if (p.type === 'unavailable') {
      this.stats.delete(nick);
      return;
    }
    const st = s.getChild('stats', NS.COLIBRI);
    if (st !== undefined) {
      this.stats.set(nick, parseBridgeStats(st));
      this.statsUpdates.set(nick, (this.statsUpdates.get(nick) ?? 0) + 1);
    }
  }

  occupant(bridge: BridgeService): string {
    return bridge.brewery.occupantJid;
  }

  async modify(bridge: BridgeService, req: ConferenceModify, type: 'get' | 'set' = 'get'): Promise<ModifyResult> {
    return this.modifyRaw(bridge, buildConferenceModify(req), type);
  }

  async modifyRaw(bridge: BridgeService, payload: Element, type: 'get' | 'set' = 'get'): Promise<ModifyResult> {
    const reply = await this.connection.caller.request(type, this.occupant(bridge), payload, { timeoutMs: 15_000 });
    const element = reply.getChildElements()[0];
    if (element === undefined) throw new Error('empty conference-modify result');
    return { modified: parseConferenceModified(element), consumers: consumerReportOf(element), element };
  }

  /** The StanzaError a request is answered with (fails the test if it succeeds). */
  async modifyError(bridge: BridgeService, payload: Element): Promise<StanzaError> {
    try {
      await this.connection.caller.request('get', this.occupant(bridge), payload, { timeoutMs: 15_000 });
    } catch (error) {
      if (error instanceof StanzaError) return error;
      throw error;
    }
    throw new Error(`expected an error for ${payload.toString().slice(0, 200)}`);
  }

  async stop(): Promise<void> {
    await this.connection.stop();
  }
}
