import { isObject, type JsonObject } from '../../util/json';

/** Tokens of a hub request, estimated (about four characters a token) where the provider has no counter. */
export function estimateInputTokens(hub: JsonObject): number {
  let chars = 0;
  let images = 0;
  const messages = Array.isArray(hub.messages) ? hub.messages : [];
  for (const message of messages) {
    if (!isObject(message)) continue;
    chars += 16;
    const content = message.content;
    if (typeof content === 'string') chars += content.length;
    else if (Array.isArray(content))
      for (const part of content) {
        if (isObject(part) && typeof part.text === 'string') chars += part.text.length;
        else images++;
      }
    if (message.tool_calls !== undefined) chars += JSON.stringify(message.tool_calls).length;
  }
  if (hub.tools !== undefined) chars += JSON.stringify(hub.tools).length;
  // Anthropic counts an image at about (width × height) / 750 tokens; 1,600 is its size cap.
  return Math.ceil(chars / 4) + images * 1600;
}
