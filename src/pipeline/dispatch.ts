import type { Route, RouteTarget } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { createMockOpenAI } from '../providers/mock/mock-openai';
import { fetchTransport } from './fetch-transport';
import { forwardOpenAI } from './forward-openai';
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

const adapters: Record<InboundFormat, Partial<Record<WireFormat, UpstreamAdapter>>> = {
  openai: { openai: forwardOpenAI },
  anthropic: {},
};

function adapterFor(inbound: InboundFormat, target: RouteTarget): UpstreamAdapter {
  const adapter = adapters[inbound][target.provider.row.format];
  if (adapter === undefined) {
    throw new GatewayError(
      'invalid_request',
      `Provider "${target.provider.id}" cannot serve this API.`,
    );
  }
  return adapter;
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
