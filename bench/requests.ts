/**
 * The requests the bench sends. The prompt is padded to a set size (1 KiB by default) because
 * real agent calls carry context and the gateway reads every body; the reply is the mock's.
 */
function prompt(bytes: number): string {
  const sentence = 'The gateway should add as little as it can to every call it carries. ';
  return sentence.repeat(Math.max(1, Math.ceil(bytes / sentence.length))).slice(0, bytes);
}

export function chatBody(model: string, stream: boolean, promptBytes: number): string {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: prompt(promptBytes) },
    ],
    ...(stream ? { stream: true } : {}),
  });
}

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
};

/** An OpenAI chat call that makes the model stream a tool call. */
export function openaiToolStreamBody(model: string): string {
  return JSON.stringify({
    model,
    stream: true,
    tool_choice: 'required',
    tools: [{ type: 'function', function: weatherTool }],
    messages: [{ role: 'user', content: 'What is the weather in Lisbon?' }],
  });
}

/** The same call in Anthropic's Messages format, for the direct lane of the translation test. */
export function anthropicToolStreamBody(model: string): string {
  return JSON.stringify({
    model,
    max_tokens: 256,
    stream: true,
    tool_choice: { type: 'any' },
    tools: [
      {
        name: weatherTool.name,
        description: weatherTool.description,
        input_schema: weatherTool.parameters,
      },
    ],
    messages: [{ role: 'user', content: 'What is the weather in Lisbon?' }],
  });
}
