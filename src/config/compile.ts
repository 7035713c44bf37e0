import { catalog, type CatalogRow, type ProviderKind } from '../providers/catalog';
import { maxPrice, tablePrice, type Price } from '../usage/cost';
import type { JsonObject } from '../util/json';
import { holdsSecret } from '../util/redact';
import type { GatewayConfigFile, strategies } from './schema';

/**
 * The config as the hot path reads it: every decision that does not depend on the request
 * (base URLs, auth headers, which providers are usable, routes) is made here, once.
 */
export interface ProviderRuntime {
  id: string;
  kind: ProviderKind;
  row: CatalogRow;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  /** Auth and static headers sent on every upstream request. */
  headers: Readonly<Record<string, string>>;
  /** Why the provider cannot be used (its credential is missing); undefined when usable. */
  unavailable: string | undefined;
  /** The URL of an OpenAI-style operation path (`/chat/completions`) for a model. */
  url(path: string, model: string): string;
}

export interface RouteTarget {
  provider: ProviderRuntime;
  /** The model name sent upstream. */
  model: string;
  /** `provider/model`: health (breaker, latency) is kept per upstream model, shared by aliases. */
  key: string;
  weight: number;
  /** Fields set over the caller's body when this target serves it; undefined when none. */
  params: Readonly<JsonObject> | undefined;
  /** From the config, else the price table; undefined: not priced (costs nothing). */
  price: Price | undefined;
}

export type Strategy = (typeof strategies)[number];

export interface RouteTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

export interface RetryPolicy {
  /** Most attempts per request, across targets. */
  attempts: number;
  /** Extra tries on one target before falling back. */
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
}

export interface Route {
  /** The public model name. */
  name: string;
  /** Every target, in config order. */
  targets: readonly RouteTarget[];
  /** The targets whose provider is usable (has its credential), decided once here. */
  usable: readonly RouteTarget[];
  strategy: Strategy;
  timeouts: RouteTimeouts;
  retry: RetryPolicy;
  /** The dearest price of its targets: what budgets reserve before the call. */
  estimatePrice: Price | undefined;
}

export interface BreakerSettings {
  failures: number;
  errorRate: number;
  window: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export interface GatewayConfig {
  routes: ReadonlyMap<string, Route>;
  providers: ReadonlyMap<string, ProviderRuntime>;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  /** Ceiling for the per-request timeout header. */
  maxTimeoutMs: number;
  /** Origins allowed by CORS on /v1; empty: CORS off. */
  corsOrigins: readonly string[];
  breaker: BreakerSettings;
  /** Output tokens reserved for requests that set no max_tokens. */
  defaultMaxTokens: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

function compileProvider(
  provider: GatewayConfigFile['providers'][number],
  env: Env,
): ProviderRuntime {
  const row: CatalogRow = catalog[provider.kind];
  const baseUrl = (provider.base_url ?? row.baseUrl ?? '').replace(/\/+$/, '');
  const secret = provider.api_key_env === undefined ? undefined : env[provider.api_key_env];
  const headers: Record<string, string> = { ...row.headers };
  let unavailable: string | undefined;
  if (secret) {
    holdsSecret(secret);
    if (row.auth.type === 'bearer') headers.authorization = `Bearer ${secret}`;
    else if (row.auth.type === 'header') headers[row.auth.name] = secret;
  } else if (row.credential === 'required') {
    unavailable = `provider "${provider.id}" has no credential (${provider.api_key_env ?? 'its key variable'} is not set)`;
  }
  const endpoint = row.endpoint ?? { type: 'base' };
  const url =
    endpoint.type === 'azure-deployment'
      ? (path: string, model: string) =>
          `${baseUrl}/openai/deployments/${encodeURIComponent(model)}${path}?api-version=${encodeURIComponent(provider.api_version ?? endpoint.apiVersion)}`
      : (path: string) => baseUrl + path;
  return { id: provider.id, kind: provider.kind, row, baseUrl, headers, unavailable, url };
}

const MAX_DEFAULT_ATTEMPTS = 10;

type ModelEntry = GatewayConfigFile['models'][number];
type PriceEntry = NonNullable<ModelEntry['price']>;

function compilePrice(price: PriceEntry | undefined, upstreamModel: string): Price | undefined {
  if (price === undefined) return tablePrice(upstreamModel);
  return {
    input: price.input,
    output: price.output,
    cachedInput: price.cached_input ?? price.input,
    cacheWrite: price.cache_write ?? price.input,
  };
}

function compileTargets(
  model: ModelEntry,
  providers: ReadonlyMap<string, ProviderRuntime>,
): RouteTarget[] {
  const entries = model.targets ?? [
    {
      provider: model.provider ?? '',
      model: model.model,
      weight: 1,
      params: undefined,
      price: model.price,
    },
  ];
  return entries.map((entry) => {
    const provider = providers.get(entry.provider);
    // parseConfig has checked that every target names a declared provider.
    if (!provider)
      throw new Error(`model ${model.name}: provider ${entry.provider} is not declared`);
    const upstreamModel = entry.model ?? model.name;
    const params = entry.params as JsonObject | undefined;
    return {
      provider,
      model: upstreamModel,
      key: `${provider.id}/${upstreamModel}`,
      weight: entry.weight,
      params: params !== undefined && Object.keys(params).length > 0 ? params : undefined,
      price: compilePrice(entry.price, upstreamModel),
    };
  });
}

function compileRoute(
  model: ModelEntry,
  server: GatewayConfigFile['server'],
  providers: ReadonlyMap<string, ProviderRuntime>,
): Route {
  const targets = compileTargets(model, providers);
  const usable = targets.filter((target) => target.provider.unavailable === undefined);
  const retries = model.retry?.retries ?? 1;
  const timeouts = model.timeouts ?? {};
  return {
    name: model.name,
    targets,
    usable,
    strategy: model.strategy,
    timeouts: {
      connectMs: timeouts.connect ?? server.connect_timeout_ms,
      firstByteMs: timeouts.first_byte ?? server.upstream_timeout_ms,
      idleMs: timeouts.idle ?? server.upstream_timeout_ms,
      totalMs: timeouts.total ?? server.upstream_timeout_ms,
    },
    retry: {
      attempts:
        model.retry?.attempts ??
        Math.min(MAX_DEFAULT_ATTEMPTS, (retries + 1) * Math.max(1, usable.length)),
      retries,
      backoffMs: model.retry?.backoff_ms ?? 250,
      maxBackoffMs: model.retry?.max_backoff_ms ?? 8_000,
      maxRetryAfterMs: model.retry?.max_retry_after_ms ?? 30_000,
    },
    estimatePrice: maxPrice(targets.map((target) => target.price)),
  };
}

export function compileConfig(file: GatewayConfigFile, env: Env): GatewayConfig {
  const providers = new Map<string, ProviderRuntime>();
  for (const provider of file.providers) providers.set(provider.id, compileProvider(provider, env));
  const routes = new Map<string, Route>();
  for (const model of file.models) {
    routes.set(model.name, compileRoute(model, file.server, providers));
  }
  const breaker = file.breaker;
  return {
    routes,
    providers,
    maxBodyBytes: file.server.max_body_bytes,
    upstreamTimeoutMs: file.server.upstream_timeout_ms,
    maxTimeoutMs: file.server.max_timeout_ms ?? file.server.upstream_timeout_ms,
    corsOrigins: (file.server.cors_origins ?? []).map((origin) => origin.replace(/\/+$/, '')),
    breaker: {
      failures: breaker.failures,
      errorRate: breaker.error_rate,
      window: breaker.window,
      cooldownMs: breaker.cooldown_ms,
      maxCooldownMs: breaker.max_cooldown_ms,
    },
    defaultMaxTokens: file.accounting.default_max_tokens,
  };
}

/** A route is served when at least one of its targets has a usable provider. */
export function routeUnavailable(route: Route): string | undefined {
  if (route.usable.length > 0) return undefined;
  return route.targets[0]?.provider.unavailable ?? 'no targets';
}
