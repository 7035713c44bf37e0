import type { RouteTarget } from '../config/compile';
import type { GatewayDeps } from '../deps';
import type { GatewayError } from '../errors/gateway-error';
import type { StreamEnd } from '../pipeline/openai-stream';
import type { StreamMeter } from '../pipeline/plan';
import type { Admission, Estimate } from '../policy/limiter';
import type { TokenEstimate } from '../usage/estimate';
import type { KeyPolicy } from '../policy/snapshot';
import { costOf } from '../usage/cost';
import type { UsageRecord } from '../usage/record';
import { NO_TOKENS, type TokenUsage } from '../usage/usage';
import { streamFailure } from './inbound';
import { merged } from '../util/merged';

/**
 * One request's accounting: what it was admitted with, who served it and what it used. When the
 * reply ends (or the request fails) it settles its reservations with the limiter and hands one
 * usage record to the sink, once. For a reply that was served, that happens before the reply's
 * last bytes are written, and they wait until the sink says the record has left this process:
 * so a crash after the client has its answer cannot lose the record.
 */
export class CallAccount {
  private readonly startedAt = Date.now();
  model = '';
  streamed = false;
  private finished = false;
  private admission: Admission | undefined;
  private estimate: Estimate = { tokens: 0, cost: 0 };
  private tokens: TokenEstimate = { input: 0, output: 0 };
  /** Counts the events of a streamed reply, for when it ends without reporting usage. */
  readonly meter: StreamMeter = { events: 0 };
  private usage: TokenUsage | undefined;
  private target: RouteTarget | undefined;
  private firstByteAt = 0;
  private end: StreamEnd | undefined;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly key: KeyPolicy,
    private readonly requestId: string,
  ) {}

  admitted(admission: Admission, estimate: Estimate, tokens: TokenEstimate): void {
    this.admission = admission;
    this.estimate = estimate;
    this.tokens = tokens;
  }

  readonly onUsage = (usage: TokenUsage | undefined): void => {
    if (usage !== undefined) this.usage = usage;
  };

  /** The reply ended; a promise means its last bytes must wait for the record to be safe. */
  readonly onEnd = (end: StreamEnd): Promise<void> | undefined => {
    this.end = end;
    return this.target === undefined ? undefined : this.finishServed();
  };

  /** An upstream answered (for a reply that is not streamed, it has ended already). */
  served(target: RouteTarget, firstByteAt: number): Promise<void> | undefined {
    this.target = target;
    this.firstByteAt = firstByteAt;
    return this.end === undefined ? undefined : this.finishServed();
  }

  /** The request failed before any reply began. */
  failed(error: GatewayError): void {
    this.finish(NO_TOKENS, 0, false, error.status, error.code);
  }

  private finishServed(): Promise<void> | undefined {
    const target = this.target!;
    const end = this.end!;
    let errorCode: string | null = null;
    // The status the reply began with, unless it did not end as it should: a caller who left
    // mid-reply is 499, as before it began (nginx's convention), and a stream that ended with
    // an error event has that error's status (503 shutting_down, 502 upstream_error, …), as
    // it would have had before its first byte. Filtering records by status finds them all.
    let status = 200;
    if (end.outcome === 'cancelled') {
      errorCode = 'cancelled';
      status = 499;
    } else if (end.outcome === 'error') {
      const failure = streamFailure(end.error, target.provider.id);
      errorCode = failure.code;
      status = failure.status;
      this.deps.log.warn('stream_failed', { request_id: this.requestId, code: errorCode });
    }
    if (this.usage !== undefined) {
      const cost = target.price === undefined ? 0 : costOf(this.usage, target.price);
      this.finish(this.usage, cost, false, status, errorCode);
    } else {
      // The upstream said nothing of its usage (a stream cut short, or a server that does not
      // report it): the record says it is an estimate — the prompt as estimated before the
      // call, and for a stream one token per event it carried (a reply not streamed is
      // charged what was reserved for it).
      const usage = this.estimatedUsage();
      const cost = target.price === undefined ? this.estimate.cost : costOf(usage, target.price);
      this.finish(usage, cost, true, status, errorCode);
    }
    return this.deps.usage.settled();
  }

  private estimatedUsage(): TokenUsage {
    const output = this.streamed
      ? Math.min(this.meter.events, this.tokens.output)
      : this.tokens.output;
    return merged(NO_TOKENS, { inputTokens: this.tokens.input, outputTokens: output });
  }

  private finish(
    usage: TokenUsage,
    cost: number,
    estimated: boolean,
    status: number,
    errorCode: string | null,
  ): void {
    if (this.finished) return;
    this.finished = true;
    const now = Date.now();
    const reservations =
      this.admission === undefined
        ? []
        : this.deps.limiter.settle(this.admission, {
            tokens: usage.inputTokens + usage.outputTokens,
            cost,
          });
    const target = this.target;
    const record: UsageRecord = {
      requestId: this.requestId,
      createdAt: this.admission?.at ?? this.startedAt,
      keyId: this.key.id,
      teamId: this.key.teamId ?? null,
      model: this.model,
      provider: target?.provider.id ?? null,
      servedModel: target?.model ?? null,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      reasoningTokens: usage.reasoningTokens,
      costUsd: cost,
      usageEstimated: estimated,
      status,
      errorCode,
      latencyMs: now - this.startedAt,
      ttfbMs: target === undefined ? null : Math.max(0, this.firstByteAt - this.startedAt),
      streamed: this.streamed,
    };
    this.deps.usage.record(record, reservations);
  }
}
