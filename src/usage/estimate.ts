import type { Operation } from '../pipeline/plan';
import { isObject, type JsonObject } from '../util/json';

/**
 * Tokens a request may take, before it is sent, to reserve against tokens-per-minute limits and
 * budgets (reconciled with the real usage afterwards). Cheap on purpose: the prompt is the body's
 * length at four characters a token, less inline media (an image is counted as a flat 1,000
 * tokens, not as its base64 text); the reply is max_completion_tokens or max_tokens, or the
 * configured default, times n.
 */
export interface TokenEstimate {
  input: number;
  output: number;
}

const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MEDIA_PART = 1000;

/** Characters of inline media in a chat message's content parts, and how many parts. */
function media(content: unknown): { chars: number; parts: number } {
  let chars = 0;
  let parts = 0;
  if (!Array.isArray(content)) return { chars, parts };
  for (const part of content) {
    if (!isObject(part)) continue;
    const data =
      (isObject(part.image_url) && part.image_url.url) ||
      (isObject(part.input_audio) && part.input_audio.data) ||
      (isObject(part.file) && part.file.file_data);
    if (typeof data === 'string') {
      chars += data.length;
      parts++;
    }
  }
  return { chars, parts };
}

/** Inbound validation admits only safe integers; anything else here falls back to the default. */
function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function estimateTokens(
  op: Operation,
  body: JsonObject,
  raw: string,
  defaultMaxTokens: number,
): TokenEstimate {
  // A token count uses no tokens: nothing is reserved against a token limit or a budget.
  if (op === 'count_tokens') return { input: 0, output: 0 };
  let mediaChars = 0;
  let mediaParts = 0;
  if (op === 'chat' && Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      const m = media(message.content);
      mediaChars += m.chars;
      mediaParts += m.parts;
    }
  }
  const input = Math.max(
    1,
    Math.ceil((raw.length - mediaChars) / CHARS_PER_TOKEN) + mediaParts * TOKENS_PER_MEDIA_PART,
  );
  if (op !== 'chat') return { input, output: 0 };
  const perChoice =
    positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? defaultMaxTokens;
  // Two safe integers can multiply past 2^53: the estimate (input + output) stays a safe integer.
  const output = Math.min(perChoice * (positiveInt(body.n) ?? 1), Number.MAX_SAFE_INTEGER - input);
  return { input, output };
}
