import { defineConfig, logConfigSchema, opsConfigSchema, shutdownConfigSchema } from '@hummingbird/service';
import { parseJid } from '@hummingbird/xmpp';
import { z } from 'zod';

/** A bare domain JID (`meet.example.com`), checked with the same parser the focus uses on stanzas. */
const xmppDomain = z.string().superRefine((value, ctx) => {
  try {
    const parsed = parseJid(value);
    if (parsed.local !== undefined || parsed.resource !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a domain only, without "user@" or "/resource"' });
    }
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});

export const focusConfigSchema = z.object({
  // Jicofo's REST/health port is 127.0.0.1:8888 (spec/jicofo-jvb.md §2.10): same place, same habit.
  ops: opsConfigSchema(8888),
  log: logConfigSchema,
  shutdown: shutdownConfigSchema,
  xmpp: z
    .object({
      domain: xmppDomain
        .describe('The XMPP domain the clients log in to (Prosody VirtualHost), e.g. meet.example.com.')
        .meta({ example: 'meet.example.com' }),
      component: z
        .object({
          host: z.string().min(1).default('127.0.0.1').describe('Prosody host accepting external components (XEP-0114).'),
          port: z.number().int().min(1).max(65_535).default(5347).describe('Prosody component port (component_ports).'),
          domain: xmppDomain
            .optional()
            .describe('Component domain the focus is reachable at. Default: focus.<xmpp.domain>.')
            .meta({ example: 'focus.meet.example.com' }),
          secret: z
            .string()
            .min(1)
            .describe('Component secret, as in Prosody\'s Component "focus.<domain>" component_secret.'),
        })
        .describe('The XEP-0114 component connection to Prosody (the focus is focus.<domain>).'),
      mucDomain: xmppDomain
        .optional()
        .describe('The conference MUC service the rooms live on. Default: conference.<xmpp.domain>.')
        .meta({ example: 'conference.meet.example.com' }),
      breweryJid: z
        .string()
        .min(3)
        .optional()
        .describe('The bridges\' brewery room (bare JID). Default: jvbbrewery@internal.auth.<xmpp.domain>.')
        .meta({ example: 'jvbbrewery@internal.auth.meet.example.com' }),
    })
    .describe('XMPP: where the clients are and how the focus joins Prosody.'),
  auth: z
    .object({
      tokenHost: xmppDomain
        .optional()
        .describe('The XMPP host whose users logged in with a token (Prosody stamps verified claims there). Claims are trusted only from occupants on it. Unset: no authentication, the first participant becomes moderator.')
        .meta({ example: 'meet.example.com' }),
      authenticatedModerators: z
        .boolean()
        .default(false)
        .describe('Jitsi\'s behaviour: every user on the token host becomes moderator, whatever the token says. Off: only a moderator claim makes a moderator.'),
      guestsMayCreateRooms: z
        .boolean()
        .default(true)
        .describe('With a token host: may users from other hosts (guests) start a conference? Off: they may only join a running one (not-authorized otherwise).'),
    })
    .default({ authenticatedModerators: false, guestsMayCreateRooms: true })
    .describe('Who is authenticated and who becomes moderator (docs/jwt.md).'),
  conference: z
    .object({
      initialTimeoutMs: z.number().int().min(100).default(15_000).describe('A conference nobody joins is stopped after this long.'),
      singleParticipantTimeoutMs: z.number().int().min(100).default(20_000).describe('A participant left alone has its media session released after this long (it stays in the room).'),
      jingleTimeoutMs: z.number().int().min(100).default(10_000).describe('How long the focus waits for a participant to acknowledge a Jingle IQ.'),
      restartMinIntervalMs: z.number().int().min(0).default(5_000).describe('Restart budget: minimum time between two accepted restart requests of one participant.'),
      restartMaxRequests: z.number().int().min(1).default(5).describe('Restart budget: accepted restart requests per participant within restartIntervalMs.'),
      restartIntervalMs: z.number().int().min(1).default(60_000).describe('Restart budget: the window of restartMaxRequests.'),
      maxMovesPerMinute: z.number().int().min(1).default(5).describe('How often per minute a conference may be moved to another bridge after failures.'),
      useSsrcRewriting: z
        .boolean()
        .default(false)
        .describe('SSRC-rewriting mode for clients advertising it: the bridge tells them the remote sources (and their per-receiver SSRCs) over colibri-ws; the focus sends them none. Needs a bridge that implements it.'),
    })
    .default({ initialTimeoutMs: 15_000, singleParticipantTimeoutMs: 20_000, jingleTimeoutMs: 10_000, restartMinIntervalMs: 5_000, restartMaxRequests: 5, restartIntervalMs: 60_000, maxMovesPerMinute: 5, useSsrcRewriting: false })
    .describe('Conference lifecycle (spec/jicofo-jvb.md §2.3, §2.4).'),
  bridge: z
    .object({
      colibriTimeoutMs: z.number().int().min(100).default(15_000).describe('COLIBRI2 reply timeout. A timeout marks the bridge failed and moves its conferences.'),
      stressThreshold: z.number().positive().default(0.8).describe('Corrected stress at which a bridge counts as overloaded.'),
      averageParticipantStress: z.number().positive().default(0.01).describe('Stress one participant adds, when the bridge does not report its own.'),
      rampupMs: z.number().int().min(0).default(20_000).describe('How long a placement keeps counting (decaying) after the bridge\'s first report following it.'),
      failureResetMs: z.number().int().min(0).default(60_000).describe('How long a failed bridge gets no new conferences.'),
      presenceTimeoutMs: z
        .number()
        .int()
        .min(0)
        .default(30_000)
        .describe('A bridge silent in the brewery (no stats) for this long is failed and its conferences move: a hung bridge (SIGSTOP, a\nstuck event loop) keeps its connection and would otherwise hold its conferences forever. Bridges publish every 5 s\n(apps/bridge bridge.statsIntervalMs); keep this several intervals long. 0 = off.'),
    })
    .default({ colibriTimeoutMs: 15_000, stressThreshold: 0.8, averageParticipantStress: 0.01, rampupMs: 20_000, failureResetMs: 60_000, presenceTimeoutMs: 30_000 })
    .describe('Bridge selection and COLIBRI2 (spec/jicofo-jvb.md §2.5, §3).'),
});

export type FocusConfig = z.output<typeof focusConfigSchema>;

export const focusConfig = defineConfig(focusConfigSchema, { appName: 'focus' });

/** `xmpp.component.domain`, or its documented default. */
export function componentDomain(config: FocusConfig): string {
  return config.xmpp.component.domain ?? `focus.${config.xmpp.domain}`;
}

/** `xmpp.mucDomain`, or its documented default. */
export function mucDomain(config: FocusConfig): string {
  return config.xmpp.mucDomain ?? `conference.${config.xmpp.domain}`;
}

/** `xmpp.breweryJid`, or its documented default. */
export function breweryJid(config: FocusConfig): string {
  return config.xmpp.breweryJid ?? `jvbbrewery@internal.auth.${config.xmpp.domain}`;
}
