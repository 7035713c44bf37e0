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
  type ChatCompletion,
  type ChatToolCall,
  type ChatUsage,
  type FinishReason,
} from './hub';
import type { Emit, StreamDecoder, UpstreamTranslator } from './translator';

/**
 * OpenAI chat (the hub) → Anthropic Messages (https://docs.anthropic.com/en/api/messages) and
 * back. `response_format: json_schema` becomes a forced tool whose input is the answer
 * (Anthropic's documented way to get JSON that follows a schema); its tool call comes back as
 * the message text.
 */
export const JSON_TOOL = 'vidai_json_response';
const FALLBACK_MAX_TOKENS = 4096;

type Block = JsonObject;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

function source(media: MediaSource): JsonObject {
  return media.kind === 'base64'
    ? { type: 'base64', media_type: media.mediaType, data: media.data }
    : { type: 'url', url: media.url };
}

function userBlock(part: UserPart): Block | undefined {
  if (part.type === 'text')
    return part.text.length > 0 ? { type: 'text', text: part.text } : undefined;
  return { type: part.type === 'image' ? 'image' : 'document', source: source(part.source) };
}

function toolUse(call: ChatToolCall, param: string): Block {
  return {
    type: 'tool_use',
    id: call.id,
    name: call.function.name,
    input: argumentsObject(call.function.arguments, param),
  };
}

/** Turns as Anthropic messages; consecutive turns of one role share a message, as tool results must. */
function messages(conversation: Conversation): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  conversation.turns.forEach((turn, i) => {
    let role: AnthropicMessage['role'];
    let blocks: Block[];
    if (turn.role === 'user') {
      role = 'user';
      blocks = turn.parts.map(userBlock).filter((b): b is Block => b !== undefined);
    } else if (turn.role === 'tool') {
      role = 'user';
      blocks = [{ type: 'tool_result', tool_use_id: turn.toolCallId, content: turn.content }];
    } else {
      role = 'assistant';
      blocks = [
        ...(turn.text.length > 0 ? [{ type: 'text', text: turn.text }] : []),
        ...turn.toolCalls.map((call, j) => toolUse(call, `messages[${i}].tool_calls[${j}]`)),
      ];
    }
    // An empty turn (an assistant message with no text) is refused upstream and says nothing.
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  });
  return out;
}

function toolChoice(
  conversation: Conversation,
  forced: string | undefined,
): JsonObject | undefined {
  const parallel = conversation.parallelToolCalls ? {} : { disable_parallel_tool_use: true };
  if (forced !== undefined) return { type: 'tool', name: forced };
  const choice = conversation.toolChoice;
  if (choice === undefined)
    return conversation.parallelToolCalls || conversation.tools.length === 0
      ? undefined
      : { type: 'auto', ...parallel };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  return { type: 'tool', name: choice.name, ...parallel };
}

/**
 * Whether the conversation ends in a tool loop: the last assistant turn called tools. With
 * thinking on, Anthropic requires that turn to start with its signed thinking block, which an
 * OpenAI client cannot send back; so thinking is left off until the loop ends
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use).
 */
function inToolLoop(conversation: Conversation): boolean {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    const turn = conversation.turns[i];
    if (turn?.role === 'assistant') return turn.toolCalls.length > 0;
    if (turn?.role === 'user') return false;
  }
  return false;
}

export function anthropicBody(
  conversation: Conversation,
  target: RouteTarget,
  stream: boolean,
): JsonObject {
  const system = conversation.system.filter((text) => text.length > 0);
  const tools: JsonObject[] = conversation.tools.map((tool) => ({
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: tool.parameters,
  }));
  const format = conversation.responseFormat;
  let forced: string | undefined;
  if (format?.type === 'json_schema') {
    tools.push({
      name: JSON_TOOL,
      description: `Reply by calling this tool: its input is the answer (${format.name}).`,
      input_schema: format.schema,
    });
    // Thinking cannot be combined with a forced tool; then the instruction must do.
    if (conversation.reasoning === undefined) forced = JSON_TOOL;
    else system.push(`Answer only by calling the ${JSON_TOOL} tool.`);
  } else if (format?.type === 'json_object') {
    system.push('Reply with one JSON object and nothing else.');
  }
  let maxTokens =
    conversation.maxTokens ?? target.provider.row.defaultMaxTokens ?? FALLBACK_MAX_TOKENS;
  const body: JsonObject = {
    model: target.model,
    max_tokens: maxTokens,
    messages: messages(conversation),
  };
  if (system.length > 0) body.system = system.map((text) => ({ type: 'text', text }));
  if (tools.length > 0) body.tools = tools;
  const choice = toolChoice(conversation, forced);
  if (choice !== undefined && tools.length > 0) body.tool_choice = choice;
  if (conversation.stop.length > 0) body.stop_sequences = conversation.stop;
  if (conversation.user !== undefined) body.metadata = { user_id: conversation.user };
  if (conversation.reasoning !== undefined && !inToolLoop(conversation)) {
    const budget = reasoningBudgets[conversation.reasoning];
    // The budget is part of max_tokens, and sampling parameters are fixed while thinking.
    if (maxTokens <= budget) maxTokens = budget + maxTokens;
    body.max_tokens = maxTokens;
    body.thinking = { type: 'enabled', budget_tokens: budget };
  } else {
    if (conversation.temperature !== undefined) body.temperature = conversation.temperature;
    if (conversation.topP !== undefined) body.top_p = conversation.topP;
  }
  if (stream) body.stream = true;
  return body;
}

const finishReasons: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function anthropicFinish(reason: unknown, jsonTool: boolean): FinishReason {
  const mapped = typeof reason === 'string' ? (finishReasons[reason] ?? 'stop') : 'stop';
  return jsonTool && mapped === 'tool_calls' ? 'stop' : mapped;
}

/** Anthropic's usage: `input_tokens` excludes cache reads and writes; the hub's prompt tokens include them. */
export function anthropicUsage(usage: unknown): ChatUsage | undefined {
  if (!isObject(usage)) return undefined;
  const counts = readCounts(
    usage,
    ['input_tokens', 'output_tokens'],
    ['cache_read_input_tokens', 'cache_creation_input_tokens'],
  );
  if (counts === undefined) return undefined; // missing or not counts: the record estimates
  const read = counts.cache_read_input_tokens;
  const write = counts.cache_creation_input_tokens;
  return hubUsage(counts.input_tokens + read + write, counts.output_tokens, read, write);
}

function completion(body: unknown, target: RouteTarget): ChatCompletion {
  if (!isObject(body) || !Array.isArray(body.content)) throw notAReply(body, target.provider.id);
  let text = '';
  let reasoning = '';
  let jsonTool = false;
  const calls: ChatToolCall[] = [];
  for (const block of body.content) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'thinking' && typeof block.thinking === 'string')
      reasoning += block.thinking;
    else if (block.type === 'tool_use' && block.name === JSON_TOOL) {
      jsonTool = true;
      text += JSON.stringify(block.input ?? {});
    } else if (
      block.type === 'tool_use' &&
      typeof block.id === 'string' &&
      typeof block.name === 'string'
    ) {
      calls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  return hubCompletion({
    id: typeof body.id === 'string' ? body.id : 'msg',
    model: typeof body.model === 'string' ? body.model : target.model,
    text,
    reasoning,
    calls,
    finish: anthropicFinish(body.stop_reason, jsonTool),
    usage: anthropicUsage(body.usage),
  });
}

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool' | 'json' | 'other';
  toolIndex: number;
  sentArguments: boolean;
}

/** Anthropic's event sequence → hub chunks (https://docs.anthropic.com/en/docs/build-with-claude/streaming). */
class AnthropicDecoder implements StreamDecoder {
  private chunks = new ChunkBuilder('msg', '');
  private blocks = new Map<number, OpenBlock>();
  private tools = 0;
  private jsonTool = false;
  private usage: JsonObject = {};
  private complete = false;

  constructor(private readonly target: RouteTarget) {
    this.chunks.model = target.model;
  }

  push(event: SseEvent, emit: Emit): void {
    if (event.event === 'error') throw upstreamStreamError(event.data, this.target.provider.id);
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw unreadableReply(this.target.provider.id);
    }
    if (!isObject(data)) return;
    switch (data.type) {
      case 'message_start': {
        const message = isObject(data.message) ? data.message : {};
        if (typeof message.id === 'string') this.chunks.id = message.id;
        if (typeof message.model === 'string') this.chunks.model = message.model;
        if (isObject(message.usage)) Object.assign(this.usage, message.usage);
        return emit(this.chunks.delta({ role: 'assistant', content: '' }));
      }
      case 'content_block_start':
        return this.start(data, emit);
      case 'content_block_delta':
        return this.delta(data, emit);
      case 'content_block_stop': {
        const block = this.blocks.get(Number(data.index));
        // A tool called with no arguments streams none; OpenAI clients expect "{}".
        if (block?.kind === 'tool' && !block.sentArguments)
          emit(
            this.chunks.delta({
              tool_calls: [{ index: block.toolIndex, function: { arguments: '{}' } }],
            }),
          );
        if (block?.kind === 'json' && !block.sentArguments)
          emit(this.chunks.delta({ content: '{}' }));
        return;
      }
      case 'message_delta': {
        if (isObject(data.usage)) Object.assign(this.usage, data.usage);
        const delta = isObject(data.delta) ? data.delta : {};
        if (delta.stop_reason !== undefined && delta.stop_reason !== null)
          emit(this.chunks.delta({}, anthropicFinish(delta.stop_reason, this.jsonTool)));
        return;
      }
      case 'message_stop':
        this.complete = true;
        return;
      case 'error':
        throw upstreamStreamError(event.data, this.target.provider.id);
      default: // ping, and event types added later
    }
  }

  private start(data: JsonObject, emit: Emit): void {
    const block = isObject(data.content_block) ? data.content_block : {};
    const index = Number(data.index);
    if (block.type === 'tool_use' && block.name === JSON_TOOL) {
      this.jsonTool = true;
      this.blocks.set(index, { kind: 'json', toolIndex: -1, sentArguments: false });
    } else if (block.type === 'tool_use') {
      const toolIndex = this.tools++;
      this.blocks.set(index, { kind: 'tool', toolIndex, sentArguments: false });
      emit(
        this.chunks.delta({
          tool_calls: [
            {
              index: toolIndex,
              id: typeof block.id === 'string' ? block.id : `toolu_${index}`,
              type: 'function',
              function: { name: typeof block.name === 'string' ? block.name : '', arguments: '' },
            },
          ],
        }),
      );
    } else {
      const kind =
        block.type === 'text' ? 'text' : block.type === 'thinking' ? 'thinking' : 'other';
      this.blocks.set(index, { kind, toolIndex: -1, sentArguments: false });
      if (kind === 'text' && typeof block.text === 'string' && block.text.length > 0)
        emit(this.chunks.delta({ content: block.text }));
    }
  }

  private delta(data: JsonObject, emit: Emit): void {
    const block = this.blocks.get(Number(data.index));
    const delta = isObject(data.delta) ? data.delta : {};
    if (block === undefined) return;
    if (delta.type === 'text_delta' && typeof delta.text === 'string')
      emit(this.chunks.delta({ content: delta.text }));
    else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string')
      emit(this.chunks.delta({ reasoning_content: delta.thinking }));
    else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      if (delta.partial_json.length === 0) return;
      block.sentArguments = true;
      emit(
        block.kind === 'json'
          ? this.chunks.delta({ content: delta.partial_json })
          : this.chunks.delta({
              tool_calls: [{ index: block.toolIndex, function: { arguments: delta.partial_json } }],
            }),
      );
    }
  }

  end(emit: Emit): void {
    if (!this.complete) throw new StreamCutError();
    const usage = anthropicUsage(this.usage);
    if (usage) emit(this.chunks.usage(usage));
  }
}

export const openaiToAnthropic: UpstreamTranslator = {
  request(hub, target, stream) {
    return {
      url: `${target.provider.baseUrl}/messages`,
      body: JSON.stringify(anthropicBody(readConversation(hub), target, stream)),
    };
  },
  response: completion,
  stream: (target) => new AnthropicDecoder(target),
};
