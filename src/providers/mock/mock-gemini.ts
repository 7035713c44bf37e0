import { sseHeaders } from '../../sse/serialize';
import {
  eventStream,
  isObject,
  MOCK_REPLY,
  MOCK_THINKING,
  planReply,
  randomId,
  type MockPlan,
} from './script';
import { countTokens } from './tokens';

/**
 * A small Gemini API server as a Web handler, in the documented wire format
 * (https://ai.google.dev/api/generate-content): `models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse` (CRLF-framed SSE, no end marker: the last chunk has the
 * finishReason and usage), `:countTokens`, `x-goog-api-key`, and errors as
 * `{"error":{"code","message","status"}}`. Like the real API it refuses unknown fields, and
 * for `gemini-3*` models it requires the thought signature of each earlier function call
 * (https://ai.google.dev/gemini-api/docs/thought-signatures).
 */
export interface MockGeminiOptions {
  chunkDelayMs?: number;
  reply?: string;
}

type Json = Record<string, unknown>;

const statuses: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

function error(code: number, message: string): Response {
  return Response.json(
    { error: { code, message, status: statuses[code] ?? 'UNKNOWN' } },
    { status: code },
  );
}

const requestFields = [
  'contents',
  'systemInstruction',
  'tools',
  'toolConfig',
  'generationConfig',
  'safetySettings',
  'cachedContent',
];
const configFields = [
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'stopSequences',
  'candidateCount',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'thinkingConfig',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
];
const partFields = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'];

function unknownField(object: Json, allowed: string[], at: string): string | undefined {
  const name = Object.keys(object).find((key) => !allowed.includes(key));
  return name === undefined
    ? undefined
    : `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`;
}

function partProblem(
  part: unknown,
  at: string,
  calls: Set<string>,
  strict: boolean,
): string | undefined {
  if (!isObject(part)) return `${at}: must be an object`;
  const data = partFields.filter((field) => part[field] !== undefined);
  if (data.length !== 1) return `${at}: a part must have exactly one of ${partFields.join(', ')}`;
  const unknown = unknownField(part, [...partFields, 'thought', 'thoughtSignature'], at);
  if (unknown) return unknown;
  const inline = part.inlineData;
  if (
    isObject(inline) &&
    (typeof inline.mimeType !== 'string' ||
      typeof inline.data !== 'string' ||
      !/^[A-Za-z0-9+/]*={0,2}$/.test(inline.data))
  )
    return `${at}.inline_data: needs a mimeType and base64 data`;
  const file = part.fileData;
  if (isObject(file) && typeof file.fileUri !== 'string')
    return `${at}.file_data.file_uri: required`;
  const call = part.functionCall;
  if (isObject(call)) {
    if (typeof call.name !== 'string' || (call.args !== undefined && !isObject(call.args)))
      return `${at}.function_call: needs a name and object args`;
    if (strict && typeof part.thoughtSignature !== 'string')
      return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`${call.name}\`, position ${at}.`;
    calls.add(call.name);
  }
  const response = part.functionResponse;
  if (isObject(response)) {
    if (typeof response.name !== 'string' || !isObject(response.response))
      return `${at}.function_response: needs a name and an object response`;
    if (!calls.has(response.name))
      return `${at}.function_response: no earlier function call named ${response.name}`;
  }
  return undefined;
}

function requestProblem(body: Json, model: string): string | undefined {
  const unknown = unknownField(body, requestFields, '');
  if (unknown) return unknown;
  if (!Array.isArray(body.contents) || body.contents.length === 0)
    return '* GenerateContentRequest.contents: contents is not specified';
  const calls = new Set<string>();
  const strict = model.startsWith('gemini-3');
  for (const [i, content] of body.contents.entries()) {
    if (!isObject(content) || (content.role !== 'user' && content.role !== 'model'))
      return `contents[${i}].role: Please use a valid role: user, model.`;
    if (!Array.isArray(content.parts) || content.parts.length === 0)
      return `contents[${i}].parts: must not be empty`;
    for (const [j, part] of content.parts.entries()) {
      const problem = partProblem(
        part,
        `contents[${i}].parts[${j}]`,
        calls,
        strict && content.role === 'model',
      );
      if (problem) return problem;
    }
  }
  if (isObject(body.generationConfig))
    return unknownField(body.generationConfig, configFields, 'generation_config');
  if (Array.isArray(body.tools))
    for (const tool of body.tools)
      for (const fn of isObject(tool) && Array.isArray(tool.functionDeclarations)
        ? tool.functionDeclarations
        : [])
        if (isObject(fn)) {
          const bad = unknownField(
            fn,
            ['name', 'description', 'parameters', 'parametersJsonSchema'],
            'tools.function_declarations',
          );
          if (bad) return bad;
        }
  return undefined;
}

function text(value: unknown): string {
  if (!Array.isArray(value)) return '';
  return value.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join(' ');
}

/** Prompt tokens: text by the mock's tokenizer, 258 per image or file (Gemini's count for an image), calls and results as their JSON. */
function promptTokens(body: Json): number {
  let n = countTokens(text(isObject(body.systemInstruction) ? body.systemInstruction.parts : []));
  for (const content of Array.isArray(body.contents) ? body.contents : []) {
    if (!isObject(content) || !Array.isArray(content.parts)) continue;
    n += 4;
    for (const part of content.parts.filter(isObject)) {
      if (typeof part.text === 'string') n += countTokens(part.text);
      else if (part.inlineData !== undefined || part.fileData !== undefined) n += 258;
      else n += countTokens(JSON.stringify(part.functionCall ?? part.functionResponse ?? {}));
    }
  }
  if (body.tools !== undefined) n += countTokens(JSON.stringify(body.tools));
  return n;
}

function plan(body: Json, options: MockGeminiOptions): MockPlan {
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : [])
    .flatMap((tool) =>
      Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations.filter(isObject) : [],
    )
    .map((fn) => ({ name: String(fn.name), parameters: fn.parametersJsonSchema ?? fn.parameters }));
  const config =
    isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig)
      ? body.toolConfig.functionCallingConfig
      : {};
  const allowed = Array.isArray(config.allowedFunctionNames) ? config.allowedFunctionNames : [];
  const contents = Array.isArray(body.contents) ? body.contents : [];
  const last = contents[contents.length - 1];
  const generation = isObject(body.generationConfig) ? body.generationConfig : {};
  return planReply({
    tools,
    choice:
      config.mode === 'NONE'
        ? 'none'
        : config.mode === 'ANY'
          ? allowed.length === 1
            ? { name: String(allowed[0]) }
            : 'required'
          : undefined,
    parallel: true,
    answeringToolResult:
      isObject(last) &&
      Array.isArray(last.parts) &&
      last.parts.some((p) => isObject(p) && p.functionResponse !== undefined),
    maxTokens:
      typeof generation.maxOutputTokens === 'number' ? generation.maxOutputTokens : undefined,
    reply: options.reply ?? MOCK_REPLY,
  });
}

const finishReasons = { stop: 'STOP', length: 'MAX_TOKENS', tool_calls: 'STOP' } as const;

function thinkingOn(body: Json): boolean {
  const config = isObject(body.generationConfig) ? body.generationConfig.thinkingConfig : undefined;
  return isObject(config) && config.includeThoughts === true;
}

/** The reply as the list of parts it is streamed in (a whole reply is their concatenation). */
function replyParts(body: Json, planned: MockPlan): Json[][] {
  const chunks: Json[][] = [];
  if (thinkingOn(body)) chunks.push([{ text: MOCK_THINKING, thought: true }]);
  const pieces = planned.pieces;
  for (let i = 0; i < pieces.length; i += 4)
    chunks.push([{ text: pieces.slice(i, i + 4).join('') }]);
  if (planned.toolCalls.length > 0)
    chunks.push(
      planned.toolCalls.map((call, i) => ({
        functionCall: { name: call.name, args: call.arguments },
        ...(i === 0 ? { thoughtSignature: btoa(randomId('sig_') + '+/=') } : {}),
      })),
    );
  if (chunks.length === 0) chunks.push([{ text: '' }]);
  return chunks;
}

function usage(body: Json, planned: MockPlan): Json {
  const prompt = promptTokens(body);
  const thoughts = thinkingOn(body) ? countTokens(MOCK_THINKING) : 0;
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: planned.outputTokens,
    totalTokenCount: prompt + planned.outputTokens + thoughts,
    ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
  };
}

function response(
  parts: Json[],
  finish: string | undefined,
  model: string,
  id: string,
  meta?: Json,
): Json {
  return {
    candidates: [
      { content: { parts, role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 },
    ],
    ...(meta ? { usageMetadata: meta } : {}),
    modelVersion: model,
    responseId: id,
  };
}

export function createMockGemini(
  options: MockGeminiOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const match = /\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(
      url.pathname,
    );
    if (match === null || request.method !== 'POST')
      return error(404, `Method not found: ${url.pathname}`);
    if (!request.headers.get('x-goog-api-key'))
      return error(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    const model = decodeURIComponent(match[1] ?? '');
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return error(400, 'Invalid JSON payload received.');
    }
    if (!isObject(body)) return error(400, 'Invalid JSON payload received.');
    if (match[2] === 'countTokens') {
      const inner = isObject(body.generateContentRequest)
        ? { ...body.generateContentRequest }
        : body;
      delete inner.model;
      const problem = requestProblem(inner, model);
      return problem ? error(400, problem) : Response.json({ totalTokens: promptTokens(inner) });
    }
    const problem = requestProblem(body, model);
    if (problem) return error(400, problem);
    const planned = plan(body, options);
    const chunks = replyParts(body, planned);
    const id = randomId('');
    const finish = finishReasons[planned.finish];
    if (match[2] === 'generateContent')
      return Response.json(response(chunks.flat(), finish, model, id, usage(body, planned)));
    if (url.searchParams.get('alt') !== 'sse')
      return error(400, 'This mock streams only with alt=sse.');
    const events = chunks.map((parts, i) => {
      const lastChunk = i === chunks.length - 1;
      const data = response(
        parts,
        lastChunk ? finish : undefined,
        model,
        id,
        lastChunk ? usage(body, planned) : undefined,
      );
      return `data: ${JSON.stringify(data)}\r\n\r\n`;
    });
    return new Response(eventStream(events, options.chunkDelayMs ?? 0), { headers: sseHeaders });
  };
}
