import { formatSseEvent, sseHeaders } from '../../sse/serialize';
import {
  eventStream,
  isObject,
  MOCK_REPLY,
  MOCK_THINKING,
  planReply,
  randomId,
  type MockPlan,
} from './script';
import { countTokens, splitTokens } from './tokens';

/**
 * A small Anthropic Messages server as a Web handler, in Anthropic's documented wire format
 * (https://docs.anthropic.com/en/api/messages): `x-api-key` and `anthropic-version` required,
 * JSON replies and the streaming event sequence (message_start, ping, content blocks with
 * text / input_json / thinking deltas, message_delta, message_stop), count_tokens, and errors
 * as `{"type":"error","error":{"type","message"}}`. It checks requests as strictly as the real
 * API on the points translators get wrong: required max_tokens, block shapes, image sources,
 * tool results that answer a tool_use of the turn before.
 */
export interface MockAnthropicOptions {
  chunkDelayMs?: number;
  reply?: string;
}

type Json = Record<string, unknown>;

function error(status: number, type: string, message: string): Response {
  return Response.json(
    { type: 'error', error: { type, message } },
    { status, headers: { 'request-id': randomId('req_') } },
  );
}

const invalid = (message: string) => error(400, 'invalid_request_error', message);
const imageTypes = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/** The problem with one content block, if any. */
function blockProblem(block: unknown, at: string, toolUses: Set<string>): string | undefined {
  if (!isObject(block)) return `${at}: Input should be an object`;
  const source = isObject(block.source) ? block.source : undefined;
  switch (block.type) {
    case 'text':
      if (typeof block.text !== 'string' || block.text.length === 0)
        return `${at}: text content blocks must be non-empty`;
      return undefined;
    case 'image':
    case 'document':
      if (source?.type === 'url' && typeof source.url === 'string') return undefined;
      if (source?.type === 'text' && block.type === 'document') return undefined;
      if (source?.type !== 'base64' || typeof source.data !== 'string')
        return `${at}.source: Input tag '${String(source?.type)}' does not match any of the expected tags`;
      if (block.type === 'image' && !imageTypes.includes(String(source.media_type)))
        return `${at}.source.media_type: Input should be ${imageTypes.map((t) => `'${t}'`).join(', ')}`;
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(source.data))
        return `${at}.source.data: invalid base64 data`;
      return undefined;
    case 'tool_use':
      if (typeof block.id !== 'string' || typeof block.name !== 'string' || !isObject(block.input))
        return `${at}: tool_use blocks need an id, a name and an object input`;
      return undefined;
    case 'tool_result':
      if (!toolUses.has(String(block.tool_use_id)))
        return `${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      return undefined;
    case 'thinking':
    case 'redacted_thinking':
      return undefined;
    default:
      return `${at}.type: Input tag '${String(block.type)}' does not match any of the expected tags`;
  }
}

function requestProblem(body: Json): string | undefined {
  if (typeof body.model !== 'string') return 'model: Field required';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return 'messages: at least one message is required';
  let toolUses = new Set<string>();
  for (const [i, message] of body.messages.entries()) {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant'))
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const blocks = typeof message.content === 'string' ? [] : message.content;
    if (!Array.isArray(blocks)) return `messages.${i}.content: Input should be a valid list`;
    const last = i === body.messages.length - 1 && message.role === 'assistant';
    if (typeof message.content !== 'string' && blocks.length === 0 && !last)
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    for (const [j, block] of blocks.entries()) {
      const problem = blockProblem(block, `messages.${i}.content.${j}`, toolUses);
      if (problem) return problem;
    }
    toolUses = new Set(
      blocks.filter((b) => isObject(b) && b.type === 'tool_use').map((b) => String((b as Json).id)),
    );
  }
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system))
    return 'system: Input should be a valid string or list';
  const thinking = body.thinking;
  if (isObject(thinking) && thinking.type === 'enabled') {
    if (typeof thinking.budget_tokens !== 'number' || thinking.budget_tokens < 1024)
      return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (thinking.budget_tokens >= body.max_tokens)
      return '`max_tokens` must be greater than `thinking.budget_tokens`';
    const last = body.messages.filter((m) => isObject(m) && m.role === 'assistant').at(-1);
    const blocks = isObject(last) && Array.isArray(last.content) ? last.content : [];
    const first = blocks[0];
    if (
      blocks.some((b) => isObject(b) && b.type === 'tool_use') &&
      !(isObject(first) && (first.type === 'thinking' || first.type === 'redacted_thinking'))
    )
      return 'messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.';
  }
  return undefined;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  return value
    .map((b) => (isObject(b) ? (typeof b.text === 'string' ? b.text : text(b.content)) : ''))
    .join(' ');
}

/** Input tokens: the text of the system prompt, every message (four each for framing) and the tools. */
function inputTokens(body: Json): { input: number; cacheWrite: number } {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let input = countTokens(text(body.system));
  let cacheWrite = 0;
  for (const message of messages) {
    if (!isObject(message)) continue;
    const n = 4 + countTokens(text(message.content));
    // Blocks marked for caching are counted as written to the cache (a mock has no cache to read).
    const cached =
      Array.isArray(message.content) &&
      message.content.some((b) => isObject(b) && b.cache_control !== undefined);
    if (cached) cacheWrite += n;
    else input += n;
  }
  if (Array.isArray(body.tools)) input += countTokens(JSON.stringify(body.tools));
  return { input, cacheWrite };
}

function plan(body: Json, options: MockAnthropicOptions): MockPlan {
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((tool) => ({
    name: String(tool.name),
    parameters: tool.input_schema,
  }));
  const choice = isObject(body.tool_choice) ? body.tool_choice : {};
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  const answering =
    isObject(last) &&
    Array.isArray(last.content) &&
    last.content.some((b) => isObject(b) && b.type === 'tool_result');
  return planReply({
    tools,
    choice:
      choice.type === 'tool'
        ? { name: String(choice.name) }
        : choice.type === 'any'
          ? 'required'
          : choice.type === 'none'
            ? 'none'
            : undefined,
    parallel: choice.disable_parallel_tool_use !== true,
    answeringToolResult: answering,
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
    reply: options.reply ?? MOCK_REPLY,
  });
}

const stopReasons = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

interface Reply {
  message: Json;
  blocks: Json[];
  planned: MockPlan;
  thinking: boolean;
}

function reply(body: Json, options: MockAnthropicOptions): Reply {
  const planned = plan(body, options);
  const thinking = isObject(body.thinking) && body.thinking.type === 'enabled';
  const blocks: Json[] = [];
  if (thinking)
    blocks.push({ type: 'thinking', thinking: MOCK_THINKING, signature: btoa(randomId('sig_')) });
  if (planned.pieces.length > 0) blocks.push({ type: 'text', text: planned.pieces.join('') });
  for (const call of planned.toolCalls)
    blocks.push({
      type: 'tool_use',
      id: randomId('toolu_'),
      name: call.name,
      input: call.arguments,
    });
  const { input, cacheWrite } = inputTokens(body);
  const output = planned.outputTokens + (thinking ? countTokens(MOCK_THINKING) : 0);
  const message = {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model: String(body.model),
    content: blocks,
    stop_reason: stopReasons[planned.finish],
    stop_sequence: null,
    usage: {
      input_tokens: input,
      cache_creation_input_tokens: cacheWrite,
      cache_read_input_tokens: 0,
      output_tokens: output,
    },
  };
  return { message, blocks, planned, thinking };
}

function event(type: string, data: Json): string {
  return formatSseEvent(JSON.stringify({ type, ...data }), type);
}

/** The documented event sequence; tool input arrives as fragments, the first one empty. */
function streamEvents(r: Reply): string[] {
  const usage = r.message.usage as Json;
  const events = [
    event('message_start', {
      message: {
        ...r.message,
        content: [],
        stop_reason: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
    event('ping', {}),
  ];
  r.blocks.forEach((block, index) => {
    const empty =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : block.type === 'thinking'
          ? { type: 'thinking', thinking: '', signature: '' }
          : { ...block, input: {} };
    events.push(event('content_block_start', { index, content_block: empty }));
    const deltas: Json[] = [];
    if (block.type === 'text')
      for (const piece of splitTokens(String(block.text)))
        deltas.push({ type: 'text_delta', text: piece });
    else if (block.type === 'thinking') {
      for (const piece of splitTokens(MOCK_THINKING))
        deltas.push({ type: 'thinking_delta', thinking: piece });
      deltas.push({ type: 'signature_delta', signature: block.signature });
    } else {
      const json = JSON.stringify(block.input);
      deltas.push({ type: 'input_json_delta', partial_json: '' });
      for (let i = 0; i < json.length; i += 8)
        deltas.push({ type: 'input_json_delta', partial_json: json.slice(i, i + 8) });
    }
    for (const delta of deltas) events.push(event('content_block_delta', { index, delta }));
    events.push(event('content_block_stop', { index }));
  });
  events.push(
    event('message_delta', {
      delta: { stop_reason: r.message.stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
    event('message_stop', {}),
  );
  return events;
}

export function createMockAnthropic(
  options: MockAnthropicOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, '');
    const route = path.endsWith('/v1/messages')
      ? 'messages'
      : path.endsWith('/v1/messages/count_tokens')
        ? 'count'
        : null;
    if (route === null || request.method !== 'POST')
      return error(404, 'not_found_error', 'Not found');
    if (!request.headers.get('x-api-key'))
      return error(401, 'authentication_error', 'x-api-key header is required');
    if (!request.headers.get('anthropic-version'))
      return invalid('anthropic-version: header is required');
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return invalid('There was an issue with your request body: invalid JSON');
    }
    if (!isObject(body)) return invalid('Input should be an object');
    const problem =
      route === 'count' ? requestProblem({ max_tokens: 1, ...body }) : requestProblem(body);
    if (problem) return invalid(problem);
    if (route === 'count') {
      const { input, cacheWrite } = inputTokens(body);
      return Response.json({ input_tokens: input + cacheWrite });
    }
    const r = reply(body, options);
    const headers = { 'request-id': randomId('req_') };
    if (body.stream !== true) return Response.json(r.message, { headers });
    return new Response(eventStream(streamEvents(r), options.chunkDelayMs ?? 0), {
      headers: { ...sseHeaders, ...headers },
    });
  };
}
