import type { RetryPolicy } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { StreamCutError, UnreadableEventError } from './passthrough-stream';
import { TransportError } from './transport';

/**
 * What a failed attempt means for the rest of the request:
 * - `retry`: a transient failure (connection, timeout, 408, 429, 5xx that say "try again"):
 *   the same target may be tried again after a backoff, then the next one;
 * - `fallback`: the target is at fault but trying it again will not help (it refused the
 *   gateway's credential, or failed in a way no retry cures): go straight to the next target;
 * - `final`: the request itself is at fault (any other 4xx), or the caller went away: stop.
 */
export type FailureKind = 'retry' | 'fallback' | 'final';

/** https://developer.mozilla.org/docs/Web/HTTP/Status; 529 is Anthropic's "overloaded". */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504, 529]);

export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof TransportError) return err.failure === 'aborted' ? 'final' : 'retry';
  // A stream that is not what its format says (cut, not SSE, an event that is not JSON).
  if (err instanceof StreamCutError || err instanceof UnreadableEventError) return 'retry';
  if (!(err instanceof GatewayError)) return 'final';
  const status = err.upstreamStatus;
  if (status === undefined) {
    // Transport failures already mapped to GatewayErrors keep their cause.
    return err.cause instanceof TransportError ? classifyFailure(err.cause) : 'final';
  }
  if (RETRYABLE_STATUS.has(status)) return 'retry';
  // The provider refused Vidai's credential (a 401, or a 403 that is not about the request).
  if (err.code === 'upstream_auth_failed' || status >= 500) return 'fallback';
  return 'final';
}

/** Whether a failure counts against the target's health (its breaker and error rate). */
export function isTargetFault(err: unknown): boolean {
  return classifyFailure(err) !== 'final';
}

/**
 * The wait before retry number `retry` (1 for the first retry) on the same target: exponential
 * backoff with full jitter (a uniform draw in [0, min(cap, base·2^(retry-1))), which spreads
 * retries of many callers best; aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter),
 * but never shorter than the upstream's Retry-After.
 */
export function retryDelayMs(
  retry: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}

/** The upstream's Retry-After carried by a failure, in ms, if it gave one. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof GatewayError ? err.retryAfterMs : undefined;
}
