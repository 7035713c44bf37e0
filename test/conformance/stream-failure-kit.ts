import { usageRows, type Harness } from './harness';

/**
 * What the stream-failure suites share: upstream bytes in each provider's wire format (with a
 * secret to look for), one call per key so its record is found, and a stream's events.
 */
export function streamFailureKit(h: Harness) {
  const SECRET = 'sk-proj-SECRETabcdef0123456789';
  const sse = { 'content-type': 'text/event-stream' };

  const openaiChunk = (content: string) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'upstream-model',
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    })}\n\n`;
  const openaiErrorEvent = `data: {"error":{"message":"upstream exploded ${SECRET}","type":"server_error"}}\n\n`;
  const anthropicStart =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n';
  const anthropicErrorEvent = `event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream exploded ${SECRET}"}}\n\n`;

  type Row = {
    status: number;
    error_code: string | null;
    usage_estimated: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
  };
  async function record(id: string): Promise<Row> {
    await usageRows(h, 1, 'key_id = ?', id);
    const [row] = await h.query<Row>(
      'select status, error_code, usage_estimated, input_tokens, output_tokens, cost_usd from usage_records where key_id = ?',
      id,
    );
    return row!;
  }

  /** One call with a key of its own (so its record is found), as raw HTTP. */
  async function call(
    path: '/chat/completions' | '/embeddings' | '/messages' | '/messages/count_tokens',
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    const { id, key } = await h.createKey({ name: 'stream-failures', models: ['*'] });
    const res = await h.fetch(`${h.baseURL}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        ...headers,
      },
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 50,
        ...body,
      }),
    });
    return { id, res, text: await res.text() };
  }

  /** The data of a stream's events, and each event's name. */
  function events(text: string): { event: string | undefined; data: string }[] {
    return text
      .split('\n\n')
      .filter((block) => block.trim().length > 0)
      .map((block) => {
        const lines = block.split('\n');
        const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
        const data = lines
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        return { event, data };
      });
  }

  return {
    SECRET,
    sse,
    openaiChunk,
    openaiErrorEvent,
    anthropicStart,
    anthropicErrorEvent,
    record,
    call,
    events,
  };
}
