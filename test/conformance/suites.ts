import { anthropicSdkSuite } from './anthropic-sdk';
import { errorsSuite } from './errors';
import type { Suite } from './harness';
import { limitsSuite } from './limits';
import { openaiSdkSuite } from './openai-sdk';
import { openaiSdkTranslatedSuite } from './openai-sdk-translated';
import { openaiSdkTranslatedErrorsSuite } from './openai-sdk-translated-errors';
import { replyFailuresSuite } from './reply-failures';
import { streamErrorEventsSuite } from './stream-error-events';

/** The data plane's behaviour, written once; test/conformance.test.ts and worker/test/conformance.test.ts run it. */
export const suites: Record<string, Suite> = {
  'OpenAI SDK, passthrough': openaiSdkSuite,
  'OpenAI SDK, translated': openaiSdkTranslatedSuite,
  'OpenAI SDK, translated errors': openaiSdkTranslatedErrorsSuite,
  'Anthropic SDK': anthropicSdkSuite,
  errors: errorsSuite,
  limits: limitsSuite,
  'stream error events': streamErrorEventsSuite,
  'reply failures': replyFailuresSuite,
};
