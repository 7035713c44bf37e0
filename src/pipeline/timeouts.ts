import type { Route } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { Cancel, type CancelSignal } from './cancel';

/** The per-request override of an alias's total timeout, in ms; clamped to the server's ceiling. */
export const TIMEOUT_HEADER = 'x-vidai-timeout-ms';

/** The total time this request may take: the alias's, or the caller's header within the ceiling. */
export function requestTotalMs(
  header: string | undefined,
  route: Route,
  ceilingMs: number,
): number {
  if (header === undefined) return route.timeouts.totalMs;
  const digits = header.trim();
  // Any positive whole number is accepted and cut to the ceiling, however many digits it has.
  if (!/^\d+$/.test(digits) || /^0+$/.test(digits)) {
    throw new GatewayError(
      'invalid_request',
      `The ${TIMEOUT_HEADER} header must be a positive whole number of milliseconds.`,
    );
  }
  return Math.min(Number(digits), ceilingMs);
}

/**
 * The request's total time budget. Its signal aborts when the budget is spent or when the
 * caller goes away (`expired` tells which); every attempt's upstream call is tied to it, so
 * nothing outlives it. `dispose` must be called once the request is over.
 */
export class Deadline {
  readonly at: number;
  expired = false;
  readonly signal = new Cancel();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly unfollow: () => void;
  private readonly unfollowShutdown: () => void;

  constructor(
    readonly totalMs: number,
    private readonly caller: CancelSignal | undefined,
    private readonly shutdown?: CancelSignal,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now() + totalMs;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.signal.abort();
    }, totalMs);
    this.unfollow = this.signal.follow(caller);
    this.unfollowShutdown = this.signal.follow(shutdown);
  }

  get callerGone(): boolean {
    return this.caller?.aborted === true;
  }

  remaining(): number {
    return Math.max(0, this.at - this.now());
  }

  /** Waits `ms`, or less if the request ends first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done);
    });
  }

  /**
   * The error for a budget spent: before anything reached the caller, or — given the provider
   * whose reply had begun — while that reply was still streaming.
   */
  timeoutError(streamingFrom?: string): GatewayError {
    return new GatewayError(
      'upstream_timeout',
      streamingFrom === undefined
        ? `No provider answered within the request's ${this.totalMs} ms timeout.`
        : `The request's ${this.totalMs} ms timeout passed while provider "${streamingFrom}" was still streaming its reply.`,
    );
  }

  /**
   * A failure as what caused it: once the budget is spent, the abort it caused (which the
   * transport can only report as "aborted", as for a caller that went away) is a timeout.
   */
  explain(error: unknown, streamingFrom?: string): unknown {
    if (this.expired) return this.timeoutError(streamingFrom);
    if (this.shutdown?.aborted === true && !this.callerGone) {
      return new GatewayError(
        'shutting_down',
        'The gateway is shutting down and could not finish this reply in time; retry the request.',
      );
    }
    return error;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unfollow();
    this.unfollowShutdown();
  }
}
