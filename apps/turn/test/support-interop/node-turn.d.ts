// Types for the part of node-turn 0.0.6 (plain JS, no typings) that the benchmark baseline uses.
declare module 'node-turn' {
  interface NodeTurnOptions {
    listeningIps?: string[];
    relayIps?: string[];
    listeningPort?: number;
    minPort?: number;
    maxPort?: number;
    authMech?: 'none' | 'short-term' | 'long-term';
    credentials?: Record<string, string>;
    realm?: string;
    debugLevel?: string;
    log?: (...args: unknown[]) => void;
  }
  class Turn {
    constructor(options: NodeTurnOptions);
    start(): void;
    stop(): void;
  }
  export default Turn;
}
