import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { startGateway } from './helpers/gateway';

/** The config `npm start` ships with, on a machine with no provider key (the Worker's twin: worker/test/isolates.test.ts). */
describe('the shipped config, offline', () => {
  it('serves the demo model to the Anthropic SDK with no provider key, and says which key Claude needs', async () => {
    const config = readFileSync(new URL('../vidai.config.yaml', import.meta.url), 'utf8');
    const gateway = await startGateway({ config });
    try {
      const { key } = await gateway.createKey({ name: 'offline', models: ['*'] });
      const offline = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
      const final = await offline.messages
        .stream({ model: 'demo', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] })
        .finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
      const err = await offline.messages
        .create({
          model: 'claude-sonnet-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.NotFoundError);
      expect((err as Error).message).toContain('ANTHROPIC_API_KEY is not set');
    } finally {
      await gateway.stop();
    }
  });
});
