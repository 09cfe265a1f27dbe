// Type declarations for @xmpp/component 0.13.1 (CommonJS, ships none; prosody.md §3.4 item 1). Only the surface the
// connection layer uses.

declare module '@xmpp/component' {
  import type { XmppEntity } from 'hb:xmpp-entity';

  export interface ComponentOptions {
    /** `xmpp://host:port` of Prosody's component port (XEP-0114). */
    service: string;
    /** The component's domain, e.g. `focus.meet.example.com`. */
    domain: string;
    /** The XEP-0114 shared secret (`component_secret`). */
    password: string;
  }

  export type XmppComponent = XmppEntity;

  export function component(options: ComponentOptions): XmppComponent;
}
