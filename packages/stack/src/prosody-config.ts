/**
 * Renders a Prosody 0.12 config file for the Jitsi-style host layout (prosody.md §1.4, ARCHITECTURE.md
 * "How a conference flows"). Pure: same input, same text. `startProsody` fills in the per-run values.
 */

/** The Jitsi host layout for one domain `<d>`. */
export interface ProsodyHosts {
  /** `<d>`: the client VirtualHost (anonymous by default; BOSH, WebSocket, XEP-0215). */
  readonly domain: string;
  /** `auth.<d>`: service accounts (internal_hashed), e.g. `jvb@auth.<d>`; never smacks (prosody.md §3.4 item 5). */
  readonly auth: string;
  /** `conference.<d>`: the conference MUC component. */
  readonly conference: string;
  /** `internal.auth.<d>`: the brewery MUC component where bridges announce themselves. */
  readonly internal: string;
  /** `focus.<d>`: the XEP-0114 external component that `apps/focus` connects as. */
  readonly focus: string;
}

/** The three TCP ports Prosody listens on, all on 127.0.0.1. */
export interface ProsodyPorts {
  /** XMPP client-to-server (plain TCP, no TLS). */
  readonly c2s: number;
  /** XEP-0114 component port. */
  readonly component: number;
  /** HTTP: `/xmpp-websocket` and `/http-bind`. */
  readonly http: number;
}

/** The TURN server advertised through XEP-0215 (`mod_external_services`, prosody.md §3.2). */
export interface TurnServiceConfig {
  /** Host name or address clients are told to use. */
  readonly host: string;
  /** STUN/TURN port (UDP and TCP). */
  readonly port: number;
  /** TURNS (TLS over TCP) port. */
  readonly tlsPort: number;
  /** TURN REST shared secret (coturn `use-auth-secret` / `static-auth-secret`). */
  readonly secret: string;
  /** Credential lifetime in seconds. */
  readonly ttl: number;
}

/**
 * Prosody log levels the harness allows. Only `debug` and `info`: the harness watches the console log for
 * info lines ("Shutdown complete", prosody.md §1.2), so a quieter level would make every stop unclean.
 */
export type ProsodyLogLevel = 'debug' | 'info';

/** Everything the config depends on, fully resolved. */
export interface ProsodyConfig {
  /** Run directory: holds the pidfile, `data/` and `certs/`. Absolute. */
  readonly dir: string;
  readonly hosts: ProsodyHosts;
  readonly ports: ProsodyPorts;
  /** XEP-0114 secret of `focus.<d>`. */
  readonly componentSecret: string;
  readonly turn: TurnServiceConfig;
  /** Bare JIDs that are admins (owners of every room) on both MUC components. */
  readonly mucAdmins: readonly string[];
  /** `run_as_root = true`; needed when Prosody runs as uid 0 (prosody.md §1.2). */
  readonly runAsRoot: boolean;
  /** Load mod_smacks on the client host `<d>` only. Never on `auth.<d>` (prosody.md §3.4 item 5, §5.3). */
  readonly smacks: boolean;
  readonly logLevel: ProsodyLogLevel;
  /** Extra `plugin_paths` (e.g. `infra/prosody/plugins`). Absolute paths. */
  readonly pluginPaths: readonly string[];
  /** Added to the global `modules_enabled`. */
  readonly globalModules: readonly string[];
  /** Lua appended to the global section, before the first VirtualHost. */
  readonly globalExtra: string;
  /** `authentication` of the client host `<d>`. */
  readonly meetAuth: string;
  /** Added to `modules_enabled` of the client host `<d>`. */
  readonly meetModules: readonly string[];
  /** Lua appended to the client host `<d>` section. */
  readonly meetExtra: string;
}

/** The Jitsi host names for `domain`. */
export function jitsiHosts(domain: string): ProsodyHosts {
  return {
    domain,
    auth: `auth.${domain}`,
    conference: `conference.${domain}`,
    internal: `internal.auth.${domain}`,
    focus: `focus.${domain}`,
  };
}

/**
 * Admins of both MUC components: the focus must own rooms it did not create (prosody.md §1.4).
 * - `focus@focus.<d>`: the bare JID the component focus joins rooms with (`focus@focus.<d>/focus`);
 *   the spec marks it "to be verified" — test/prosody.test.ts checks it gets owner.
 * - `focus.<d>`: the component's own domain JID, for stanzas it sends without a localpart.
 * - `focus@auth.<d>`: the c2s focus of the verified template (Jicofo's layout), kept for mixing with Jicofo.
 */
export function defaultMucAdmins(hosts: ProsodyHosts): string[] {
  return [`focus@${hosts.focus}`, hosts.focus, `focus@${hosts.auth}`];
}

/** A Lua string literal for any JS string (JSON escapes like `\u0001` are not Lua). */
export function luaString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\${String(code).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function luaList(values: readonly (string | number)[]): string {
  const items = values.map((v) => (typeof v === 'number' ? String(v) : luaString(v)));
  return items.length === 0 ? '{ }' : `{ ${items.join('; ')} }`;
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`${name} must be an integer port in 1..65535, got ${String(port)}`);
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Render the Prosody config text. Throws TypeError on values Prosody would reject or misread. */
export function renderProsodyConfig(config: ProsodyConfig): string {
  const { hosts, ports, turn } = config;
  if (!/^[a-z0-9.-]+$/i.test(hosts.domain) || hosts.domain.startsWith('.') || hosts.domain.endsWith('.')) {
    throw new TypeError(`domain must be a DNS name (letters, digits, dots, dashes), got ${JSON.stringify(hosts.domain)}`);
  }
  if (!config.dir.startsWith('/')) throw new TypeError(`dir must be absolute, got ${JSON.stringify(config.dir)}`);
  checkPort('ports.c2s', ports.c2s);
  checkPort('ports.component', ports.component);
  checkPort('ports.http', ports.http);
  checkPort('turn.port', turn.port);
  checkPort('turn.tlsPort', turn.tlsPort);
  if (new Set([ports.c2s, ports.component, ports.http]).size !== 3) {
    throw new TypeError(`ports must be distinct, got ${JSON.stringify(ports)}`);
  }

  // prosody.md §1.4 verified template; smacks is left out of the global list on purpose (§3.4 item 5).
  const globalModules = unique(['roster', 'saslauth', 'disco', 'ping', 'posix', 'admin_shell', ...config.globalModules]);
  const meetModules = unique(['bosh', 'websocket', 'external_services', ...(config.smacks ? ['smacks'] : []), ...config.meetModules]);
  const turnCredentials = `secret = true, ttl = ${String(turn.ttl)}, algorithm = "turn"`;
  const lines: string[] = [
    '-- Generated by @hummingbird/stack (src/prosody-config.ts). Throwaway: edits are lost on the next run.',
    '',
    ...(config.runAsRoot ? ['run_as_root = true -- prosody.md §1.2: mod_posix refuses uid 0 otherwise'] : []),
    `pidfile = ${luaString(`${config.dir}/prosody.pid`)}`,
    `data_path = ${luaString(`${config.dir}/data`)}`,
    `certificates = ${luaString(`${config.dir}/certs`)} -- prosody.md §1.2: a missing certs dir logs an error`,
    ...(config.pluginPaths.length > 0 ? [`plugin_paths = ${luaList(config.pluginPaths)}`] : []),
    `log = { { levels = { min = ${luaString(config.logLevel)} }, to = "console", timestamps = "%T" } }`,
    'interfaces = { "127.0.0.1" }',
    'local_interfaces = { "127.0.0.1" }',
    `c2s_ports = { ${String(ports.c2s)} }`,
    'c2s_direct_tls_ports = { }',
    `component_ports = { ${String(ports.component)} }`,
    'component_interfaces = { "127.0.0.1" }',
    `http_ports = { ${String(ports.http)} }`,
    'http_interfaces = { "127.0.0.1" }',
    'https_ports = { }',
    `http_default_host = ${luaString(hosts.domain)} -- http://127.0.0.1:<port>/ matches no vhost otherwise`,
    'modules_disabled = { "s2s" } -- no federation, no s2s port',
    `modules_enabled = ${luaList(globalModules)}`,
    'storage = "internal"',
    'c2s_require_encryption = false -- no TLS certificates in throwaway instances',
    'allow_unencrypted_plain_auth = true',
    'consider_bosh_secure = true',
    'consider_websocket_secure = true',
    'c2s_close_timeout = 1 -- prosody.md §1.2: bounds the SIGTERM wait (default 5 s + 1)',
    ...(config.globalExtra.trim() ? ['', '-- globalExtra', config.globalExtra] : []),
    '',
    `VirtualHost ${luaString(hosts.domain)}`,
    `  authentication = ${luaString(config.meetAuth)}`,
    `  modules_enabled = ${luaList(meetModules)}`,
    ...(config.smacks ? ['  smacks_hibernation_time = 10 -- default 600 s keeps dead clients in MUCs'] : []),
    // prosody.md §3.2: explicit list, because mod_turn_external gives the turns entry no credentials, and
    // `turns` needs algorithm = "turn"; lib-jitsi-meet wants turn entries with transport tcp.
    `  external_service_secret = ${luaString(turn.secret)}`,
    '  external_services = {',
    `    { type = "stun", host = ${luaString(turn.host)}, port = ${String(turn.port)}, transport = "udp" };`,
    `    { type = "turn", host = ${luaString(turn.host)}, port = ${String(turn.port)}, transport = "udp", ${turnCredentials} };`,
    `    { type = "turn", host = ${luaString(turn.host)}, port = ${String(turn.port)}, transport = "tcp", ${turnCredentials} };`,
    `    { type = "turns", host = ${luaString(turn.host)}, port = ${String(turn.tlsPort)}, transport = "tcp", ${turnCredentials} };`,
    '  }',
    ...(config.meetExtra.trim() ? ['  -- meetExtra', config.meetExtra] : []),
    '',
    `VirtualHost ${luaString(hosts.auth)}`,
    '  authentication = "internal_hashed"',
    '',
    ...mucComponent(hosts.conference, config.mucAdmins),
    '',
    ...mucComponent(hosts.internal, config.mucAdmins),
    '',
    `Component ${luaString(hosts.focus)} -- XEP-0114, apps/focus`,
    `  component_secret = ${luaString(config.componentSecret)}`,
    '',
  ];
  return lines.join('\n');
}

function mucComponent(host: string, admins: readonly string[]): string[] {
  return [
    `Component ${luaString(host)} "muc"`,
    '  storage = "memory"',
    `  admins = ${luaList(admins)}`,
    '  muc_room_locking = false',
    '  muc_room_default_public_jids = true -- the focus needs real JIDs (jitsi-client-protocol.md §3.5)',
    '  muc_tombstones = false',
  ];
}
