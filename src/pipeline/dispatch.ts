import type { Route, RouteTarget } from '../config/compile';
import type { Logger } from '../deps';
import { GatewayError, toGatewayError } from '../errors/gateway-error';
import { anthropicToOpenAI } from '../providers/translators/anthropic-to-openai';
import { openaiInbound, openaiUpstream } from '../providers/translators/openai-wire';
import { openaiToAnthropic } from '../providers/translators/openai-to-anthropic';
import { openaiToGemini } from '../providers/translators/openai-to-gemini';
import { forwardAnthropic } from './forward-anthropic';
import { forwardTranslated } from './forward-translated';
import type { InboundFormat } from '../errors/render';
import type { CancelSignal } from './cancel';
import type { WireFormat } from '../providers/catalog';
import { createMockOpenAI } from '../providers/mock/mock-openai';
import { Attempt, awaitFirstChunk } from './attempt';
import { fetchTransport } from './fetch-transport';
import { forwardOpenAI } from './forward-openai';
import type { HealthRegistry } from './health';
import type { ForwardPlan, ForwardResult } from './plan';
import { classifyFailure, retryAfterOf, retryDelayMs } from './retry';
import { orderTargets } from './strategy';
import { Deadline } from './timeouts';
import { TransportError, type Transport } from './transport';
import { asGatewayError } from './upstream-errors';
import { merged } from '../util/merged';

/** The built-in mock answers in-process, through the same Transport interface as a network upstream. */
const builtinTransports = { 'mock-openai': fetchTransport(createMockOpenAI()) };

function transportFor(target: RouteTarget, network: Transport): Transport {
  const builtin = target.provider.row.builtin;
  return builtin === undefined ? network : builtinTransports[builtin];
}

/** How one inbound API reaches one upstream wire format: passthrough or a translation. */
export type UpstreamAdapter = (
  transport: Transport,
  target: RouteTarget,
  plan: ForwardPlan,
) => Promise<ForwardResult>;

/** Same format both sides: passthrough. Otherwise one inbound translator composed with one upstream translator, through the hub. */
const adapters: Record<InboundFormat, Record<WireFormat, UpstreamAdapter>> = {
  openai: {
    openai: forwardOpenAI,
    anthropic: forwardTranslated(openaiInbound, openaiToAnthropic),
    gemini: forwardTranslated(openaiInbound, openaiToGemini),
  },
  anthropic: {
    anthropic: forwardAnthropic,
    openai: forwardTranslated(anthropicToOpenAI, openaiUpstream),
    gemini: forwardTranslated(anthropicToOpenAI, openaiToGemini),
  },
};

function adapterFor(inbound: InboundFormat, target: RouteTarget): UpstreamAdapter | undefined {
  return adapters[inbound][target.provider.row.format];
}

export interface DispatchContext {
  /** The pooled network client. */
  transport: Transport;
  health: HealthRegistry;
  /** This request's total time budget: the alias's, or the caller's override. */
  totalMs: number;
  /** Aborts every request in flight: the process is going away (GatewayDeps.shutdown). */
  shutdown?: CancelSignal | undefined;
  /** Uniform in [0, 1): target choice and backoff jitter. */
  random?: () => number;
  /** Failed attempts and ejections are logged here, tagged with the request id. */
  log?: Logger;
  requestId?: string;
}

export interface Dispatched extends ForwardResult {
  target: RouteTarget;
  /** Upstream calls made for this request, the one that served it included. */
  attempts: number;
}

type Tried = { ok: true; result: ForwardResult } | { ok: false; error: unknown };

/**
 * Serves the plan from the route's targets: in the strategy's order, each target tried up to
 * `1 + retries` times (transient failures only, after a backoff that honours Retry-After), then
 * the next, within the attempt limit and the request's deadline; targets whose breaker is open
 * are skipped. Nothing reaches the caller until an attempt has its first byte, so every
 * failure before that can still be retried elsewhere. On failure the plan's onEnd is called
 * (once) and the last attempt's error is thrown, with the attempt count.
 */
export async function dispatch(
  route: Route,
  plan: ForwardPlan,
  ctx: DispatchContext,
): Promise<Dispatched> {
  const deadline = new Deadline(ctx.totalMs, plan.signal, ctx.shutdown);
  const random = ctx.random ?? Math.random;
  const policy = route.retry;
  let attempts = 0;
  let last: { error: unknown; target: RouteTarget } | undefined;
  try {
    const order = orderTargets(route, ctx.health, random).filter(
      (target) => adapterFor(plan.inbound, target) !== undefined,
    );
    if (order.length === 0 && route.usable.length > 0) {
      throw new GatewayError('invalid_request', `The model '${route.name}' cannot serve this API.`);
    }
    targets: for (const target of order) {
      const breaker = ctx.health.get(target).breaker;
      for (let retry = 0; retry <= policy.retries; retry++) {
        if (attempts >= policy.attempts || deadline.signal.aborted) break targets;
        if (retry > 0) {
          const asked = retryAfterOf(last?.error);
          const wait = retryDelayMs(retry, policy, asked, random);
          if ((asked ?? 0) > policy.maxRetryAfterMs || wait >= deadline.remaining()) break;
          await deadline.sleep(wait);
          if (deadline.signal.aborted) break targets;
        }
        if (!breaker.tryAcquire()) break;
        attempts++;
        const tried = await tryTarget(route, target, plan, ctx, deadline);
        if (tried.ok) return { target, attempts, ...tried.result };
        last = { error: tried.error, target };
        const kind = classifyFailure(tried.error);
        if (kind === 'final') break targets;
        if (kind === 'fallback') break;
      }
    }
    throw finalError(route, ctx.health, deadline, last);
  } catch (err) {
    deadline.dispose();
    plan.onEnd({ outcome: 'error', error: err });
    throw withAttempts(err, attempts);
  }
}

async function tryTarget(
  route: Route,
  target: RouteTarget,
  plan: ForwardPlan,
  ctx: DispatchContext,
  deadline: Deadline,
): Promise<Tried> {
  const health = ctx.health.get(target);
  const started = Date.now();
  health.inflight++;
  let inflight = true;
  const leave = () => {
    if (inflight) health.inflight--;
    inflight = false;
  };
  const attempt = new Attempt(target, deadline, (end) => {
    leave();
    // A stream cut by the request's own deadline, or by its caller, says nothing of the target.
    if (end.outcome === 'error' && !deadline.signal.aborted) health.failed('stream_failed');
    deadline.dispose();
  });
  try {
    const adapter = adapterFor(plan.inbound, target);
    if (adapter === undefined) throw new Error(`no adapter for ${target.key}`);
    let result = await adapter(
      attempt.transportFor(transportFor(target, ctx.transport), route.timeouts),
      target,
      attempt.planFor(plan, route.timeouts),
    );
    if (plan.stream) {
      const firstByteBy = started + route.timeouts.firstByteMs;
      result = await awaitFirstChunk(result, attempt, firstByteBy - Date.now());
    }
    health.succeeded(Date.now() - started);
    attempt.commit();
    return { ok: true, result };
  } catch (error) {
    attempt.discard();
    leave();
    if (deadline.signal.aborted) health.breaker.onNeutral();
    else if (classifyFailure(error) === 'final') health.breaker.onSuccess();
    else {
      const opened = health.breaker.timesOpened;
      const code = failureCode(error, target.provider.id);
      health.failed(code);
      ctx.log?.warn('upstream_attempt_failed', {
        request_id: ctx.requestId,
        target: target.key,
        code,
      });
      if (health.breaker.timesOpened > opened) {
        ctx.log?.warn('target_ejected', {
          target: target.key,
          until: new Date(health.breaker.retryAt()).toISOString(),
        });
      }
    }
    return { ok: false, error };
  }
}

/** Always a GatewayError code (what the caller would be told), never a class or failure name. */
function failureCode(error: unknown, providerId: string): string {
  return toGatewayError(asGatewayError(error, providerId)).code;
}

/** The honest reason the request failed, when no attempt served it. */
function finalError(
  route: Route,
  health: HealthRegistry,
  deadline: Deadline,
  last: { error: unknown; target: RouteTarget } | undefined,
): unknown {
  if (last !== undefined) {
    return asGatewayError(deadline.explain(last.error), last.target.provider.id);
  }
  if (deadline.expired) return deadline.timeoutError();
  if (deadline.callerGone) return new TransportError('aborted');
  const reopen = Math.min(
    ...route.usable.map((target) => health.get(target).breaker.retryAt() || Infinity),
  );
  const seconds = Number.isFinite(reopen)
    ? Math.max(1, Math.ceil((reopen - Date.now()) / 1000))
    : 1;
  return new GatewayError(
    'provider_unavailable',
    route.usable.length === 0
      ? `No provider can serve '${route.name}' now.`
      : `Every provider of '${route.name}' is failing; the gateway is giving it time to recover.`,
    { headers: { 'retry-after': String(seconds) } },
  );
}

/** The error as the caller will see it, saying how many upstream calls were made. */
function withAttempts(err: unknown, attempts: number): unknown {
  const error = asGatewayError(err, 'upstream');
  if (!(error instanceof GatewayError)) return error;
  return new GatewayError(error.code, error.message, {
    param: error.param,
    status: error.status,
    upstreamStatus: error.upstreamStatus,
    retryAfterMs: error.retryAfterMs,
    headers: merged(error.headers, { 'x-vidai-attempts': String(attempts) }),
    cause: error.cause,
  });
}
