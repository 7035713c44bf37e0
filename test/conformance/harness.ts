import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ScriptedUpstream } from '../mocks/scripted-upstream';

/**
 * What a conformance suite sees of the gateway under test, whichever runtime serves it: the
 * Node build (a spawned cluster behind real HTTP mock upstreams) or the Worker in workerd
 * (SELF.fetch, its upstream fetches answered by the same mock handlers). Suites are written
 * once against this, so any difference between runtimes fails a test.
 */
export interface Harness {
  /** Which runtime serves the gateway (for the few facts that differ by design, named in the README). */
  runtime: 'node' | 'workerd';
  /** The gateway's origin, e.g. http://127.0.0.1:41234; `baseURL` is `${url}/v1`. */
  url: string;
  baseURL: string;
  /** Reaches the gateway: call it with URLs under `url`. */
  fetch: typeof fetch;
  adminKey: string;
  /** A key for every model, made when the gateway started. */
  key: string;
  /** The mock upstreams the conformance config routes to (test/conformance/config.ts). */
  upstreams: Record<
    'openai' | 'anthropic' | 'gemini',
    Pick<ScriptedUpstream, 'requests' | 'script'>
  >;
  /** Calls the admin API with the admin key. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }>;
  /** Reads the gateway's database (SQL). */
  query<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** Everything the gateway logged so far. */
  output(): string;
}

export type Suite = (h: Harness) => void;

/** The official OpenAI SDK, pointed at the gateway under test. */
export function openaiClient(h: Harness, apiKey = h.key): OpenAI {
  return new OpenAI({ baseURL: h.baseURL, apiKey, maxRetries: 0, fetch: h.fetch });
}

/** The official Anthropic SDK, pointed at the gateway under test. */
export function anthropicClient(h: Harness, apiKey = h.key): Anthropic {
  return new Anthropic({ baseURL: h.url, apiKey, maxRetries: 0, fetch: h.fetch });
}

/** Waits until the usage writer has stored `count` records matching `where` (SQL). */
export async function usageRows(
  h: Harness,
  count: number,
  where: string,
  ...params: unknown[]
): Promise<void> {
  const sql = `select count(*) as n from usage_records where ${where}`;
  for (let waited = 0; ; waited += 50) {
    const [row] = await h.query<{ n: number }>(sql, ...params);
    if ((row?.n ?? 0) >= count) return;
    if (waited > 10_000) throw new Error(`fewer than ${count} usage records where ${where}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function lastBody(upstream: Pick<ScriptedUpstream, 'requests'>): Record<string, unknown> {
  const last = upstream.requests.at(-1);
  if (!last) throw new Error('the upstream saw no request');
  return JSON.parse(last.body) as Record<string, unknown>;
}
