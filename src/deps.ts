import type { Context } from 'hono';
import type { GatewayConfig } from './config/compile';
import type { GatewayDb } from './db/database';
import type { InboundFormat } from './errors/render';
import type { CancelSignal } from './pipeline/cancel';
import type { HealthRegistry } from './pipeline/health';
import type { Transport } from './pipeline/transport';
import type { Limiter } from './policy/limiter';
import type { PolicyStore } from './policy/policy-store';
import type { KeyPolicy } from './policy/snapshot';
import type { UsageSink } from './usage/record';

/** Log fields are flat values: no request bodies, no headers, so nothing secret can slip in. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** What a runtime must provide; runtime differences enter the core only through here. */
export interface GatewayDeps {
  config: GatewayConfig;
  db: GatewayDb;
  policy: PolicyStore;
  /** The pooled upstream client. */
  transport: Transport;
  /** Rate limits and budgets: spends local leases from the runtime's counter authority. */
  limiter: Limiter;
  /** Where usage records go, off the request path. */
  usage: UsageSink;
  /** SHA-256 (hex) of the admin key; undefined turns the admin API off. */
  adminKeyHash: string | undefined;
  log: Logger;
  /**
   * Aborts when the caller goes away. Without it, the Request's own signal (native on
   * Workers); the Node adapter gives a cheaper one, since @hono/node-server makes an
   * AbortController for every Request whose signal is read.
   */
  callerSignal?(c: Context<GatewayEnv>): CancelSignal | undefined;
  /**
   * Aborts when this process must end the replies still in flight (on Node: SIGTERM's drain
   * time ran out). They end as the deadline ends them — a stream with an error event saying
   * so, instead of a connection cut without a word.
   */
  shutdown?: CancelSignal;
}

/** What the app's handlers see: the runtime's deps plus state the app keeps per process. */
export interface AppDeps extends GatewayDeps {
  /** Every target's breaker and recent latency, written by dispatch, read by strategies and admin. */
  health: HealthRegistry;
}

/** Per-request values shared by middleware and handlers. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    /** Set when the reply was made with x-request-id among its headers. */
    labelled: boolean;
    inbound: InboundFormat;
    key: KeyPolicy;
  };
}
