import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';

/**
 * What the shipped vidai.config.yaml serves with no provider key, seen through the Anthropic SDK:
 * the demo model, for Claude a 404 that names the key to set, and for the demo's embeddings
 * model the 404 OpenAI gives a chat completion of one. Checked on both runtimes
 * (test/shipped-config.test.ts, worker/test/isolates.test.ts).
 */
export async function servesShippedConfigOffline(client: Anthropic): Promise<void> {
  const final = await client.messages
    .stream({ model: 'demo', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] })
    .finalMessage();
  expect(final.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
  const err = await client.messages
    .create({
      model: 'claude-sonnet-4-5',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  expect((err as Error).message).toContain('ANTHROPIC_API_KEY is not set');
  // The demo's embeddings model is no chat model, as at OpenAI.
  const notChat = await client.messages
    .create({ model: 'demo-embedding', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
    .catch((e: unknown) => e);
  expect(notChat).toBeInstanceOf(Anthropic.NotFoundError);
  expect((notChat as Error).message).toContain('This is not a chat model');
}
