import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { freePort, startProsody, type ProsodyHandle } from '@hummingbird/stack';

import {
  ConnectionStartError,
  createClientConnection,
  createComponentConnection,
  NS,
  xml,
  type ConnectionLogger,
  type Element,
  type XmppConnection,
} from '../../src/index.js';
import { anonymousClient, focusComponent, nextEvent, nextStanza, stopAll, track } from './helpers.js';

const NS_TEST = 'urn:hummingbird:test:echo';
const FAST_RECONNECT = { reconnect: { initialMs: 200, maxMs: 1_000 } } as const;
const CROWD = 20;

/** A logger that records messages, to observe reconnect attempts without sleeping. */
function recordingLogger(): ConnectionLogger & { messages: string[] } {
  const messages: string[] = [];
  const record = (_object: object, message: string): void => {
    messages.push(message);
  };
  return { messages, debug: record, info: record, warn: record, error: record };
}

/** The owner's side of `reconnected`: join `room` as `nick` and resolve with the self-presence (status 110). */
async function joinRoom(connection: XmppConnection, room: string, nick: string): Promise<Element> {
  const self = nextStanza(
    connection,
    (s) =>
      s.is('presence') &&
      s.attrs.from === `${room}/${nick}` &&
      (s.getChild('x', NS.MUC_USER)?.getChildren('status') ?? []).some((status) => status.attrs.code === '110'),
  );
  await connection.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS.MUC })));
  return self;
}

const prosodies: ProsodyHandle[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(prosodies.splice(0).map((p) => p.stop()));
});

describe('reconnect after a Prosody restart', () => {
  it('TCP client, WebSocket client, a crowd of 20 and the component go offline, retry with backoff, and emit reconnected with a new session', async () => {
    const componentSecret = randomBytes(12).toString('hex');
    // smacks on: every reconnect also goes through a failed <resume/> and a new <enable/> (the SM race, again).
    const first = await startProsody({ componentSecret, smacks: true });
    prosodies.push(first);
    const { ports } = first;
    const logs = recordingLogger();
    const focus = focusComponent(first, { ...FAST_RECONNECT, logger: logs });
    focus.router.register(NS_TEST, 'echo', 'get', ({ payload }) => xml('echo', { xmlns: NS_TEST, value: payload.attrs.value ?? '' }));
    const tcp = anonymousClient(first, 'tcp', { ...FAST_RECONNECT, logger: logs });
    const ws = anonymousClient(first, 'ws', FAST_RECONNECT);
    // A crowd that joins a room from `online` and re-joins from `reconnected`, the earliest moments possible.
    const crowdRoom = `crowd@${first.hosts.conference}`;
    const crowd = Array.from({ length: CROWD }, () => anonymousClient(first, 'tcp', FAST_RECONNECT));
    const sendFailures: string[] = [];
    const crowdErrors: string[] = [];
    const crowdJoins = crowd.map((client, i) => {
      const occupant = `${crowdRoom}/c${String(i)}`;
      let joins = 0;
      const join = (): void => {
        client.send(xml('presence', { to: occupant }, xml('x', { xmlns: NS.MUC }))).catch((e: unknown) => sendFailures.push(String(e)));
      };
      client.on('online', join);
      client.on('reconnected', join);
      client.on('error', (e) => crowdErrors.push(e.message));
      client.on('stanza', (s) => {
        if (s.is('presence') && s.attrs.type === undefined && s.attrs.from === occupant && (s.getChild('x', NS.MUC_USER)?.getChildren('status') ?? []).some((st) => st.attrs.code === '110')) joins++;
      });
      return () => joins;
    });
    const all = [focus, tcp, ws, ...crowd];
    await Promise.all(all.map((c) => c.start()));
    await expect.poll(() => crowdJoins.map((joins) => joins()), { timeout: 30_000 }).toEqual(crowd.map(() => 1));
    const room = `restart@${first.hosts.conference}`;
    await joinRoom(tcp, room, 'tcp');
    const jidBefore = tcp.jid;

    // The owner pattern: re-join rooms when told the session is new.
    const rejoined = new Promise<Element>((resolve, reject) => {
      tcp.once('reconnected', () => void joinRoom(tcp, room, 'tcp').then(resolve, reject));
    });
    const offline = all.map((c) => nextEvent(c, 'offline'));
    const reconnected = all.map((c) => nextEvent(c, 'reconnected', 60_000));
    await first.stop();
    await Promise.all(offline);
    for (const c of all) expect(c.state).toBe('reconnecting');
    // While Prosody is down, attempts fail (ECONNREFUSED) and are retried; wait for a few, on the log, not a clock.
    await expect.poll(() => logs.messages.filter((m) => m === 'XMPP reconnect attempt failed').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(4);

    const second = await startProsody({ ports, componentSecret, smacks: true });
    prosodies.push(second);
    await Promise.all(reconnected);
    for (const c of all) expect(c.state).toBe('online');
    // prosody.md §3.4 item 3: no XEP-0198 resumption across a restart, so the anonymous client has a new JID…
    expect(tcp.jid).not.toEqual(jidBefore);
    // …and its room membership is back only because the owner re-joined on `reconnected`.
    expect((await rejoined).attrs.from).toBe(`${room}/tcp`);
    // IQs flow again through the routers.
    expect((await tcp.caller.get(first.hosts.focus, xml('echo', { xmlns: NS_TEST, value: 'after' })))?.attrs.value).toBe('after');
    expect((await ws.caller.get(first.hosts.focus, xml('echo', { xmlns: NS_TEST, value: 'ws' })))?.attrs.value).toBe('ws');
    // The crowd re-joined from `reconnected` and every session survived XEP-0198 (a server round trip each).
    await expect.poll(() => crowdJoins.map((joins) => joins()), { timeout: 30_000 }).toEqual(crowd.map(() => 2));
    await Promise.all(crowd.map((c) => c.caller.get(undefined, xml('ping', { xmlns: NS.PING }))));
    for (const c of crowd) expect(c.streamManagementEnabled).toBe(true);
    expect(sendFailures).toEqual([]);
    // Connection errors while Prosody was down are expected; a session killed for bad XEP-0198 counters is not.
    expect(crowdErrors.filter((m) => !/ECONNREFUSED|ECONNRESET|EPIPE|system-shutdown/.test(m))).toEqual([]);
  });
});

describe('XEP-0198 resumption after a dropped socket (smacks on the client host)', () => {
  it('emits offline then resumed (not reconnected): same JID, the room membership survives', async () => {
    // Prosody 0.12 looks the hibernating session up by account, so an anonymous login (a new account per
    // connection) can never resume: this test logs in as a registered user on the smacks host.
    const prosody = await startProsody({ smacks: true, meetAuth: 'internal_hashed', users: [['alice', 'meet.test', 'alicepw']] });
    prosodies.push(prosody);
    const client = anonymousClient(prosody, 'tcp', { ...FAST_RECONNECT, username: 'alice', password: 'alicepw' });
    await client.start();
    expect(client.streamManagementEnabled).toBe(true);
    const room = `resume@${prosody.hosts.conference}`;
    await joinRoom(client, room, 'r');
    const jidBefore = client.jid;
    let reconnected = 0;
    client.on('reconnected', () => reconnected++);
    const offline = nextEvent(client, 'offline');
    const resumed = nextEvent(client, 'resumed');
    client.dropConnectionForTesting();
    await offline;
    await resumed;
    expect(client.state).toBe('online');
    expect(client.jid).toEqual(jidBefore);
    expect(reconnected).toBe(0);
    // Still an occupant without re-joining: a groupchat message to the room comes back to us.
    const echo = nextStanza(client, (s) => s.is('message') && s.attrs.type === 'groupchat' && s.getChildText('body') === 'still here');
    await client.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'still here')));
    expect((await echo).attrs.from).toBe(`${room}/r`);
  });
});

describe('keep-alive (XEP-0199) notices a connection that died silently', () => {
  it('pings keep healthy connections online; with Prosody frozen (SIGSTOP) they go offline, and come back after SIGCONT', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    // A generous timeout: on a loaded 2-core machine a healthy Prosody can take a while to answer.
    const keepAlive = { intervalMs: 300, timeoutMs: 2_000 };
    const client = anonymousClient(prosody, 'tcp', { ...FAST_RECONNECT, keepAlive });
    const focus = focusComponent(prosody, { ...FAST_RECONNECT, keepAlive });
    await Promise.all([client.start(), focus.start()]);
    let offlineCount = 0;
    for (const c of [client, focus]) c.on('offline', () => offlineCount++);
    // Several ping rounds on a healthy server: the component's ping to its own domain comes back through Prosody.
    const pinged = nextStanza(focus, (s) => s.is('iq') && s.attrs.type === 'get' && s.getChild('ping', NS.PING) !== undefined);
    await pinged;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(offlineCount).toBe(0);

    const offline = [nextEvent(client, 'offline', 15_000), nextEvent(focus, 'offline', 15_000)];
    const back = [
      Promise.race([nextEvent(client, 'reconnected', 60_000), nextEvent(client, 'resumed', 60_000)]),
      nextEvent(focus, 'reconnected', 60_000),
    ];
    process.kill(prosody.pid, 'SIGSTOP');
    try {
      // No FIN, no RST: only the unanswered ping can tell.
      await Promise.all(offline);
    } finally {
      process.kill(prosody.pid, 'SIGCONT');
    }
    await Promise.all(back);
    expect(client.state).toBe('online');
    expect(focus.state).toBe('online');
  });
});

describe('start() and stop() are bounded and never crash the process', () => {
  it('start() against a closed port rejects with ConnectionStartError, and nothing retries in the background', async () => {
    const port = await freePort();
    const logs = recordingLogger();
    const client = track(createClientConnection({ service: `xmpp://127.0.0.1:${String(port)}`, domain: 'meet.test', logger: logs }));
    const error = await client.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionStartError);
    expect(String((error as Error).message)).toMatch(/ECONNREFUSED/);
    expect(client.state).toBe('idle');
    const before = logs.messages.length;
    // @xmpp/reconnect would retry every 1 s (prosody.md §3.4 item 3); ours is off until the first online.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(logs.messages.length).toBe(before);
  });

  it('a component with a wrong secret fails start() with not-authorized', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    const focus = track(
      createComponentConnection({
        service: `xmpp://127.0.0.1:${String(prosody.ports.component)}`,
        domain: prosody.hosts.focus,
        secret: 'wrong',
      }),
    );
    const error = await focus.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionStartError);
    expect(String((error as Error).message)).toMatch(/not-authorized/);
  });

  it('stop() settles within its timeout when the server never answers the stream close (Prosody frozen with SIGSTOP; TCP, WebSocket, component)', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    const client = anonymousClient(prosody, 'tcp', { stopTimeoutMs: 500 });
    const web = anonymousClient(prosody, 'ws', { stopTimeoutMs: 500 });
    const focus = focusComponent(prosody, { stopTimeoutMs: 500 });
    const all = [client, web, focus];
    await Promise.all(all.map((c) => c.start()));
    const offline = all.map((c) => nextEvent(c, 'offline'));
    process.kill(prosody.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      await Promise.all(all.map((c) => c.stop()));
      const elapsed = Date.now() - started;
      await Promise.all(offline);
      for (const c of all) expect(c.state).toBe('stopped');
      // 500 ms close timeout + the forced close; far below xmpp.js's hang-or-crash.
      expect(elapsed).toBeLessThan(4_000);
      expect(elapsed).toBeGreaterThanOrEqual(450);
    } finally {
      process.kill(prosody.pid, 'SIGCONT');
    }
    // Data the thawed server still sends to the dropped sockets must not reach a detached parser (item 6).
    await prosody.stop();
  });

  it('stop() during start() ends both: start rejects, stop resolves, nothing keeps running', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    const client = anonymousClient(prosody);
    const starting = client.start().catch((e: unknown) => e);
    await client.stop();
    expect(await starting).toBeInstanceOf(ConnectionStartError);
    expect(client.state).toBe('stopped');
  });

  it('stop() while reconnecting to a dead server resolves at once and ends the retries', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    const logs = recordingLogger();
    const client = anonymousClient(prosody, 'tcp', { ...FAST_RECONNECT, logger: logs });
    await client.start();
    const offline = nextEvent(client, 'offline');
    await prosody.stop();
    await offline;
    const failures = (): number => logs.messages.filter((m) => m === 'XMPP reconnect attempt failed').length;
    await expect.poll(failures, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    await client.stop();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(client.state).toBe('stopped');
    const after = failures();
    // With retries every 100–1000 ms, 2 s without a new attempt means they stopped.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(failures()).toBe(after);
  });

  it('stop() is idempotent and a stopped connection refuses to start again', async () => {
    const prosody = await startProsody();
    prosodies.push(prosody);
    const client = anonymousClient(prosody);
    await client.start();
    const first = client.stop();
    expect(client.stop()).toBe(first);
    await first;
    await expect(client.start()).rejects.toBeInstanceOf(TypeError);
  });
});
