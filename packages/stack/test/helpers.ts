import { existsSync, readFileSync } from 'node:fs';

import { client, type Client, type Element } from '@xmpp/client';
import { component, type Entity } from '@xmpp/component';

/** Every xmpp.js entity a test opened, so afterEach can stop them even when an assertion failed. */
const entities = new Set<Entity>();

export interface ClientLogin {
  service: string;
  domain: string;
  username?: string;
  password?: string;
  resource?: string;
}

/** An online @xmpp/client; prosody.md §3.4 items 2, 3, 6: error listener, no background reconnect, timeout 20 s. */
export async function onlineClient(login: ClientLogin): Promise<Client> {
  const xmpp = client({ ...login, timeout: 20_000 });
  return start(xmpp);
}

/** An online XEP-0114 component. */
export async function onlineComponent(options: { service: string; domain: string; password: string }): Promise<Entity> {
  return start(component(options));
}

async function start<T extends Entity>(entity: T): Promise<T> {
  entities.add(entity);
  const errors: Error[] = [];
  entity.on('error', (error) => errors.push(error));
  try {
    await entity.start();
  } catch (error) {
    // prosody.md §3.4 item 3: a failed first start keeps retrying in the background.
    entity.reconnect.stop();
    throw error;
  }
  return entity;
}

export async function stopEntities(): Promise<void> {
  const all = [...entities];
  entities.clear();
  await Promise.all(
    all.map(async (entity) => {
      entity.reconnect.stop();
      await entity.stop().catch(() => undefined);
    }),
  );
}

/** Resolves with the first stanza `entity` receives that matches `predicate`. */
export function nextStanza(entity: Entity, predicate: (stanza: Element) => boolean, timeoutMs = 5_000): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      entity.off('stanza', listener);
      reject(new Error(`no matching stanza within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    const listener = (stanza: Element): void => {
      if (predicate(stanza)) {
        clearTimeout(timer);
        entity.off('stanza', listener);
        resolve(stanza);
      }
    };
    entity.on('stanza', listener);
  });
}

/**
 * True while `pid` is a live process. A zombie counts as gone (prosody.md §1.5): an orphan re-parented to a
 * PID 1 that reaps late stays a zombie for a while.
 */
export function pidAlive(pid: number): boolean {
  const status = `/proc/${String(pid)}/status`;
  if (!existsSync(status)) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(status, 'utf8'));
  } catch {
    return false;
  }
}
