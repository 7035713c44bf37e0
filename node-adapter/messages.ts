import type { Demand, Grant, LeaseReturn } from '../src/policy/counters';
import type { PackedUsage } from './usage-wire';

/** Worker → primary. */
export type WorkerMessage =
  | { type: 'listening'; port: number }
  /** Start-up failed in a way no restart helps (the port is taken); the worker exits next. */
  | { type: 'cannot_start'; reason: string }
  | { type: 'acquire'; id: number; demands: Demand[]; returns: LeaseReturn[] }
  | { type: 'release'; returns: LeaseReturn[] }
  /** The records of requests that ended in one turn of the worker's event loop, in order. */
  | { type: 'usage'; records: PackedUsage[] };

/** Primary → worker. */
export type PrimaryMessage =
  | { type: 'shutdown' }
  | { type: 'grants'; id: number; grants: Grant[] }
  | { type: 'grants'; id: number; error: string }
  /** Hand back your leases of this counter: another worker needs what they hold. */
  | { type: 'recall'; counter: string };
