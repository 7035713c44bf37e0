/**
 * The mock provider's tokenizer: a word or a single punctuation mark is one token. It is not
 * OpenAI's tokenizer; it is the one the mock's own counts are true to, so usage always
 * matches the text it produced.
 */
const tokenPattern = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export function countTokens(text: string): number {
  let n = 0;
  tokenPattern.lastIndex = 0;
  while (tokenPattern.exec(text) !== null) n++;
  return n;
}

/** Splits text into stream pieces, one token each, keeping the spacing so they concatenate back. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])/gu) ?? [];
}
