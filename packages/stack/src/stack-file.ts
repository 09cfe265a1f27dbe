// `npm start -- --config stack.yaml`: the launcher's options from a file, for trying the stack under a real
// domain name on one machine. Every key is optional:
//
//   domain: meet.example.org
//   auth: token            # or none
//   bridges: 1
//   turn: true
//   standardPorts: true
//   page: true             # the meeting page (http://127.0.0.1:8000/)
//   apps:                  # merged over the generated app configs (keys of apps/<app>/config.sample.yaml)
//     bridge: { media: { announcedAddress: 203.0.113.7 } }
//     turn: { relay: { externalIp: 203.0.113.7 } }
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { AppName, StartStackOptions } from './stack.js';

/** A stack file that cannot be used; `message` names every bad key. */
export class StackFileError extends Error {
  override readonly name = 'StackFileError';
  readonly code = 'HB_ERR_STACK_CONFIG' as const;
}

const KEYS = new Set(['domain', 'auth', 'bridges', 'turn', 'focus', 'standardPorts', 'page', 'apps']);
const APPS = new Set<AppName>(['token', 'turn', 'bridge', 'focus']);

export type StackFileOptions = Pick<StartStackOptions, 'domain' | 'auth' | 'bridges' | 'turn' | 'focus' | 'standardPorts' | 'page' | 'apps'>;

/** Checks a parsed stack file; throws StackFileError listing every problem. */
export function stackOptionsFrom(value: unknown, source = 'stack file'): StackFileOptions {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new StackFileError(`${source}: must be a mapping of options`);
  const input = value as Record<string, unknown>;
  const problems: string[] = [];
  const out: StackFileOptions = {};
  for (const key of Object.keys(input)) if (!KEYS.has(key)) problems.push(`${key}: unknown key (known: ${[...KEYS].join(', ')})`);
  const { domain, auth, bridges, turn, focus, standardPorts, page, apps } = input;
  if (domain !== undefined) {
    if (typeof domain === 'string' && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(domain)) out.domain = domain.toLowerCase();
    else problems.push('domain: must be a DNS name such as meet.example.org');
  }
  if (auth !== undefined) {
    if (auth === 'none' || auth === 'token') out.auth = auth;
    else problems.push('auth: must be none or token');
  }
  if (bridges !== undefined) {
    if (typeof bridges === 'number' && Number.isInteger(bridges) && bridges >= 0 && bridges <= 16) out.bridges = bridges;
    else problems.push('bridges: must be an integer 0..16');
  }
  for (const [key, flag] of [['turn', turn], ['focus', focus], ['standardPorts', standardPorts], ['page', page]] as const) {
    if (flag === undefined) continue;
    if (typeof flag === 'boolean') out[key] = flag;
    else problems.push(`${key}: must be true or false`);
  }
  if (apps !== undefined) {
    if (typeof apps !== 'object' || apps === null || Array.isArray(apps)) problems.push('apps: must be a mapping of app name to config');
    else {
      const merged: Partial<Record<AppName, Record<string, unknown>>> = {};
      for (const [name, config] of Object.entries(apps)) {
        if (!APPS.has(name as AppName)) problems.push(`apps.${name}: unknown app (known: ${[...APPS].join(', ')})`);
        else if (typeof config !== 'object' || config === null || Array.isArray(config)) problems.push(`apps.${name}: must be a mapping`);
        else merged[name as AppName] = config as Record<string, unknown>;
      }
      out.apps = merged;
    }
  }
  if (problems.length > 0) throw new StackFileError(`${source}: ${problems.join('; ')}`);
  return out;
}

export async function readStackFile(path: string): Promise<StackFileOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new StackFileError(`${path}: cannot read (${error instanceof Error ? error.message : String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    throw new StackFileError(`${path}: not valid YAML (${error instanceof Error ? error.message : String(error)})`);
  }
  return stackOptionsFrom(parsed, path);
}
