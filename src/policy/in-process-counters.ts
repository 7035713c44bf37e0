import type { CounterAuthority } from './counter-authority';
import type { CounterClient } from './counters';

/**
 * A holder and its authority in one process: exact for that process, with no IPC. Serves a
 * runtime with a single serving process (and tests); a cluster puts the authority in one place.
 */
export function inProcessCounters(authority: CounterAuthority, holder = 'local'): CounterClient {
  return {
    acquire: async (demands, returns) => authority.acquire(holder, demands, returns),
    release: (returns) => authority.release(returns),
  };
}
