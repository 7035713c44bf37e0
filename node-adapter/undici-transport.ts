import { Agent } from 'undici';
import { TransportError, type Transport } from '../src/pipeline/transport';
import { UpstreamCall } from './upstream-call';

export { toTransportError } from './upstream-call';

/**
 * The Node transport: undici's pooled client (global fetch is several times slower on Node),
 * driven through its lowest public layer, `dispatch` with a handler of our own
 * (upstream-call.ts), rather than `request()`: no Node Readable, no per-request
 * abort-signal plumbing inside undici, and a reply body read straight into the web stream or
 * buffer the pipeline asked for. Connections are kept alive across requests to each upstream.
 * undici applies a connect timeout per dispatcher, not per request, so there is one Agent per
 * distinct connect timeout: the values come from the config (one per alias at most), so there
 * are few, made on first use.
 */
export function undiciTransport(
  options: { connectTimeoutMs?: number } = {},
): Transport & { close(): Promise<void>; agentCount(): number } {
  const fallbackConnectMs = options.connectTimeoutMs ?? 10_000;
  const agents = new Map<number, Agent>();
  const agentFor = (connectMs: number): Agent => {
    let agent = agents.get(connectMs);
    if (agent === undefined) {
      agent = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: { timeout: connectMs },
      });
      agents.set(connectMs, agent);
    }
    return agent;
  };

  const transport: Transport = (req) => {
    if (req.signal?.aborted) return Promise.reject(new TransportError('aborted'));
    const call = new UpstreamCall(req.signal);
    const { origin, path } = splitUrl(req.url);
    agentFor(req.connectTimeoutMs ?? fallbackConnectMs).dispatch(
      {
        origin,
        path,
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        headersTimeout: req.firstByteTimeoutMs,
        bodyTimeout: req.idleTimeoutMs,
      },
      call,
    );
    return call.head;
  };
  const close = async () => {
    await Promise.all([...agents.values()].map((agent) => agent.close()));
  };
  return Object.assign(transport, { close, agentCount: () => agents.size });
}

/** Upstream URLs come from the config: few distinct ones, each split once. */
const splitUrls = new Map<string, { origin: string; path: string }>();

function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (split === undefined) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (splitUrls.size >= 1000) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}
