import { catalog } from '../src/providers/catalog';
import type { Endpoint } from './load';
import { mockHandlers } from './mock-handlers';
import { anthropicToolStreamBody, openaiToolStreamBody } from './requests';
import { streamLevel, type StreamLevelResult } from './streams';

/**
 * The translation lane: an OpenAI client streaming a tool call through the gateway to an
 * Anthropic-format upstream, against the same Anthropic stream fetched directly. It needs two
 * things this build may not have yet: a catalog kind that speaks Anthropic's wire format (the
 * Anthropic translator), and an Anthropic mock for the bench upstream (mock-handlers.ts).
 * Without them it is skipped, and the report says which is missing.
 */
export const TRANSLATION_MODEL = 'bench-anthropic';

export function anthropicKind(): string | undefined {
  for (const [kind, row] of Object.entries(catalog))
    if ((row.format as string) === 'anthropic') return kind;
  return undefined;
}

/** Why the lane cannot run, or undefined when it can. */
export function translationUnavailable(target: boolean): string | undefined {
  if (target)
    return 'not run with --target: it needs a model of the target routed to an Anthropic-format upstream';
  if (anthropicKind() === undefined)
    return 'skipped: this build has no provider kind with the Anthropic wire format (src/providers/catalog.ts); the lane runs once the Anthropic translator lands';
  if (mockHandlers.anthropic === undefined)
    return 'skipped: the bench upstream has no Anthropic mock registered (see the TODO in bench/mock-handlers.ts)';
  return undefined;
}

/** Config lines that route TRANSLATION_MODEL to the bench upstream's Anthropic endpoint. */
export function translationConfig(upstreamUrl: string): { providers: string; models: string } {
  // TODO(Anthropic translator): check that base_url is what the anthropic catalog row expects
  // (with or without /v1) once it lands.
  return {
    providers: `  - id: bench-anthropic\n    kind: ${anthropicKind()}\n    base_url: ${upstreamUrl}\n    api_key_env: BENCH_UPSTREAM_KEY\n`,
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
