import { z } from 'zod';
import { catalog, providerKinds } from '../providers/catalog';

/**
 * The gateway's config file, validated once at start-up. Secrets never appear in it: a provider
 * names the environment variable that holds its credential.
 */
const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lowercase letters, digits, "_", "." or "-"');

const providerSchema = z.strictObject({
  id,
  kind: z.enum(providerKinds, {
    error: () => `unknown provider kind; one of: ${providerKinds.join(', ')}`,
  }),
  base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable')
    .optional(),
});

const usdPerMillion = z.number().nonnegative().max(1_000_000);

/** USD per million tokens; cached input and cache writes default to the input price. */
const priceSchema = z.strictObject({
  input: usdPerMillion,
  output: usdPerMillion,
  cached_input: usdPerMillion.optional(),
  cache_write: usdPerMillion.optional(),
});

const modelSchema = z.strictObject({
  /** The public name callers send as `model`. */
  name: z.string().min(1).max(200),
  provider: id,
  /** The model name the provider knows; defaults to the public name. */
  model: z.string().min(1).max(200).optional(),
  /** Overrides the built-in price table for this model (src/usage/price-table.ts). */
  price: priceSchema.optional(),
});

const accountingSchema = z.strictObject({
  /** Output tokens reserved for a request that sets no max_tokens (reconciled afterwards). */
  default_max_tokens: z.number().int().positive().max(10_000_000).default(4096),
});

const serverSchema = z.strictObject({
  max_body_bytes: z
    .number()
    .int()
    .positive()
    .max(512 * 1024 * 1024)
    .default(20 * 1024 * 1024),
  upstream_timeout_ms: z.number().int().positive().default(600_000),
});

export const configSchema = z
  .strictObject({
    server: serverSchema.default({
      max_body_bytes: 20 * 1024 * 1024,
      upstream_timeout_ms: 600_000,
    }),
    accounting: accountingSchema.default({ default_max_tokens: 4096 }),
    providers: z.array(providerSchema).min(1),
    models: z.array(modelSchema).min(1),
  })
  .superRefine((config, ctx) => {
    const providerIds = new Set<string>();
    config.providers.forEach((provider, index) => {
      if (providerIds.has(provider.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', index, 'id'],
          message: `duplicate provider id "${provider.id}"`,
        });
      }
      providerIds.add(provider.id);
      const row = catalog[provider.kind];
      if (!('baseUrl' in row) && provider.base_url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', index, 'base_url'],
          message: `kind "${provider.kind}" has no default URL: base_url is required`,
        });
      }
      if (row.credential === 'required' && provider.api_key_env === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', index, 'api_key_env'],
          message: `kind "${provider.kind}" needs a credential: name its environment variable`,
        });
      }
    });
    const modelNames = new Set<string>();
    config.models.forEach((model, index) => {
      if (modelNames.has(model.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'name'],
          message: `duplicate model name "${model.name}"`,
        });
      }
      modelNames.add(model.name);
      if (!providerIds.has(model.provider)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'provider'],
          message: `unknown provider "${model.provider}"; declared: ${[...providerIds].join(', ')}`,
        });
      }
    });
  });

export type GatewayConfigFile = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid config:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`))
    .join('');
}

/** Validates a parsed config document; throws ConfigError naming each bad field and why. */
export function parseConfig(document: unknown): GatewayConfigFile {
  const result = configSchema.safeParse(document);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`),
  );
}
