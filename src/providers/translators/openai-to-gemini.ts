import type { RouteTarget } from '../../config/compile';
import { StreamCutError } from '../../pipeline/openai-stream';
import { notAReply, unreadableReply, upstreamStreamError } from '../../pipeline/upstream-errors';
import type { SseEvent } from '../../sse/parser';
import { readCounts } from '../../usage/usage';
import { isObject, type JsonObject } from '../../util/json';
import {
  argumentsObject,
  readConversation,
  reasoningBudgets,
  type Conversation,
  type MediaSource,
  type UserPart,
} from './conversation';
import {
  ChunkBuilder,
  hubCompletion,
  hubUsage,
  randomId,
  type ChatCompletion,
  type ChatToolCall,
  type ChatUsage,
  type ChunkDelta,
  type FinishReason,
} from './hub';
import type { Emit, StreamDecoder, UpstreamTranslator } from './translator';

/**
 * OpenAI chat (the hub) → Gemini generateContent / streamGenerateContent
 * (https://ai.google.dev/api/generate-content) and back.
 *
 * Gemini's function calls carry no id (older models) and its thinking models attach a
 * `thoughtSignature` that must come back with the call in the next turn
 * (https://ai.google.dev/gemini-api/docs/thought-signatures). OpenAI clients only echo the
 * tool call id, so the signature travels inside it: `call_<random>__ts__<base64url signature>`.
 */
const SIGNATURE_MARK = '__ts__';

function toBase64Url(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
  return base64 + '='.repeat((4 - (base64.length % 4)) % 4);
}

export function callId(signature: unknown): string {
  const id = randomId('call_');
  return typeof signature === 'string' && signature.length > 0
    ? `${id}${SIGNATURE_MARK}${toBase64Url(signature)}`
    : id;
}

function signatureOf(id: string): string | undefined {
  const at = id.indexOf(SIGNATURE_MARK);
  return at === -1 ? undefined : fromBase64Url(id.slice(at + SIGNATURE_MARK.length));
}

const extensionTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  pdf: 'application/pdf',
};

function mediaPart(media: MediaSource, kind: 'image' | 'file'): JsonObject {
  if (media.kind === 'base64')
    return { inlineData: { mimeType: media.mediaType, data: media.data } };
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(media.url)?.[1]?.toLowerCase() ?? '';
  const mimeType =
    extensionTypes[extension] ?? (kind === 'image' ? 'image/jpeg' : 'application/pdf');
  return { fileData: { mimeType, fileUri: media.url } };
}

function userPart(part: UserPart): JsonObject {
  return part.type === 'text' ? { text: part.text } : mediaPart(part.source, part.type);
}

function functionCallPart(call: ChatToolCall, param: string): JsonObject {
  const signature = signatureOf(call.id);
  return {
    functionCall: {
      name: call.function.name,
      args: argumentsObject(call.function.arguments, param),
    },
    ...(signature === undefined ? {} : { thoughtSignature: signature }),
  };
}

/** A tool's output as Gemini's `response` object: a JSON object as it is, anything else under `output`. */
function functionResponse(content: string): JsonObject {
  try {
    const parsed: unknown = JSON.parse(content);
    if (isObject(parsed)) return parsed;
  } catch {
    // plain text
  }
  return { output: content };
}

function contents(conversation: Conversation): JsonObject[] {
  const out: Array<{ role: 'user' | 'model'; parts: JsonObject[] }> = [];
  conversation.turns.forEach((turn, i) => {
    const role = turn.role === 'assistant' ? 'model' : 'user';
    const parts =
      turn.role === 'user'
        ? turn.parts.map(userPart)
        : turn.role === 'tool'
          ? [{ functionResponse: { name: turn.name, response: functionResponse(turn.content) } }]
          : [
              ...(turn.text.length > 0 ? [{ text: turn.text }] : []),
              ...turn.toolCalls.map((call, j) =>
                functionCallPart(call, `messages[${i}].tool_calls[${j}]`),
              ),
            ];
    // An empty turn (an assistant message with no text) is refused upstream and says nothing.
    if (parts.length === 0) return;
    const last = out[out.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  });
  return out;
}

function toolConfig(conversation: Conversation): JsonObject | undefined {
  const choice = conversation.toolChoice;
  if (choice === undefined || conversation.tools.length === 0) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
}

function generationConfig(conversation: Conversation): JsonObject {
  const config: JsonObject = {};
  if (conversation.maxTokens !== undefined) config.maxOutputTokens = conversation.maxTokens;
  if (conversation.temperature !== undefined) config.temperature = conversation.temperature;
  if (conversation.topP !== undefined) config.topP = conversation.topP;
  if (conversation.stop.length > 0) config.stopSequences = conversation.stop;
  const format = conversation.responseFormat;
  if (format !== undefined) config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') config.responseJsonSchema = format.schema;
  if (conversation.reasoning !== undefined)
    config.thinkingConfig = {
      thinkingBudget: reasoningBudgets[conversation.reasoning],
      includeThoughts: true,
    };
  return config;
}

/** The parts of a request every Gemini method shares (generate and count). */
function requestParts(conversation: Conversation): JsonObject {
  const system = conversation.system.filter((text) => text.length > 0);
  const body: JsonObject = { contents: contents(conversation) };
  if (system.length > 0) body.systemInstruction = { parts: system.map((text) => ({ text })) };
  if (conversation.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: conversation.tools.map((tool) => ({
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parametersJsonSchema: tool.parameters,
        })),
      },
    ];
  }
  const tools = toolConfig(conversation);
  if (tools !== undefined) body.toolConfig = tools;
  return body;
}

export function geminiBody(conversation: Conversation): JsonObject {
  const body = requestParts(conversation);
  const config = generationConfig(conversation);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

function modelPath(target: RouteTarget): string {
  return `${target.provider.baseUrl}/models/${encodeURIComponent(target.model.replace(/^models\//, ''))}`;
}

const finishReasons: Record<string, FinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

function finish(reason: unknown, calledTools: boolean): FinishReason {
  const mapped = typeof reason === 'string' ? (finishReasons[reason] ?? 'stop') : 'stop';
  return mapped === 'stop' && calledTools ? 'tool_calls' : mapped;
}

/** Gemini's usageMetadata: prompt tokens include cached ones; thinking tokens are output. */
export function geminiUsage(usage: unknown): ChatUsage | undefined {
  if (!isObject(usage)) return undefined;
  // candidatesTokenCount is left out when nothing was generated.
  const counts = readCounts(
    usage,
    ['promptTokenCount'],
    [
      'candidatesTokenCount',
      'thoughtsTokenCount',
      'toolUsePromptTokenCount',
      'cachedContentTokenCount',
    ],
  );
  if (counts === undefined) return undefined; // missing or not counts: the record estimates
  const thoughts = counts.thoughtsTokenCount;
  return hubUsage(
    counts.promptTokenCount + counts.toolUsePromptTokenCount,
    counts.candidatesTokenCount + thoughts,
    counts.cachedContentTokenCount,
    0,
    thoughts,
  );
}

/** One candidate's parts as hub deltas: text, thought text, complete function calls. */
function partDeltas(parts: unknown, firstToolIndex: number): ChunkDelta[] {
  if (!Array.isArray(parts)) return [];
  const deltas: ChunkDelta[] = [];
  let toolIndex = firstToolIndex;
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (typeof part.text === 'string' && part.text.length > 0) {
      deltas.push(
        part.thought === true ? { reasoning_content: part.text } : { content: part.text },
      );
    } else if (isObject(part.functionCall) && typeof part.functionCall.name === 'string') {
      const call = part.functionCall;
      deltas.push({
        tool_calls: [
          {
            index: toolIndex++,
            id:
              typeof call.id === 'string' && call.id.length > 0
                ? call.id
                : callId(part.thoughtSignature),
            type: 'function',
            function: { name: call.name as string, arguments: JSON.stringify(call.args ?? {}) },
          },
        ],
      });
    }
  }
  return deltas;
}

function firstCandidate(body: JsonObject): JsonObject | undefined {
  return Array.isArray(body.candidates) && isObject(body.candidates[0])
    ? body.candidates[0]
    : undefined;
}

function blocked(body: JsonObject): boolean {
  return isObject(body.promptFeedback) && typeof body.promptFeedback.blockReason === 'string';
}

function completion(body: unknown, target: RouteTarget): ChatCompletion {
  if (!isObject(body)) throw notAReply(body, target.provider.id);
  const candidate = firstCandidate(body);
  if (candidate === undefined && !blocked(body)) throw notAReply(body, target.provider.id);
  let text = '';
  let reasoning = '';
  const calls: ChatToolCall[] = [];
  const content = candidate && isObject(candidate.content) ? candidate.content : {};
  for (const delta of partDeltas(content.parts, 0)) {
    text += delta.content ?? '';
    reasoning += delta.reasoning_content ?? '';
    for (const call of delta.tool_calls ?? []) {
      calls.push({
        id: call.id ?? '',
        type: 'function',
        function: { name: call.function.name ?? '', arguments: call.function.arguments ?? '{}' },
      });
    }
  }
  return hubCompletion({
    id: typeof body.responseId === 'string' ? body.responseId : randomId('chatcmpl-'),
    model: typeof body.modelVersion === 'string' ? body.modelVersion : target.model,
    text,
    reasoning,
    calls,
    finish:
      candidate === undefined ? 'content_filter' : finish(candidate.finishReason, calls.length > 0),
    usage: geminiUsage(body.usageMetadata),
  });
}

/** Each stream event is a whole GenerateContentResponse holding the next piece of the answer. */
class GeminiDecoder implements StreamDecoder {
  private chunks: ChunkBuilder;
  private started = false;
  private tools = 0;
  private usage: unknown;
  private complete = false;

  constructor(private readonly target: RouteTarget) {
    this.chunks = new ChunkBuilder(randomId('chatcmpl-'), target.model);
  }

  push(event: SseEvent, emit: Emit): void {
    let body: unknown;
    try {
      body = JSON.parse(event.data);
    } catch {
      throw unreadableReply(this.target.provider.id);
    }
    if (!isObject(body)) return;
    if (isObject(body.error)) throw upstreamStreamError(event.data, this.target.provider.id);
    if (!this.started) {
      this.started = true;
      if (typeof body.responseId === 'string') this.chunks.id = body.responseId;
      if (typeof body.modelVersion === 'string') this.chunks.model = body.modelVersion;
      emit(this.chunks.delta({ role: 'assistant', content: '' }));
    }
    if (body.usageMetadata !== undefined) this.usage = body.usageMetadata;
    const candidate = firstCandidate(body);
    if (candidate === undefined) {
      if (blocked(body)) {
        this.complete = true;
        emit(this.chunks.delta({}, 'content_filter'));
      }
      return;
    }
    const content = isObject(candidate.content) ? candidate.content : {};
    for (const delta of partDeltas(content.parts, this.tools)) {
      this.tools += delta.tool_calls?.length ?? 0;
      emit(this.chunks.delta(delta));
    }
    if (typeof candidate.finishReason === 'string') {
      this.complete = true;
      emit(this.chunks.delta({}, finish(candidate.finishReason, this.tools > 0)));
    }
  }

  end(emit: Emit): void {
    if (!this.complete) throw new StreamCutError();
    const usage = geminiUsage(this.usage);
    if (usage) emit(this.chunks.usage(usage));
  }
}

export const openaiToGemini: UpstreamTranslator = {
  request(hub, target, stream) {
    return {
      url: `${modelPath(target)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
      body: JSON.stringify(geminiBody(readConversation(hub))),
    };
  },
  response: completion,
  stream: (target) => new GeminiDecoder(target),
  // https://ai.google.dev/api/tokens
  countTokens: {
    request(hub, target) {
      const model = `models/${target.model.replace(/^models\//, '')}`;
      const generateContentRequest = { model, ...requestParts(readConversation(hub)) };
      return {
        url: `${modelPath(target)}:countTokens`,
        body: JSON.stringify({ generateContentRequest }),
      };
    },
    read(body, target) {
      if (!isObject(body) || typeof body.totalTokens !== 'number')
        throw unreadableReply(target.provider.id);
      return body.totalTokens;
    },
  },
};
