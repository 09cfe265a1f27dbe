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
    })
    .describe('XMPP: where the clients are and how the focus joins Prosody.'),
});

export type FocusConfig = z.output<typeof focusConfigSchema>;

export const focusConfig = defineConfig(focusConfigSchema, { appName: 'focus' });

/** `xmpp.component.domain`, or its documented default. */
export function componentDomain(config: FocusConfig): string {
  return config.xmpp.component.domain ?? `focus.${config.xmpp.domain}`;
}
