import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';

import { xml, type Element } from '@xmpp/client';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startProsody, type ProsodyHandle } from '../src/index.js';
import { nextStanza, onlineClient, onlineComponent, pidAlive, stopEntities } from './helpers.js';

// prosody.md §3.3: @xmpp/websocket uses the global WebSocket, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_EXTDISCO = 'urn:xmpp:extdisco:2';

/** Join `room` as `nick`; resolves with the self-presence (the one carrying status 110). */
async function joinRoom(entity: Parameters<typeof nextStanza>[0], room: string, nick: string, from?: string): Promise<Element> {
  const self = nextStanza(
    entity,
    (s) =>
      s.is('presence') &&
      s.attrs.from === `${room}/${nick}` &&
      (s.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).some((st) => st.attrs.code === '110'),
  );
  await entity.send(xml('presence', { to: `${room}/${nick}`, from }, xml('x', { xmlns: NS_MUC })));
  return self;
}

function mucItem(presence: Element): Record<string, string | undefined> {
  return presence.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs ?? {};
}

describe('startProsody with the Jitsi layout', () => {
  let prosody: ProsodyHandle;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    prosody = await startProsody({ users: [['jvb', 'auth.meet.test', 'jvbpass']] });
    startMs = performance.now() - t0;
    console.log(`[stack] Prosody ready in ${startMs.toFixed(0)} ms (incl. 1 prosodyctl register), pid ${String(prosody.pid)}`);
  });
  afterEach(stopEntities);
  afterAll(async () => {
    await prosody?.stop();
  });

  it('exposes the host layout and three distinct loopback ports', () => {
    expect(prosody.hosts).toEqual({
      domain: 'meet.test',
      auth: 'auth.meet.test',
      conference: 'conference.meet.test',
      internal: 'internal.auth.meet.test',
      focus: 'focus.meet.test',
    });
    const { c2s, component, http } = prosody.ports;
    expect(new Set([c2s, component, http]).size).toBe(3);
    expect(pidAlive(prosody.pid)).toBe(true);
    expect(prosody.log()).toMatch(/Activated service 'c2s' on \[127\.0\.0\.1\]:/);
  });

  it('lets a registered service user log in with SCRAM-SHA-1 and join a MUC (self-presence has status 110)', async () => {
    const jvb = await onlineClient({
      service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`,
      domain: prosody.hosts.auth,
      username: 'jvb',
      password: 'jvbpass',
    });
    expect(jvb.jid?.bare().toString()).toBe('jvb@auth.meet.test');
    expect(prosody.log()).toMatch(/Authenticated as jvb@auth\.meet\.test/);
    const self = await joinRoom(jvb, `brewery@${prosody.hosts.internal}`, 'jvb1');
    expect(mucItem(self).affiliation).toBe('owner'); // first occupant of a fresh room
  });

  it('accepts the focus as an XEP-0114 component with the secret, and makes focus@focus.<d> owner of rooms it did not create', async () => {
    const room = `room1@${prosody.hosts.conference}`;
    const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.domain });
    await joinRoom(guest, room, 'guest');

    const focus = await onlineComponent({
      service: `xmpp://127.0.0.1:${String(prosody.ports.component)}`,
      domain: prosody.hosts.focus,
      password: prosody.config.componentSecret,
    });
    // jitsi-client-protocol.md §0.2: the component focus joins as focus@focus.<d>/focus.
    const self = await joinRoom(focus, room, 'focus', `focus@${prosody.hosts.focus}/focus`);
    expect(mucItem(self)).toMatchObject({ affiliation: 'owner', role: 'moderator' });
  });

  it('refuses the component with a wrong secret', async () => {
    await expect(
      onlineComponent({
        service: `xmpp://127.0.0.1:${String(prosody.ports.component)}`,
        domain: prosody.hosts.focus,
        password: 'wrong',
      }),
    ).rejects.toThrow(/not-authorized/);
  });

  it('gets an anonymous client online over WebSocket at /xmpp-websocket', async () => {
    const guest = await onlineClient({
      service: `ws://127.0.0.1:${String(prosody.ports.http)}/xmpp-websocket`,
      domain: prosody.domain,
    });
    expect(guest.jid?.domain).toBe('meet.test');
    expect(guest.jid?.local).not.toBe('');
  });

  it('answers XEP-0215 with TURN REST credentials: password = base64(HMAC-SHA1(secret, username)), also on turns', async () => {
    const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.domain });
    const services = await guest.iqCaller.get(xml('services', { xmlns: NS_EXTDISCO }), prosody.domain);
    const entries = services.getChildren('service').map((s) => s.attrs);
    const { host, port, tlsPort, secret } = prosody.config.turn;
    expect(entries.map((e) => `${e.type ?? ''}/${e.transport ?? ''}:${e.port ?? ''}`).sort()).toEqual(
      [`stun/udp:${port}`, `turn/tcp:${port}`, `turn/udp:${port}`, `turns/tcp:${tlsPort}`].sort(),
    );
    const withCredentials = entries.filter((e) => e.type === 'turn' || e.type === 'turns');
    expect(withCredentials).toHaveLength(3);
    for (const entry of withCredentials) {
      expect(entry.host).toBe(host);
      expect(entry.restricted).toBe('1');
      const username = entry.username ?? '';
      // prosody.md §3.2: username = "<expiry>", coturn use-auth-secret compatible.
      expect(username).toMatch(/^\d+$/);
      expect(Number(username)).toBeGreaterThan(Date.now() / 1000);
      expect(entry.password).toBe(createHmac('sha1', secret).update(username).digest('base64'));
    }
  });

  it('registers a user after start; the new account can log in', async () => {
    await prosody.register('late', prosody.hosts.auth, 'latepass');
    const late = await onlineClient({
      service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`,
      domain: prosody.hosts.auth,
      username: 'late',
      password: 'latepass',
    });
    expect(late.jid?.bare().toString()).toBe('late@auth.meet.test');
  });

  it('runs prosodyctl against this instance (admin shell sees the live MUC room)', async () => {
    const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.domain });
    await joinRoom(guest, `shellroom@${prosody.hosts.conference}`, 'guest');
    const result = await prosody.prosodyctl('shell', `muc:list(${JSON.stringify(prosody.hosts.conference)})`);
    expect(result.code).toBe(0);
    expect(result.output).toContain('shellroom@conference.meet.test');
  });
});

describe('stop()', () => {
  it('stops cleanly with clients connected, removes the run dir, and the pid is gone; a second call returns the same result', async () => {
    const t0 = performance.now();
    const prosody = await startProsody({ domain: 'stop.test' });
    const startMs = performance.now() - t0;
    const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.domain });
    await joinRoom(guest, `room@${prosody.hosts.conference}`, 'guest');
    expect(existsSync(prosody.dir)).toBe(true);

    const t1 = performance.now();
    const result = await prosody.stop();
    const stopMs = performance.now() - t1;
    console.log(`[stack] start ${startMs.toFixed(0)} ms, stop with one client in a room ${stopMs.toFixed(1)} ms → ${JSON.stringify(result)}`);
    await stopEntities();

    expect(result.clean).toBe(true);
    expect(prosody.log()).toMatch(/Shutdown complete/);
    expect(existsSync(prosody.dir)).toBe(false);
    expect(pidAlive(prosody.pid)).toBe(false);
    expect(prosody.running).toBe(false);
    expect(stopMs).toBeLessThan(2_000); // typically 10–30 ms (prosody.md §1.3); loose bound for noisy machines
    expect(await prosody.stop()).toBe(result);
  });

  it('keeps the run dir with keep: true, and a restart on the same ports works', async () => {
    const first = await startProsody({ keep: true });
    const ports = first.ports;
    await first.stop();
    expect(existsSync(first.dir)).toBe(true);

    const second = await startProsody({ ports });
    try {
      expect(second.ports).toEqual(ports);
      const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(ports.c2s)}`, domain: second.domain });
      expect(guest.jid?.domain).toBe('meet.test');
      await stopEntities();
    } finally {
      await second.stop();
      const { rm } = await import('node:fs/promises');
      await rm(first.dir, { recursive: true, force: true });
    }
  });

  it('loads smacks on the client host only when asked', async () => {
    const prosody = await startProsody({ smacks: true });
    try {
      const guest = await onlineClient({ service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`, domain: prosody.domain });
      // prosody.md §3.4 item 5: SM is enabled a few microtasks after 'online'.
      await expect.poll(() => guest.streamManagement.enabled, { timeout: 2_000 }).toBe(true);
      await stopEntities();
      await prosody.register('svc', prosody.hosts.auth, 'pw');
      const service = await onlineClient({
        service: `xmpp://127.0.0.1:${String(prosody.ports.c2s)}`,
        domain: prosody.hosts.auth,
        username: 'svc',
        password: 'pw',
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(service.streamManagement.enabled).toBe(false);
    } finally {
      await stopEntities();
      await prosody.stop();
    }
  });
});
