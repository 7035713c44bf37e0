import type { Endpoint } from './load';
import { anthropicToolStreamBody, openaiToolStreamBody } from './requests';
import { streamLevel, type StreamLevelResult } from './streams';

/**
 * The translation lane: an OpenAI client streaming a tool call through the gateway to an
 * Anthropic-format upstream, against the same Anthropic stream fetched directly (the bench
 * upstream serves src/providers/mock/'s Anthropic mock at /v1/messages).
 */
export const TRANSLATION_MODEL = 'bench-anthropic';

/** Why the lane cannot run, or undefined when it can. */
export function translationUnavailable(target: boolean): string | undefined {
  if (target)
    return 'not run with --target: it needs a model of the target routed to an Anthropic-format upstream';
  return undefined;
}

/** Config lines that route TRANSLATION_MODEL to the bench upstream's Anthropic endpoint. */
export function translationConfig(upstreamUrl: string): { providers: string; models: string } {
  return {
    providers: `  - id: bench-anthropic\n    kind: anthropic\n    base_url: ${upstreamUrl}/v1\n    api_key_env: BENCH_UPSTREAM_KEY\n`,
    models: `  - name: ${TRANSLATION_MODEL}\n    provider: bench-anthropic\n`,
  };
}

export interface TranslationLevel {
  streams: number;
  direct: StreamLevelResult;
  gateway: StreamLevelResult;
  cpuUsPerStream: number | undefined;
}

/** Runs `levels` concurrent tool-call streams each way; `meter` wraps the gateway's runs. */
export async function translationLane(
  gateway: Endpoint,
  upstreamUrl: string,
  levels: readonly number[],
  options: { stallMs: number; spreadMs: number },
  meter: { start(): void; stop(): number | undefined },
  progress: (line: string) => void,
): Promise<TranslationLevel[]> {
  const direct: Endpoint = {
    origin: upstreamUrl,
    path: '/v1/messages',
    headers: {
      'content-type': 'application/json',
      'x-api-key': 'sk-bench-upstream',
      'anthropic-version': '2023-06-01',
    },
  };
  const results: TranslationLevel[] = [];
  for (const n of levels) {
    const d = await streamLevel(direct, anthropicToolStreamBody(TRANSLATION_MODEL), n, {
      ...options,
      warmBody: anthropicToolStreamBody(TRANSLATION_MODEL),
      protocol: 'anthropic',
      mustContain: '"tool_use"',
    });
    const g = await streamLevel(gateway, openaiToolStreamBody(TRANSLATION_MODEL), n, {
      ...options,
      warmBody: openaiToolStreamBody(TRANSLATION_MODEL),
      mustContain: '"tool_calls"',
      meter,
    });
    results.push({
      streams: n,
      direct: d,
      gateway: g,
      cpuUsPerStream: g.cpuUs === undefined ? undefined : g.cpuUs / n,
    });
    progress(
      `translation ${n} streams: gateway ${g.completed}/${n} complete, TTFB p50 ${g.ttfb.p50.toFixed(2)} ms (direct ${d.ttfb.p50.toFixed(2)} ms)`,
    );
  }
  return results;
}
