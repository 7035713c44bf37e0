import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileConfig, type RouteTarget } from '../../config/compile';
import { parseConfig } from '../../config/schema';
import { errorCodes, GatewayError } from '../../errors/gateway-error';
import { renderError } from '../../errors/render';
import { anthropicMessages, openaiChat, type InboundSpec } from '../../http/inbound';
import { HealthRegistry } from '../../pipeline/health';
import { dispatch } from '../../pipeline/dispatch';
import type { StreamEnd } from '../../pipeline/passthrough-stream';
import {
  readerSource,
  type Transport,
  type UpstreamRequest,
  type UpstreamResponse,
} from '../../pipeline/transport';
import type { TokenUsage } from '../../usage/usage';
import { catalog, catalogRow, providerKinds, type ProviderKind, type WireFormat } from '../catalog';
import { createMockAnthropic } from '../mock/mock-anthropic';
import { createMockGemini } from '../mock/mock-gemini';
import { createMockOpenAI, MOCK_REPLY } from '../mock/mock-openai';
import {
  readAnthropicJson,
  readAnthropicStream,
  readOpenAIJson,
  readOpenAIStream,
  type Reply,
} from './test-replies';

/**
 * The contract every catalog row and every translator is held to: for each row, and each
 * inbound API, Vidai's request must be one the provider's documented format accepts (checked
 * by that format's mock, which validates as strictly as the real API), carry the row's URL
 * shape and credential, and each recorded reply (fixtures/<format>/cases.json: JSON bodies,
 * raw SSE streams, error bodies) must reach the client well-formed, in the client's format,
 * with the same text, thinking, tool calls, finish reason, usage and errors.
 */
interface Case {
  file: string;
  status?: number;
  expect: Partial<Omit<Reply, 'toolCalls'>> & {
    toolCalls?: Reply['toolCalls'];
    usage?: TokenUsage;
  };
}

const SECRET = 'sk-contract-secret-0123456789abcdef0123456789';
const UPSTREAM_MODEL = 'contract-model';
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const fixtures = new URL('./fixtures/', import.meta.url);
const fixture = (wire: WireFormat, file: string) =>
  readFileSync(new URL(`${wire}/${file}`, fixtures));
const cases = (wire: WireFormat): Case[] =>
  JSON.parse(fixture(wire, 'cases.json').toString('utf8')) as Case[];

const baseUrls: Partial<Record<ProviderKind, string>> = {
  'openai-compatible': 'https://compatible.example/v1',
  azure: 'https://contract.openai.azure.com',
};

const config = compileConfig(
  parseConfig({
    providers: providerKinds.map((kind) => ({
      id: kind,
      kind,
      ...(baseUrls[kind] ? { base_url: baseUrls[kind] } : {}),
      ...(kind === 'mock' ? {} : { api_key_env: 'CONTRACT_KEY' }),
    })),
    models: providerKinds.map((kind) => ({
      name: `m-${kind}`,
      provider: kind,
      model: UPSTREAM_MODEL,
      // One attempt: this suite checks what a translator makes of one upstream reply.
      retry: { retries: 0 },
    })),
  }),
  { CONTRACT_KEY: SECRET },
);

const tools = ['get_weather', 'get_time', 'set_light_values', 'get_current_weather'].map(
  (name) => ({
    name,
    schema: { type: 'object', properties: { location: { type: 'string' } } },
  }),
);

function openaiRequest(model: string, stream: boolean): Record<string, unknown> {
  return {
    model,
    stream,
    // Asked for, so that passthrough needs no patching and the bytes can be compared whole.
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    messages: [
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather in Paris?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      { role: 'user', content: 'And the time?' },
    ],
    tools: tools.map((t) => ({
      type: 'function',
      function: { name: t.name, parameters: t.schema },
    })),
  };
}

function anthropicRequest(model: string, stream: boolean): Record<string, unknown> {
  return {
    model,
    stream,
    max_tokens: 512,
    system: 'Be brief.',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather in Paris?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21}' },
          { type: 'text', text: 'And the time?' },
        ],
      },
    ],
    tools: tools.map((t) => ({ name: t.name, input_schema: t.schema })),
  };
}

const inbounds: Array<{ spec: InboundSpec; request: typeof openaiRequest }> = [
  { spec: openaiChat, request: openaiRequest },
  { spec: anthropicMessages, request: anthropicRequest },
];

const mocks: Record<WireFormat, (request: Request) => Promise<Response>> = {
  openai: createMockOpenAI(),
  anthropic: createMockAnthropic(),
  gemini: createMockGemini(),
};

/** A recorded reply, read in small pieces so events arrive split across reads. */
function replayed(status: number, body: Uint8Array, sse: boolean): UpstreamResponse {
  return {
    status,
    header: (name) =>
      name === 'content-type' ? (sse ? 'text/event-stream' : 'application/json') : null,
    bytes: async () => new Uint8Array(body),
    stream: (sink) => {
      let at = 0;
      const pieces = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= body.byteLength) return controller.close();
          controller.enqueue(body.slice(at, at + 5));
          at += 5;
        },
      });
      return readerSource(pieces.getReader())(sink);
    },
    discard: () => {},
  };
}

/** Every request goes to the format's mock first: a request it refuses fails the contract. */
function transportFor(
  wire: WireFormat,
  reply: UpstreamResponse,
  seen: UpstreamRequest[],
): Transport {
  return async (req) => {
    seen.push(req);
    const check = await mocks[wire](
      new Request(req.url, { method: req.method, headers: req.headers, body: req.body ?? null }),
    );
    expect(check.status, `${wire} refused the request: ${await check.clone().text()}`).toBe(200);
    await check.body?.cancel();
    return reply;
  };
}

function expectedUrl(target: RouteTarget, stream: boolean): string {
  const base = target.provider.baseUrl;
  const row = target.provider.row;
  if (row.format === 'anthropic') return `${base}/messages`;
  if (row.format === 'gemini')
    return `${base}/models/${UPSTREAM_MODEL}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
  if (row.endpoint?.type === 'azure-deployment')
    return `${base}/openai/deployments/${UPSTREAM_MODEL}/chat/completions?api-version=${row.endpoint.apiVersion}`;
  return `${base}/chat/completions`;
}

function expectCredential(target: RouteTarget, req: UpstreamRequest): void {
  const auth = target.provider.row.auth;
  if (auth.type === 'bearer') expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
  if (auth.type === 'header') expect(req.headers[auth.name]).toBe(SECRET);
  for (const [name, value] of Object.entries(target.provider.row.headers ?? {}))
    expect(req.headers[name]).toBe(value);
  if (auth.type !== 'bearer') expect(req.headers.authorization).toBeUndefined();
}

async function run(kind: ProviderKind, inbound: (typeof inbounds)[number], c: Case) {
  const route = config.routes.get(`m-${kind}`);
  if (!route) throw new Error(kind);
  const target = route.targets[0] as RouteTarget;
  const wire = target.provider.row.format;
  const sse = c.file.endsWith('.sse');
  const body = inbound.request(`m-${kind}`, sse);
  const seen: UpstreamRequest[] = [];
  const usages: Array<TokenUsage | undefined> = [];
  const ends: StreamEnd[] = [];
  const bytes = fixture(wire, c.file);
  const transport = transportFor(wire, replayed(c.status ?? 200, bytes, sse), seen);
  const format = inbound.spec.format;
  let text: string;
  try {
    const { reply } = await dispatch(
      route,
      {
        inbound: format,
        op: 'chat',
        body,
        raw: JSON.stringify(body),
        clientHeaders: {},
        stream: sse,
        signal: undefined,
        timeoutMs: 5000,
        onUsage: (usage) => usages.push(usage),
        onEnd: (end) => void ends.push(end),
        streamErrorEvent: inbound.spec.streamErrorEvent,
      },
      { transport, health: new HealthRegistry(config), totalMs: 5000 },
    );
    text = await new Response(reply.body, reply).text();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    text = await renderError(format, err as GatewayError).text();
  }
  return { target, wire, sse, seen, usages, ends, text, bytes, passthrough: wire === format };
}

function read(format: 'openai' | 'anthropic', sse: boolean, text: string, lenient: boolean): Reply {
  if (format === 'openai')
    return sse && !text.startsWith('{')
      ? readOpenAIStream(text, lenient)
      : readOpenAIJson(JSON.parse(text), lenient);
  return sse && !text.startsWith('{')
    ? readAnthropicStream(text)
    : readAnthropicJson(JSON.parse(text));
}

const rows = providerKinds.filter((kind) => catalogRow(kind).builtin === undefined);

describe.each(rows)('catalog row %s', (kind) => {
  const wire = catalog[kind].format;
  describe.each(inbounds)('from $spec.format clients', (inbound) => {
    it.each(cases(wire))('$file', async (c) => {
      const result = await run(kind, inbound, c);
      const format = inbound.spec.format;
      const [req] = result.seen;
      expect(result.seen).toHaveLength(1);
      if (!req) throw new Error('no upstream request');
      expect(req.url).toBe(expectedUrl(result.target, result.sse));
      expectCredential(result.target, req);
      const sent = JSON.parse(req.body ?? '{}') as Record<string, unknown>;
      if (wire !== 'gemini') expect(sent.model).toBe(UPSTREAM_MODEL);
      if (wire === 'openai' && format === 'anthropic') {
        const field = result.target.provider.row.maxTokensField ?? 'max_tokens';
        expect(sent[field]).toBe(512);
        if (result.sse)
          expect(sent.stream_options !== undefined).toBe(
            result.target.provider.row.streamUsage === 'stream_options',
          );
      }

      const reply = read(format, result.sse, result.text, result.passthrough);
      const expected = c.expect;
      if (expected.error !== undefined) {
        const code = expected.error as keyof typeof errorCodes;
        // Passthrough too: an upstream's error event reaches the client as Vidai's own, redacted.
        expect(reply.error).toBe(format === 'openai' ? code : errorCodes[code].anthropic);
      } else {
        expect(reply.error).toBeUndefined();
        expect(reply.finish).toBe(expected.finish);
        expect(result.usages.at(-1)).toEqual(expected.usage);
      }
      expect(reply.text).toBe(expected.text ?? '');
      expect(reply.reasoning).toBe(
        format === 'openai' && result.passthrough ? '' : (expected.reasoning ?? ''),
      );
      expect(reply.toolCalls).toEqual(expected.toolCalls ?? []);

      if (c.status === undefined || c.status === 200) {
        expect(result.ends).toEqual([
          expected.error === undefined
            ? { outcome: 'complete' }
            : { outcome: 'error', error: expect.anything() },
        ]);
      }
      if (result.passthrough && (c.status ?? 200) === 200 && expected.error === undefined) {
        // Passthrough means the upstream's bytes, untouched (but for an error it ends with).
        expect(result.text).toBe(result.bytes.toString('utf8'));
      }
    });
  });
});

describe('the built-in mock row', () => {
  it.each(inbounds)('serves $spec.format clients its canned reply', async (inbound) => {
    const route = config.routes.get('m-mock');
    if (!route) throw new Error('mock');
    for (const stream of [false, true]) {
      const body = { ...inbound.request('m-mock', stream), tools: undefined };
      const { reply: served } = await dispatch(
        route,
        {
          inbound: inbound.spec.format,
          op: 'chat',
          body,
          raw: JSON.stringify(body),
          clientHeaders: {},
          stream,
          signal: undefined,
          timeoutMs: 5000,
          onUsage: () => {},
          onEnd: () => {},
          streamErrorEvent: inbound.spec.streamErrorEvent,
        },
        {
          transport: () => Promise.reject(new Error('the mock is served in-process')),
          health: new HealthRegistry(config),
          totalMs: 5000,
        },
      );
      const reply = read(
        inbound.spec.format,
        stream,
        await new Response(served.body, served).text(),
        false,
      );
      expect(reply).toMatchObject({ text: MOCK_REPLY, finish: 'stop', error: undefined });
    }
  });
});
