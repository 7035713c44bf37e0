/**
 * The hub format every translation goes through: OpenAI chat completions
 * (https://platform.openai.com/docs/api-reference/chat). An Anthropic client reaching Gemini is
 * Anthropic → hub → Gemini and back, so each wire format is written once per direction, not
 * once per pair. These are the shapes the translators build; requests stay `JsonObject` (they
 * come from callers and are read defensively, see conversation.ts).
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ChatUsage {
  /** All input tokens, cache reads and writes included. */
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: 'assistant';
  content: string | null;
  refusal: null;
  /** Thinking text (Anthropic thinking blocks, Gemini thought parts), as DeepSeek and others name it. */
  reasoning_content?: string;
  tool_calls?: ChatToolCall[];
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: ChatMessage;
    logprobs: null;
    finish_reason: FinishReason;
  }>;
  usage?: ChatUsage;
}

export interface ChunkToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments?: string };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  reasoning_content?: string;
  tool_calls?: ChunkToolCall[];
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: ChunkDelta;
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  usage?: ChatUsage | null;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function randomId(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

export function hubUsage(
  input: number,
  output: number,
  cacheRead = 0,
  cacheWrite = 0,
  reasoning = 0,
): ChatUsage {
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: {
      cached_tokens: cacheRead,
      ...(cacheWrite > 0 ? { cache_write_tokens: cacheWrite } : {}),
    },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

/** Builds the chunks of one stream: same id, model and time on each, as OpenAI sends them. */
export class ChunkBuilder {
  id: string;
  model: string;
  readonly created = nowSeconds();

  constructor(id: string, model: string) {
    this.id = id;
    this.model = model;
  }

  delta(delta: ChunkDelta, finish: FinishReason | null = null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
  }

  usage(usage: ChatUsage): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
  }
}

/** A one-choice hub completion, as the Anthropic and Gemini response mappers build it. */
export function hubCompletion(reply: {
  id: string;
  model: string;
  text: string;
  reasoning: string;
  calls: ChatToolCall[];
  finish: FinishReason;
  usage: ChatUsage | undefined;
}): ChatCompletion {
  const { text, reasoning, calls, usage } = reply;
  return {
    id: reply.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: reply.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text.length > 0 || calls.length === 0 ? text : null,
          refusal: null,
          ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: reply.finish,
      },
    ],
    ...(usage ? { usage } : {}),
  };
}
