import { createMockAnthropic } from '../src/providers/mock/mock-anthropic';
import { createMockOpenAI, type MockOptions } from '../src/providers/mock/mock-openai';

/** A provider mock as a Web handler, as src/providers/mock/ writes them. */
export type WebHandler = (request: Request) => Promise<Response>;

/**
 * The provider mocks the bench upstream serves, by the wire format they speak. The upstream
 * records their replies and replays the bytes (upstream.ts), so the bench speaks exactly the
 * mocks' wire format without their per-request cost.
 */
export const mockHandlers: {
  openai: (options: MockOptions) => WebHandler;
  anthropic: (options: MockOptions) => WebHandler;
} = {
  openai: createMockOpenAI,
  anthropic: createMockAnthropic,
};

/** Anthropic's Messages API lives at /v1/messages; everything else is OpenAI's. */
export function handlerFormat(path: string): 'openai' | 'anthropic' {
  return path.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}
