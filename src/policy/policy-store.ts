import type { GatewayDb } from '../db/database';
import { liveKeys, readPolicyVersion } from '../db/keys-repo';
import { liveTeams } from '../db/teams-repo';
import { compileSnapshot, type PolicySnapshot } from './snapshot';

/**
 * Holds this process's compiled policy snapshot (DESIGN §4). A refresh reads one row (the
 * version) and recompiles only when it changed. Runtimes with timers call `startPolling`, so
 * the hot path never waits. Elsewhere (a Worker isolate) a snapshot older than `maxStaleMs` is
 * checked on the next request: with a `background` hook (waitUntil) the request is served from
 * the snapshot it has while the check runs behind it; without one it waits for the check.
 * Either way `maxStaleMs` (plus one read) bounds how long a revoked key stays usable.
 * If the database cannot be read, the last snapshot stays in force (fail closed only before the
 * first load): an outage of the policy store must not take the data plane down with it.
 */
export class PolicyStore {
  private snapshot: PolicySnapshot = { version: -1, byHash: new Map() };
  /** When the last successful check began. */
  private checkedAt = -Infinity;
  /** Checks are numbered as they begin; `lastCheck` is the number of the last one that succeeded. */
  private checksBegun = 0;
  private lastCheck = 0;
  private refreshing: Promise<PolicySnapshot> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: GatewayDb,
    private readonly onError: (err: unknown) => void,
    private readonly maxStaleMs = 1000,
    private readonly background?: (work: Promise<unknown>) => void,
  ) {}

  current(): PolicySnapshot | Promise<PolicySnapshot> {
    if (Date.now() - this.checkedAt <= this.maxStaleMs) return this.snapshot;
    if (this.background !== undefined && this.snapshot.version >= 0) {
      if (this.refreshing === undefined) this.background(this.refresh().catch(this.onError));
      return this.snapshot;
    }
    return this.refresh().catch((err: unknown) => {
      if (this.snapshot.version < 0) throw err;
      this.onError(err);
      return this.snapshot;
    });
  }

  /** A mark to pass to `recheck`: checks begun after this call have later numbers. */
  mark(): number {
    return this.checksBegun;
  }

  /**
   * For a key the snapshot does not know: it may have been created a moment ago by another
   * process. Answers from a version check that began after `mark` (taken when the request
   * arrived). Checks run one at a time and each answers every request that arrived before it
   * began, so a flood of bad keys costs one tiny read in flight, not one per request.
   */
  async recheck(mark: number): Promise<PolicySnapshot> {
    if (this.lastCheck > mark) return this.snapshot;
    if (this.refreshing !== undefined) {
      if (this.checksBegun > mark) return this.refreshing;
      await this.refreshing.catch(() => {});
      if (this.lastCheck > mark) return this.snapshot;
    }
    return this.refresh();
  }

  refresh(): Promise<PolicySnapshot> {
    if (this.refreshing === undefined) {
      const check = ++this.checksBegun;
      this.refreshing = this.load(check).finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async load(check: number): Promise<PolicySnapshot> {
    const startedAt = Date.now();
    const version = await readPolicyVersion(this.db);
    if (version !== this.snapshot.version) {
      const [keys, teams] = await Promise.all([liveKeys(this.db), liveTeams(this.db)]);
      this.snapshot = compileSnapshot(version, keys, teams);
    }
    this.checkedAt = startedAt;
    this.lastCheck = check;
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
