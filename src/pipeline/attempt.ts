import type { RouteTarget, RouteTimeouts } from '../config/compile';
import { StreamCutError, type StreamEnd } from './openai-stream';
import type { ForwardPlan, ForwardResult } from './plan';
import { Cancel } from './cancel';
import type { Deadline } from './timeouts';
import { TransportError, type Transport } from './transport';
import { patchedJson } from '../util/json';
import { merged } from '../util/merged';

const CANCELLED: StreamEnd = { outcome: 'cancelled' };

/**
 * One try of one target. Until it is committed — until the first byte of its reply is ready
 * for the caller — it is private: its usage and end reports are held back (a failed attempt's
 * never reach the plan), and an error it would render into the stream is taken as its failure
 * instead. Committed, it relays everything to the real plan. The caller sees exactly one
 * attempt's reply and one onEnd.
 */
export class Attempt {
  /** Set when the adapter rendered a stream error before anything was committed. */
  failure: unknown;
  private committed = false;
  private discarded = false;
  private held: (() => unknown)[] = [];
  private readonly signal = new Cancel();
  private readonly unfollow: () => void;

  constructor(
    private readonly target: RouteTarget,
    private readonly deadline: Deadline,
    /** Called once, when the committed reply has ended (at commit for a whole-body reply). */
    private readonly onFinished: (end: StreamEnd) => void,
  ) {
    this.unfollow = this.signal.follow(deadline.signal);
  }

  /**
   * The plan the adapter sees: the same call, with this attempt's signal and hooks. The hooks
   * outlive the request's body (see ForwardPlan), so neither they nor the attempt hold the plan.
   */
  planFor(plan: ForwardPlan, timeouts: RouteTimeouts): ForwardPlan {
    const { onUsage, onEnd, streamErrorEvent } = plan;
    const params = this.target.params;
    const body = params === undefined ? plan.body : merged(plan.body, params);
    const own: Pick<
      ForwardPlan,
      'body' | 'raw' | 'signal' | 'timeoutMs' | 'onUsage' | 'onEnd' | 'streamErrorEvent'
    > = {
      body,
      raw: params === undefined ? plan.raw : patchedJson(plan.raw, params),
      signal: this.signal,
      timeoutMs: timeouts.firstByteMs,
      onUsage: (usage) => this.relay(() => onUsage(usage)),
      onEnd: (end) =>
        this.relay(() => {
          this.release();
          // Recorded as the caller is told it (streamErrorEvent): a deadline cut is a timeout.
          // A caller gone mid-stream is a cancel, whichever reached the stream first: the
          // client's cancel of its reader, or the upstream call the caller's going cut.
          const told: StreamEnd =
            end.outcome !== 'error'
              ? end
              : this.deadline.callerGone
                ? CANCELLED
                : merged(end, { error: this.deadline.explain(end.error, this.target.provider.id) });
          this.onFinished(told);
          // A promise here holds back the reply's last bytes (see ForwardPlan.onEnd).
          return onEnd(told);
        }),
      streamErrorEvent: (error, providerId) => {
        if (!this.committed) this.failure ??= error;
        const shown = this.deadline.explain(error, this.committed ? providerId : undefined);
        return streamErrorEvent(shown, providerId);
      },
    };
    return merged(plan, own);
  }

  /** The transport the adapter sees: the route's timeouts and this attempt's signal, whatever it asks. */
  transportFor(base: Transport, timeouts: RouteTimeouts): Transport {
    return (req) =>
      base(
        merged(req, {
          signal: this.signal,
          connectTimeoutMs: timeouts.connectMs,
          firstByteTimeoutMs: timeouts.firstByteMs,
          idleTimeoutMs: timeouts.idleMs,
        }),
      );
  }

  commit(): void {
    this.committed = true;
    const held = this.held;
    this.held = [];
    for (const report of held) report();
  }

  /** Gives up on this attempt: drops what it reported and cuts its upstream call. */
  discard(): void {
    this.discarded = true;
    this.held = [];
    this.signal.abort();
    this.release();
  }

  /** Runs a report now if committed (returning what it returns), or holds it until commit. */
  private relay<T>(report: () => T): T | undefined {
    if (this.discarded) return undefined;
    if (this.committed) return report();
    this.held.push(report);
    return undefined;
  }

  private release(): void {
    this.unfollow();
  }
}

/**
 * Holds a streamed reply back until its first chunk is in: within `waitMs`, without an error
 * rendered in its place, and not empty. Then the reply is safe to commit to, and is returned as
 * it is (the chunk waits in the stream's queue). Otherwise this throws the attempt's failure,
 * so the caller can try elsewhere while nothing has been sent.
 */
export async function awaitFirstChunk(
  result: ForwardResult,
  attempt: Attempt,
  waitMs: number,
): Promise<ForwardResult> {
  if (result.first === undefined) return result;
  let onLate = () => {};
  const late = new Promise<'late'>((resolve) => (onLate = () => resolve('late')));
  const timer = setTimeout(() => onLate(), Math.max(0, waitMs));
  let first: boolean | 'late';
  try {
    first = await Promise.race([result.first, late]);
  } catch (err) {
    throw attempt.failure ?? err;
  } finally {
    clearTimeout(timer);
  }
  if (first === 'late') {
    const { body } = result.reply;
    if (body instanceof ReadableStream) void body.cancel().catch(() => {});
    throw new TransportError('first_byte_timeout');
  }
  if (attempt.failure !== undefined) throw attempt.failure;
  if (!first) throw new StreamCutError();
  return result;
}
