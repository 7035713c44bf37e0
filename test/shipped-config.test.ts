import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { describe, it } from 'vitest';
import { servesShippedConfigOffline } from './conformance/shipped-config';
import { startGateway } from './helpers/gateway';

describe('the shipped config, offline', () => {
  it('serves the demo model to the Anthropic SDK with no provider key, and says which key Claude needs', async () => {
    const config = readFileSync(new URL('../vidai.config.yaml', import.meta.url), 'utf8');
    const gateway = await startGateway({ config });
    try {
      const { key } = await gateway.createKey({ name: 'offline', models: ['*'] });
      await servesShippedConfigOffline(
        new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 }),
      );
    } finally {
      await gateway.stop();
    }
  });
});
