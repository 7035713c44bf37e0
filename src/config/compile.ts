import { catalog, type CatalogRow, type ProviderKind } from '../providers/catalog';
import { maxPrice, tablePrice, type Price } from '../usage/cost';
import type { GatewayConfigFile } from './schema';

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
}

export interface RouteTarget {
  provider: ProviderRuntime;
  /** The model name sent upstream. */
  model: string;
  /** From the config, else the price table; undefined: not priced (costs nothing). */
  price: Price | undefined;
}

export interface Route {
  /** The public model name. */
  name: string;
  targets: readonly RouteTarget[];
  /** The dearest price of its targets: what budgets reserve before the call. */
  estimatePrice: Price | undefined;
}

export interface GatewayConfig {
  routes: ReadonlyMap<string, Route>;
  providers: ReadonlyMap<string, ProviderRuntime>;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
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
  const headers: Record<string, string> = {};
  let unavailable: string | undefined;
  if (secret) {
    if (row.auth.type === 'bearer') headers.authorization = `Bearer ${secret}`;
    else if (row.auth.type === 'header') headers[row.auth.name] = secret;
  } else if (row.credential === 'required') {
    unavailable = `provider "${provider.id}" has no credential (${provider.api_key_env ?? 'its key variable'} is not set)`;
  }
  return { id: provider.id, kind: provider.kind, row, baseUrl, headers, unavailable };
}

export function compileConfig(file: GatewayConfigFile, env: Env): GatewayConfig {
  const providers = new Map<string, ProviderRuntime>();
  for (const provider of file.providers) providers.set(provider.id, compileProvider(provider, env));
  const routes = new Map<string, Route>();
  for (const model of file.models) {
    const provider = providers.get(model.provider);
    // parseConfig has checked that every model names a declared provider.
    if (!provider)
      throw new Error(`model ${model.name}: provider ${model.provider} is not declared`);
    const upstreamModel = model.model ?? model.name;
    const price: Price | undefined = model.price
      ? {
          input: model.price.input,
          output: model.price.output,
          cachedInput: model.price.cached_input ?? model.price.input,
          cacheWrite: model.price.cache_write ?? model.price.input,
        }
      : tablePrice(upstreamModel);
    const targets = [{ provider, model: upstreamModel, price }];
    routes.set(model.name, {
      name: model.name,
      targets,
      estimatePrice: maxPrice(targets.map((target) => target.price)),
    });
  }
  return {
    routes,
    providers,
    maxBodyBytes: file.server.max_body_bytes,
    upstreamTimeoutMs: file.server.upstream_timeout_ms,
    defaultMaxTokens: file.accounting.default_max_tokens,
  };
}

/** A route is served when at least one of its targets has a usable provider. */
export function routeUnavailable(route: Route): string | undefined {
  if (route.targets.some((target) => target.provider.unavailable === undefined)) return undefined;
  return route.targets[0]?.provider.unavailable ?? 'no targets';
}
