import { createHash } from 'node:crypto';
import { NS, type Caps, type Element } from '@hummingbird/xmpp';

/**
 * XEP-0115 entity capabilities for the focus (spec/jicofo-jvb.md §2.4 step 1: Jicofo uses the caps hash when known).
 * Every lib-jitsi-meet of one version advertises the same `ver`, so after the first participant the focus knows
 * the features without a disco#info round trip. A `ver` is cached only after the disco#info answer was checked to
 * hash to it (§5.1 verification string, sha-1): a client cannot poison the cache for others.
 */

const MAX_ENTRIES = 1_000;

/** The XEP-0115 §5.1 verification string of a disco#info `<query>`, or undefined if it cannot be built safely. */
export function capsVerificationString(query: Element): string | undefined {
  const identities: string[] = [];
  const features: string[] = [];
  const forms: { type: string; fields: { name: string; values: string[] }[] }[] = [];
  for (const c of query.getChildElements()) {
    if (c.name === 'identity') {
      const { category, type, name } = c.attrs;
      const lang = c.attrs['xml:lang'] ?? '';
      if (category === undefined || type === undefined) return undefined;
      identities.push(`${category}/${type}/${lang}/${name ?? ''}`);
    } else if (c.name === 'feature') {
      if (c.attrs.var === undefined) return undefined;
      features.push(c.attrs.var);
    } else if (c.name === 'x' && c.attrs.xmlns === NS.DATA_FORMS) {
      let type: string | undefined;
      const fields: { name: string; values: string[] }[] = [];
      for (const f of c.getChildren('field')) {
        const values = f.getChildren('value').map((v) => v.getText());
        if (f.attrs.var === 'FORM_TYPE') type = values[0];
        else if (f.attrs.var !== undefined) fields.push({ name: f.attrs.var, values: values.sort() });
      }
      if (type === undefined) continue; // §5.4: forms without FORM_TYPE are ignored
      forms.push({ type, fields: fields.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) });
    }
  }
  // §5.4: duplicate identities, features or form types make the answer invalid.
  if (new Set(identities).size !== identities.length || new Set(features).size !== features.length) return undefined;
  if (new Set(forms.map((f) => f.type)).size !== forms.length) return undefined;
  const sorted = (xs: string[]): string[] => [...xs].sort();
  let s = sorted(identities).map((i) => `${i}<`).join('') + sorted(features).map((f) => `${f}<`).join('');
  for (const form of forms.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))) {
    s += `${form.type}<`;
    for (const field of form.fields) s += `${field.name}<${field.values.map((v) => `${v}<`).join('')}`;
  }
  return s;
}

/** True when `query` hashes (sha-1) to `caps.ver`. */
export function capsMatch(caps: Caps, query: Element): boolean {
  if (caps.hash.toLowerCase() !== 'sha-1') return false;
  const s = capsVerificationString(query);
  return s !== undefined && createHash('sha1').update(s, 'utf8').digest('base64') === caps.ver;
}

/** Verified `node#ver` → features. Bounded (oldest entry dropped first). */
export class CapsCache {
  readonly #entries = new Map<string, ReadonlySet<string>>();

  get(caps: Caps | undefined): ReadonlySet<string> | undefined {
    return caps === undefined ? undefined : this.#entries.get(key(caps));
  }

  /** Stores the features of `query` under `caps` if, and only if, the answer hashes to `caps.ver`. */
  offer(caps: Caps | undefined, query: Element, features: ReadonlySet<string>): boolean {
    if (caps === undefined || !capsMatch(caps, query)) return false;
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key(caps), features);
    return true;
  }

  get size(): number {
    return this.#entries.size;
  }
}

function key(caps: Caps): string {
  return `${caps.node}#${caps.ver}`;
}
