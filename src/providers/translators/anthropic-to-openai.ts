import { formatSseEvent } from '../../sse/serialize';
import { isObject, type JsonObject } from '../../util/json';
import { invalid } from './conversation';
import {
  randomId,
  type ChatChunk,
  type ChatCompletion,
  type ChatUsage,
  type FinishReason,
} from './hub';
import type { InboundTranslator, StreamEncoder } from './translator';

/**
 * Anthropic Messages client (https://docs.anthropic.com/en/api/messages) → OpenAI chat (the
 * hub) and back: requests become hub requests, hub replies become Anthropic messages, hub
 * chunks become Anthropic's event sequence. Anthropic → Gemini is this composed with
 * openai-to-gemini; Anthropic → Anthropic is byte passthrough and never comes here.
 */
type Part = JsonObject;

function dataUrl(source: JsonObject, param: string): string {
  if (
    source.type === 'base64' &&
    typeof source.media_type === 'string' &&
    typeof source.data === 'string'
  )
    return `data:${source.media_type};base64,${source.data}`;
  if (source.type === 'url' && typeof source.url === 'string') return source.url;
  throw invalid(
    'This media source cannot be translated for this provider; send base64 or a URL.',
    param,
  );
}

/** One Anthropic content block as a hub user content part (undefined: nothing to send). */
function userPart(block: JsonObject, param: string): Part | undefined {
  const src = isObject(block.source) ? block.source : {};
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? { type: 'text', text: block.text } : undefined;
    case 'image':
      return { type: 'image_url', image_url: { url: dataUrl(src, `${param}.source`) } };
    case 'document':
      if (src.type === 'text' && typeof src.data === 'string')
        return { type: 'text', text: src.data };
      return { type: 'file', file: { file_data: dataUrl(src, `${param}.source`) } };
    default:
      throw invalid(
        `Content blocks of type '${String(block.type)}' cannot be translated for this provider.`,
        param,
      );
  }
}

function blocksOf(content: unknown, param: string): JsonObject[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw invalid('content must be a string or an array of blocks.', param);
  return content.map((block, i) => {
    if (!isObject(block)) throw invalid('A content block must be an object.', `${param}[${i}]`);
    return block;
  });
}

function textOf(blocks: JsonObject[]): string {
  return blocks
    .map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
    .join('');
}

/** A user turn: tool results first (as tool messages, which must follow the assistant's calls), then the rest. */
function userMessages(content: unknown, param: string): JsonObject[] {
  const out: JsonObject[] = [];
  const parts: Part[] = [];
  blocksOf(content, param).forEach((block, i) => {
    const at = `${param}[${i}]`;
    if (block.type !== 'tool_result') {
      const part = userPart(block, at);
      if (part) parts.push(part);
      return;
    }
    const inner = block.content === undefined ? [] : blocksOf(block.content, `${at}.content`);
    const text = textOf(inner);
    out.push({
      role: 'tool',
      tool_call_id: String(block.tool_use_id),
      content: block.is_error === true ? `Error: ${text}` : text,
    });
    // Images a tool returned cannot ride in an OpenAI tool message: they follow as user content.
    inner.forEach((b, j) => {
      const part = b.type === 'text' ? undefined : userPart(b, `${at}.content[${j}]`);
      if (part) parts.push(part);
    });
  });
  if (parts.length > 0) out.push({ role: 'user', content: parts });
  return out;
}

function assistantMessage(content: unknown, param: string): JsonObject {
  const blocks = blocksOf(content, param);
  const calls = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({
      id: String(b.id),
      type: 'function',
      function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
    }));
  const text = textOf(blocks); // thinking blocks are Anthropic's own: other providers get the answer only
  return {
    role: 'assistant',
    content: text.length > 0 ? text : null,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
}

function hubTools(tools: unknown): JsonObject[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  return tools.map((tool, i) => {
    if (!isObject(tool) || typeof tool.name !== 'string')
      throw invalid('A tool needs a name.', `tools[${i}]`);
    if (tool.type !== undefined && tool.type !== 'custom')
      throw invalid(
        `The server tool '${String(tool.type)}' is only served by Anthropic models.`,
        `tools[${i}]`,
      );
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        parameters: isObject(tool.input_schema)
          ? tool.input_schema
          : { type: 'object', properties: {} },
      },
    };
  });
}

function hubToolChoice(choice: unknown): JsonObject {
  if (!isObject(choice)) return {};
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'none':
      return { tool_choice: 'none' };
    case 'tool':
      return {
        tool_choice: { type: 'function', function: { name: String(choice.name) } },
        ...parallel,
      };
    default:
      return { tool_choice: 'auto', ...parallel };
  }
}

function reasoningEffort(thinking: unknown): JsonObject {
  if (!isObject(thinking) || thinking.type === 'disabled') return {};
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 8192;
  return { reasoning_effort: budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high' };
}

export function hubRequest(body: JsonObject): JsonObject {
  if (!Array.isArray(body.messages)) throw invalid('messages: Field required', 'messages');
  const messages: JsonObject[] = [];
  if (body.system !== undefined) {
    for (const block of blocksOf(body.system, 'system'))
      if (typeof block.text === 'string' && block.text.length > 0)
        messages.push({ role: 'system', content: block.text });
  }
  body.messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) throw invalid('A message must be an object.', param);
    if (message.role === 'user')
      messages.push(...userMessages(message.content, `${param}.content`));
    else if (message.role === 'assistant')
      messages.push(assistantMessage(message.content, `${param}.content`));
    else throw invalid(`Unknown message role '${String(message.role)}'.`, `${param}.role`);
  });
  const hub: JsonObject = { model: body.model, messages };
  if (typeof body.max_tokens === 'number') hub.max_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') hub.temperature = body.temperature;
  if (typeof body.top_p === 'number') hub.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0)
    hub.stop = body.stop_sequences;
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string')
    hub.user = body.metadata.user_id;
  const tools = hubTools(body.tools);
  if (tools !== undefined && tools.length > 0)
    Object.assign(hub, { tools }, hubToolChoice(body.tool_choice));
  Object.assign(hub, reasoningEffort(body.thinking));
  if (body.stream === true) hub.stream = true;
  return hub;
}

const stopReasons: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

function stopReason(finish: FinishReason | string | null | undefined): string {
  return stopReasons[finish ?? 'stop'] ?? 'end_turn';
}

/** Hub usage → Anthropic's, whose `input_tokens` leaves out cache reads and writes. */
function anthropicUsage(usage: ChatUsage | null | undefined): JsonObject {
  const read = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const write = usage?.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - read - write),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  };
}

function messageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id.replace(/[^A-Za-z0-9_]/g, '') || randomId('')}`;
}

function parseInput(args: string): JsonObject {
  try {
    const input: unknown = JSON.parse(args);
    return isObject(input) ? input : {};
  } catch {
    return {};
  }
}

export function anthropicMessage(hub: ChatCompletion): JsonObject {
  const choice = hub.choices[0];
  const message = choice?.message;
  const content: JsonObject[] = [];
  if (message?.reasoning_content)
    content.push({ type: 'thinking', thinking: message.reasoning_content, signature: '' });
  if (message?.content) content.push({ type: 'text', text: message.content });
  for (const call of message?.tool_calls ?? [])
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: parseInput(call.function.arguments),
    });
  return {
    id: messageId(hub.id),
    type: 'message',
    role: 'assistant',
    model: hub.model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(hub.usage),
  };
}

type BlockKind = 'text' | 'thinking' | 'tool';

/** Hub chunks → Anthropic's event sequence (https://docs.anthropic.com/en/docs/build-with-claude/streaming). */
class AnthropicEncoder implements StreamEncoder {
  private started = false;
  private blocks = 0;
  private open: { kind: BlockKind; index: number } | undefined;
  private toolBlocks = new Map<number, number>();
  private finish: string | null = null;
  private usage: ChatUsage | null | undefined;

  constructor(private readonly model: string) {}

  private event(type: string, data: JsonObject): string {
    return formatSseEvent(JSON.stringify({ type, ...data }), type);
  }

  private start(chunk: ChatChunk | undefined): string {
    if (this.started) return '';
    this.started = true;
    const message = {
      id: messageId(chunk?.id ?? randomId('')),
      type: 'message',
      role: 'assistant',
      model: chunk?.model || this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return this.event('message_start', { message }) + this.event('ping', {});
  }

  private close(): string {
    if (this.open === undefined) return '';
    const index = this.open.index;
    this.open = undefined;
    return this.event('content_block_stop', { index });
  }

  /** Makes a block of `kind` the open one (closing another), and returns its index. */
  private ensure(kind: 'text' | 'thinking', out: string[]): number {
    if (this.open?.kind === kind) return this.open.index;
    out.push(this.close());
    const index = this.blocks++;
    this.open = { kind, index };
    const block =
      kind === 'text'
        ? { type: 'text', text: '' }
        : { type: 'thinking', thinking: '', signature: '' };
    out.push(this.event('content_block_start', { index, content_block: block }));
    return index;
  }

  push(chunk: ChatChunk): string {
    const out = [this.start(chunk)];
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice === undefined) return out.join('');
    const delta = choice.delta ?? {};
    if (delta.reasoning_content) {
      const index = this.ensure('thinking', out);
      out.push(
        this.event('content_block_delta', {
          index,
          delta: { type: 'thinking_delta', thinking: delta.reasoning_content },
        }),
      );
    }
    if (delta.content) {
      const index = this.ensure('text', out);
      out.push(
        this.event('content_block_delta', {
          index,
          delta: { type: 'text_delta', text: delta.content },
        }),
      );
    }
    for (const call of delta.tool_calls ?? []) {
      let index = this.toolBlocks.get(call.index);
      if (index === undefined) {
        out.push(this.close());
        index = this.blocks++;
        this.toolBlocks.set(call.index, index);
        this.open = { kind: 'tool', index };
        const block = {
          type: 'tool_use',
          id: call.id ?? randomId('toolu_'),
          name: call.function?.name ?? '',
          input: {},
        };
        out.push(this.event('content_block_start', { index, content_block: block }));
      }
      const fragment = call.function?.arguments;
      if (fragment)
        out.push(
          this.event('content_block_delta', {
            index,
            delta: { type: 'input_json_delta', partial_json: fragment },
          }),
        );
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out.join('');
  }

  end(): string {
    return [
      this.start(undefined),
      this.close(),
      this.event('message_delta', {
        delta: { stop_reason: stopReason(this.finish), stop_sequence: null },
        usage: anthropicUsage(this.usage),
      }),
      this.event('message_stop', {}),
    ].join('');
  }
}

export const anthropicToOpenAI: InboundTranslator = {
  request: hubRequest,
  response: anthropicMessage,
  stream: (body) => new AnthropicEncoder(typeof body.model === 'string' ? body.model : ''),
};
