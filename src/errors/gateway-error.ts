/**
 * The one error family of the gateway. Every failure a caller can see is a GatewayError with a
 * stable `code`; status and the wire formats' error types come from one table, so a code means
 * the same thing on every route and in every inbound format.
 */
export const errorCodes = {
  invalid_json: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  invalid_request: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  request_too_large: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  body_too_large: { status: 413, openai: 'invalid_request_error', anthropic: 'request_too_large' },
  unsupported_media_type: {
    status: 415,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  // Refused by the HTTP server before routing (Node's clientError), answered in the API's shape.
  headers_too_large: {
    status: 431,
    openai: 'invalid_request_error',
    anthropic: 'request_too_large',
  },
  bad_request: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
  not_found: { status: 404, openai: 'invalid_request_error', anthropic: 'not_found_error' },
  method_not_allowed: {
    status: 405,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  model_not_found: { status: 404, openai: 'invalid_request_error', anthropic: 'not_found_error' },
  missing_api_key: {
    status: 401,
    openai: 'invalid_request_error',
    anthropic: 'authentication_error',
  },
  invalid_api_key: {
    status: 401,
    openai: 'invalid_request_error',
    anthropic: 'authentication_error',
  },
  key_expired: { status: 401, openai: 'invalid_request_error', anthropic: 'authentication_error' },
  model_not_allowed: { status: 403, openai: 'permission_error', anthropic: 'permission_error' },
  rate_limit_exceeded: { status: 429, openai: 'requests', anthropic: 'rate_limit_error' },
  tokens_rate_limit_exceeded: { status: 429, openai: 'tokens', anthropic: 'rate_limit_error' },
  insufficient_quota: { status: 429, openai: 'insufficient_quota', anthropic: 'rate_limit_error' },
  upstream_rate_limited: { status: 429, openai: 'requests', anthropic: 'rate_limit_error' },
  upstream_invalid_request: {
    status: 400,
    openai: 'invalid_request_error',
    anthropic: 'invalid_request_error',
  },
  upstream_auth_failed: { status: 502, openai: 'server_error', anthropic: 'api_error' },
  upstream_error: { status: 502, openai: 'server_error', anthropic: 'api_error' },
  upstream_overloaded: { status: 503, openai: 'server_error', anthropic: 'overloaded_error' },
  upstream_unreachable: { status: 502, openai: 'server_error', anthropic: 'api_error' },
  upstream_timeout: { status: 504, openai: 'server_error', anthropic: 'timeout_error' },
  provider_unavailable: { status: 503, openai: 'server_error', anthropic: 'api_error' },
  admin_unauthorized: {
    status: 401,
    openai: 'invalid_request_error',
    anthropic: 'authentication_error',
  },
  internal_error: { status: 500, openai: 'server_error', anthropic: 'api_error' },
  /** The process stopped serving before this reply was done (its drain time ran out). */
  shutting_down: { status: 503, openai: 'server_error', anthropic: 'api_error' },
  /** The caller went away before the reply was done (nginx's 499); seen in records, not by the caller. */
  cancelled: { status: 499, openai: 'invalid_request_error', anthropic: 'invalid_request_error' },
} as const satisfies Record<string, { status: number; openai: string; anthropic: string }>;

export type ErrorCode = keyof typeof errorCodes;

export interface GatewayErrorOptions {
  /** The request field at fault, as OpenAI's `param`. */
  param?: string | null;
  /** Extra response headers (Retry-After on 429). */
  headers?: Record<string, string>;
  /** Overrides the table's status where an upstream status is kept (e.g. 404 stays 404). */
  status?: number;
  /** The HTTP status the upstream answered with, when the error came from one. */
  upstreamStatus?: number;
  /** How long the upstream asked to be left alone (Retry-After), in ms: retries honour it. */
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  /** `message` is shown to the caller: it must never contain a key, a prompt or a credential. */
  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? errorCodes[code].status;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Anything thrown that is not a GatewayError is an internal error; its message is not shown. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal_error', 'The gateway hit an internal error.', { cause: err });
}

/**
 * Whether text from outside (a caller's key, an upstream's `param`) may be shown as a `param`:
 * it looks like a field name or path (`model`, `stream_options.include_usage`, `messages[0]`).
 */
export function isParamName(text: string): boolean {
  return /^[A-Za-z0-9_.[\]-]{1,64}$/.test(text);
}
