import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';

/**
 * What the shipped vidai.config.yaml serves with no provider key, seen through the Anthropic SDK:
 * the demo model, and for Claude a 404 that names the key to set. Checked on both runtimes
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
}
