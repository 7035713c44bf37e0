import { z } from 'zod';
import { catalog, providerKinds, type CatalogRow } from '../providers/catalog';

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
    error: (issue) =>
      `unknown provider kind ${JSON.stringify(issue.input)}; one of: ${providerKinds.join(', ')}`,
  }),
  base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable')
    .optional(),
  /** Azure OpenAI's `api-version` query parameter; the catalog's default otherwise. */
  api_version: z
    .string()
    .regex(/^[0-9a-z.-]+$/, 'like 2024-10-21 or 2025-04-01-preview')
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

const accountingSchema = z.strictObject({
  /** Output tokens reserved for a request that sets no max_tokens (reconciled afterwards). */
  default_max_tokens: z.number().int().positive().max(10_000_000).default(4096),
});

const ms = z.number().int().positive().max(3_600_000);

/** Per-alias timeouts in milliseconds; each defaults to the server's (see README, "Timeouts"). */
const timeoutsSchema = z.strictObject({
  connect: ms.optional(),
  first_byte: ms.optional(),
  idle: ms.optional(),
  total: ms.optional(),
});

const retrySchema = z.strictObject({
  /** Most attempts one request may make, across all targets. */
  attempts: z.number().int().min(1).max(20).optional(),
  /** Extra tries on the same target before falling back to the next. */
  retries: z.number().int().min(0).max(10).optional(),
  /** Backoff base: the nth retry waits a random time in [0, min(max_backoff_ms, backoff_ms·2^n)). */
  backoff_ms: z.number().int().min(0).max(60_000).optional(),
  max_backoff_ms: z.number().int().min(0).max(300_000).optional(),
  /** A Retry-After longer than this is not waited for: the request falls back instead. */
  max_retry_after_ms: z.number().int().min(0).max(3_600_000).optional(),
});

/** Request fields a target may not override: they decide routing and framing. */
const reservedParams = ['model', 'stream'];

const targetSchema = z.strictObject({
  provider: id,
  /** The model name the provider knows; defaults to the alias name. */
  model: z.string().min(1).max(200).optional(),
  /** Share of traffic under `strategy: weighted`; 0 keeps a target as a standby. */
  weight: z.number().min(0).max(1_000_000).default(1),
  /** Fields set over the caller's request body when this target serves it. */
  params: z
    .record(z.string(), z.unknown())
    .refine((params) => !reservedParams.some((name) => name in params), {
      message: `params may not set ${reservedParams.join(' or ')}`,
    })
    .optional(),
  /** Overrides the built-in price table for this target (src/usage/price-table.ts). */
  price: priceSchema.optional(),
});

export const strategies = ['fallback', 'weighted', 'latency'] as const;

const modelSchema = z
  .strictObject({
    /** The public name callers send as `model`. */
    name: z.string().min(1).max(200),
    /** Shorthand for a single target: `provider` (and optional `model`). */
    provider: id.optional(),
    /** The model name the provider knows; defaults to the public name. */
    model: z.string().min(1).max(200).optional(),
    targets: z.array(targetSchema).min(1).max(16).optional(),
    strategy: z
      .enum(strategies, { error: () => `unknown strategy; one of: ${strategies.join(', ')}` })
      .default('fallback'),
    timeouts: timeoutsSchema.optional(),
    retry: retrySchema.optional(),
    /** With `provider`: overrides the built-in price table (src/usage/price-table.ts). */
    price: priceSchema.optional(),
  })
  .superRefine((model, ctx) => {
    if ((model.provider === undefined) === (model.targets === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'give either provider (one target) or targets (a list), not both',
      });
    }
    if (model.targets !== undefined && model.model !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: 'with targets, set model on each target',
      });
    }
    if (model.targets !== undefined && model.price !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['price'],
        message: 'with targets, set price on each target',
      });
    }
    if (model.strategy === 'weighted' && model.targets?.every((target) => target.weight === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'strategy weighted needs at least one target with weight > 0',
      });
    }
  });

/** Per-target circuit breaker, per worker process (README, "Circuit breaker"). */
const breakerSchema = z.strictObject({
  /** Consecutive failures that open the breaker. */
  failures: z.number().int().min(1).max(1000).default(5),
  /** Failure share over the last `window` outcomes that opens it, once `window` outcomes are in. */
  error_rate: z.number().gt(0).max(1).default(0.5),
  window: z.number().int().min(2).max(1000).default(20),
  /** First ejection; each repeat doubles it, up to `max_cooldown_ms`. */
  cooldown_ms: z.number().int().positive().max(3_600_000).default(30_000),
  max_cooldown_ms: z.number().int().positive().max(86_400_000).default(300_000),
});

const serverDefaults = {
  max_body_bytes: 20 * 1024 * 1024,
  upstream_timeout_ms: 600_000,
  connect_timeout_ms: 10_000,
};

const serverSchema = z.strictObject({
  max_body_bytes: z
    .number()
    .int()
    .positive()
    .max(512 * 1024 * 1024)
    .default(serverDefaults.max_body_bytes),
  /** Default first-byte, idle and total timeout of every model. */
  upstream_timeout_ms: z.number().int().positive().default(serverDefaults.upstream_timeout_ms),
  connect_timeout_ms: ms.default(serverDefaults.connect_timeout_ms),
  /** Ceiling for the per-request `x-vidai-timeout-ms` header; defaults to upstream_timeout_ms. */
  max_timeout_ms: z.number().int().positive().optional(),
  /**
   * Browser origins allowed to call /v1 (CORS), e.g. ["https://app.example.com"], or ["*"].
   * Off by default: browsers would have to hold a virtual key.
   */
  cors_origins: z
    .array(
      z.union([
        z.literal('*'),
        z.url({ protocol: /^https?$/, error: 'an origin like https://app.example.com' }),
      ]),
    )
    .optional(),
});

export const configSchema = z
  .strictObject({
    server: serverSchema.default(serverDefaults),
    breaker: breakerSchema.default(breakerSchema.parse({})),
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
      const row: CatalogRow = catalog[provider.kind];
      if (row.baseUrl === undefined && provider.base_url === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', index, 'base_url'],
          message: `kind "${provider.kind}" has no default URL: base_url is required`,
        });
      }
      if (provider.api_version !== undefined && row.endpoint?.type !== 'azure-deployment') {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', index, 'api_version'],
          message: `kind "${provider.kind}" takes no api_version`,
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
      const named =
        model.targets === undefined
          ? [{ provider: model.provider, path: ['models', index, 'provider'] }]
          : model.targets.map((target, i) => ({
              provider: target.provider,
              path: ['models', index, 'targets', i, 'provider'],
            }));
      for (const { provider, path } of named) {
        if (provider === undefined || providerIds.has(provider)) continue;
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown provider "${provider}"; declared: ${[...providerIds].join(', ')}`,
        });
      }
    });
    if (config.breaker.max_cooldown_ms < config.breaker.cooldown_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['breaker', 'max_cooldown_ms'],
        message: 'must be at least cooldown_ms',
      });
    }
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
