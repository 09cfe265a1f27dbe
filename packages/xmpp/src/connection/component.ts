import { component as xmppComponent } from '@xmpp/component';

import { XmppConnection, type ConnectionOptions } from './connection.js';

export interface ComponentConnectionOptions extends ConnectionOptions {
  /** `xmpp://127.0.0.1:5347`: Prosody's component port. */
  service: string;
  /** The component's domain, e.g. `focus.meet.example.com`. */
  domain: string;
  /** The XEP-0114 shared secret (`component_secret`). Never logged. */
  secret: string;
}

/**
 * An XEP-0114 external component over @xmpp/component 0.13 (the focus's connection), with the fixes of
 * {@link XmppConnection}. There is no stream management on component streams, so it is ready at the handshake.
 * Stanzas it sends without `from` get the component's domain (xmpp.js does that); a component speaking as one of
 * its JIDs (e.g. `focus@focus.<d>/focus` in a MUC) sets `from` itself.
 */
export class ComponentConnection extends XmppConnection {
  constructor(options: ComponentConnectionOptions) {
    const entity = xmppComponent({ service: options.service, domain: options.domain, password: options.secret });
    super(entity, options);
  }

  protected sessionReady(): Promise<void> {
    return Promise.resolve();
  }
}

/** Creates a component connection; call `start()` to connect. */
export function createComponentConnection(options: ComponentConnectionOptions): ComponentConnection {
  return new ComponentConnection(options);
}
