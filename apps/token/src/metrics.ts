import { Counter, type Registry } from 'prom-client';

/** The token service's counters on the ops server's registry (`/metrics`). */
export class TokenMetrics {
  readonly issued: Counter<'alg'>;
  readonly verified: Counter<'alg'>;
  readonly rejected: Counter<'reason'>;
  readonly rateLimited: Counter<'scope'>;
  readonly turnCredentials: Counter;

  constructor(registry: Registry) {
    this.issued = new Counter({ name: 'hb_token_issued_total', help: 'Tokens minted by POST /v1/tokens', labelNames: ['alg'], registers: [registry] });
    this.verified = new Counter({ name: 'hb_token_verified_total', help: 'Tokens that passed POST /v1/verify', labelNames: ['alg'], registers: [registry] });
    this.rejected = new Counter({ name: 'hb_token_rejected_total', help: 'Tokens refused, by reason', labelNames: ['reason'], registers: [registry] });
    this.rateLimited = new Counter({ name: 'hb_token_rate_limited_total', help: 'Requests refused with 429, by limit', labelNames: ['scope'], registers: [registry] });
    this.turnCredentials = new Counter({ name: 'hb_token_turn_credentials_total', help: 'TURN credentials handed out over HTTP', registers: [registry] });
  }
}
