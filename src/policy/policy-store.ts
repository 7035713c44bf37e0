import type { GatewayDb } from '../db/database';
import { liveKeys, readPolicyVersion } from '../db/keys-repo';
import { compileSnapshot, type PolicySnapshot } from './snapshot';

/**
 * Holds this process's compiled policy snapshot (DESIGN §4). A refresh reads one row (the
 * version) and recompiles only when it changed. Runtimes with timers call `startPolling`, so
 * the hot path never waits; elsewhere (a Worker isolate) `current()` waits for a version check
 * at most once per `maxStaleMs`, which bounds how long a revoked key stays usable.
 * If the database cannot be read, the last snapshot stays in force (fail closed only before the
 * first load): an outage of the policy store must not take the data plane down with it.
 */
export class PolicyStore {
  private snapshot: PolicySnapshot = { version: -1, byHash: new Map() };
  private checkedAt = -Infinity;
  private refreshing: Promise<PolicySnapshot> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: GatewayDb,
    private readonly onError: (err: unknown) => void,
    private readonly maxStaleMs = 1000,
  ) {}

  current(): PolicySnapshot | Promise<PolicySnapshot> {
    if (Date.now() - this.checkedAt <= this.maxStaleMs) return this.snapshot;
    return this.refresh().catch((err: unknown) => {
      if (this.snapshot.version < 0) throw err;
      this.onError(err);
      return this.snapshot;
    });
  }

  refresh(): Promise<PolicySnapshot> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(): Promise<PolicySnapshot> {
    const startedAt = Date.now();
    const version = await readPolicyVersion(this.db);
    if (version !== this.snapshot.version) {
      this.snapshot = compileSnapshot(version, await liveKeys(this.db));
    }
    this.checkedAt = startedAt;
    return this.snapshot;
  }

  /** Keeps the snapshot fresh in the background, so `current()` never waits. */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    this.timer = setInterval(() => {
      this.refresh().catch(this.onError);
    }, intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stopPolling(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
