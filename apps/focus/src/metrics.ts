import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The focus's Prometheus metrics. Where Jicofo has the same counter its exact Prometheus name is used, so existing
 * dashboards keep working (`jicofo_conferences_created_total`, `jicofo_participants_total`,
 * `jicofo_participants_moved_total`, `jicofo_participants_restart_requests_total`); everything else is `hb_focus_*`,
 * named after Jicofo's `/stats` keys where one exists (spec/jicofo-jvb.md §2.12).
 */
export interface FocusMetrics {
  readonly registry: Registry;
  readonly conferencesCreated: Counter;
  readonly participantsTotal: Counter;
  readonly participantsMoved: Counter;
  readonly colibriFailures: Counter<'action'>;
  readonly jingleReceived: Counter<'action'>;
  readonly jingleSent: Counter<'action'>;
  readonly restarts: Counter<'outcome'>;
  readonly restartRequests: Counter;
  readonly iceFailures: Counter;
  readonly forgedClaims: Counter;
  readonly conferenceRequests: Counter<'outcome'>;
}

export interface LiveCounts {
  conferences(): number;
  participants(): number;
  bridges(): number;
  operationalBridges(): number;
}

export function createFocusMetrics(live: LiveCounts, registry = new Registry()): FocusMetrics {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('hb_focus_conferences', 'Conferences running now (Jicofo: conferences).', () => live.conferences());
  gauge('hb_focus_participants', 'Participants in running conferences (Jicofo: participants).', () => live.participants());
  gauge('hb_focus_bridges', 'Bridges known from the brewery (Jicofo: bridge_selector.bridge_count).', () => live.bridges());
  gauge('hb_focus_operational_bridges', 'Bridges that may take conferences (Jicofo: operational_bridge_count).', () => live.operationalBridges());
  return {
    registry,
    conferencesCreated: new Counter({ name: 'jicofo_conferences_created_total', help: 'Conferences created (Jicofo\'s counter of the same name).', registers: [registry] }),
    participantsTotal: new Counter({ name: 'jicofo_participants_total', help: 'Participants that joined (Jicofo\'s counter of the same name).', registers: [registry] }),
    participantsMoved: new Counter({ name: 'jicofo_participants_moved_total', help: 'Participants re-invited on another bridge (Jicofo\'s counter of the same name).', registers: [registry] }),
    colibriFailures: new Counter({ name: 'hb_focus_colibri_failures_total', help: 'Failed COLIBRI2 requests, by the reaction taken.', labelNames: ['action'], registers: [registry] }),
    jingleReceived: new Counter({ name: 'hb_focus_jingle_received_total', help: 'Jingle IQs received, by action (Jicofo: jingle).', labelNames: ['action'], registers: [registry] }),
    jingleSent: new Counter({ name: 'hb_focus_jingle_sent_total', help: 'Jingle IQs sent, by action (Jicofo: jingle).', labelNames: ['action'], registers: [registry] }),
    restarts: new Counter({ name: 'hb_focus_restart_requests_total', help: 'session-terminate restart requests, accepted or refused by the budget (Jicofo: participant_notifications.request_restart).', labelNames: ['outcome'], registers: [registry] }),
    restartRequests: new Counter({ name: 'jicofo_participants_restart_requests_total', help: 'session-terminate restart requests, accepted or not (Jicofo\'s counter of the same name).', registers: [registry] }),
    iceFailures: new Counter({ name: 'jicofo_participants_ice_failures_total', help: 'Participants that reported an ICE failure (Jicofo\'s counter of the same name).', registers: [registry] }),
    forgedClaims: new Counter({ name: 'hb_focus_ignored_claims_total', help: 'Claims elements ignored because the occupant is not on the token host.', registers: [registry] }),
    conferenceRequests: new Counter({ name: 'hb_focus_conference_requests_total', help: 'Conference requests (XMPP and HTTP), by outcome.', labelNames: ['outcome'], registers: [registry] }),
  };
}
