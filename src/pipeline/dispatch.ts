import type { Route, RouteTarget } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { createMockOpenAI } from '../providers/mock/mock-openai';
import { fetchTransport } from './fetch-transport';
import { forwardAnthropic } from './forward-anthropic';
import { forwardOpenAI } from './forward-openai';
import { forwardTranslated } from './forward-translated';
import { anthropicToOpenAI } from '../providers/translators/anthropic-to-openai';
import { openaiInbound, openaiUpstream } from '../providers/translators/openai-wire';
import { openaiToAnthropic } from '../providers/translators/openai-to-anthropic';
import { openaiToGemini } from '../providers/translators/openai-to-gemini';
import type { ForwardPlan, ForwardResult } from './plan';
import type { InboundFormat } from '../errors/render';
import type { WireFormat } from '../providers/catalog';
import type { Transport } from './transport';
import { asGatewayError } from './upstream-errors';

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

function adapterFor(inbound: InboundFormat, target: RouteTarget): UpstreamAdapter {
  return adapters[inbound][target.provider.row.format];
}

export interface Dispatched extends ForwardResult {
  target: RouteTarget;
}

/** Sends the plan to the route's first usable target. */
export async function dispatch(
  route: Route,
  plan: ForwardPlan,
  network: Transport,
): Promise<Dispatched> {
  const target = route.targets.find((candidate) => candidate.provider.unavailable === undefined);
  if (target === undefined) {
    throw new GatewayError('provider_unavailable', `No provider can serve '${route.name}' now.`);
  }
  try {
    const result = await adapterFor(plan.inbound, target)(
      transportFor(target, network),
      target,
      plan,
    );
    return { ...result, target };
  } catch (err) {
    throw asGatewayError(err, target.provider.id);
  }
}
