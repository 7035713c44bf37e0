import { GatewayError, isParamName } from '../errors/gateway-error';
import { isObject } from '../util/json';
import { StreamCutError, UnreadableEventError } from './passthrough-stream';
import { MAX_EVENT_CHARS, SseEventTooLargeError } from '../sse/parser';
import { TransportError, type UpstreamResponse } from './transport';
import { merged } from '../util/merged';
import { redactSecrets } from '../util/redact';

/**
 * Upstream failures become GatewayErrors here, and only here. Upstream bodies are mapped, never
 * echoed raw: a client-side problem (4xx) keeps the provider's explanation with anything that
 * looks like a credential removed; an auth failure says nothing of the upstream's words, since
 * providers quote part of the key they were given.
 */
const MAX_ERROR_BODY = 16 * 1024;

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The human message inside an upstream error body (OpenAI, Anthropic and Gemini shapes). */
function messageOf(body: unknown): string | undefined {
  const candidates = isObject(body)
    ? [isObject(body.error) ? body.error.message : body.error, body.message]
    : Array.isArray(body) && isObject(body[0]) && isObject(body[0].error)
      ? [body[0].error.message]
      : [];
  const message = candidates.find((value) => typeof value === 'string' && value.length > 0);
  return typeof message === 'string' ? message : undefined;
}

function upstreamMessage(text: string): string | undefined {
  return messageOf(parsedOrUndefined(text));
}

async function readErrorText(res: UpstreamResponse): Promise<string> {
  try {
    const bytes = await res.bytes();
    return new TextDecoder().decode(bytes.subarray(0, MAX_ERROR_BODY));
  } catch {
    return '';
  }
}

/** Milliseconds to wait, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(res: Pick<UpstreamResponse, 'header'>): number | undefined {
  const msHeader = res.header('retry-after-ms')?.trim();
  const ms = Number(msHeader);
  if (msHeader && Number.isFinite(ms) && ms >= 0) return ms;
  const value = res.header('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Seconds to wait, rounded up: what a Retry-After header sent on to the caller says. */
export function retryAfterSeconds(res: Pick<UpstreamResponse, 'header'>): number | undefined {
  const ms = retryAfterMs(res);
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}

export async function upstreamHttpError(
  res: UpstreamResponse,
  providerId: string,
): Promise<GatewayError> {
  const body = parsedOrUndefined(await readErrorText(res));
  const error = errorObject(Array.isArray(body) ? body[0] : body);
  return upstreamStatusError(res.status, messageOf(body), providerId, retryAfterMs(res), error);
}

/**
 * Whether a 403 is about the request, not Vidai's credential: OpenAI's `invalid_request_error`
 * with no code, as its "You are not allowed to generate embeddings from this model" for a chat
 * model on /v1/embeddings (the same request fails with any key, on any target). Every other
 * 403 (Anthropic's permission_error, Gemini's PERMISSION_DENIED, OpenAI's `model_not_found`
 * for a project without access) is the credential's reach: another target may serve.
 */
function refusesTheRequest(error: Record<string, unknown> | undefined): boolean {
  return error?.type === 'invalid_request_error' && (error.code ?? null) === null;
}

/** The upstream's `param`, when it names a field (it is shown to the caller). */
function paramOf(error: Record<string, unknown> | undefined): string | undefined {
  const param = error?.param;
  return typeof param === 'string' && isParamName(param) ? param : undefined;
}

/** An upstream's error status (and its explanation, if any) as the GatewayError callers see. */
function upstreamStatusError(
  status: number,
  detail: string | undefined,
  providerId: string,
  retryAfterMs?: number,
  error?: Record<string, unknown>,
): GatewayError {
  const said = detail === undefined ? '' : `: ${redactSecrets(detail)}`;
  const upstream = { upstreamStatus: status, retryAfterMs };
  if (status === 429) {
    const retryAfter = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
    // A fresh object: a GatewayError's headers are added to later (the key's rate-limit headers).
    const headers: Record<string, string> =
      retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
    return new GatewayError(
      'upstream_rate_limited',
      `Provider "${providerId}" is rate limiting requests${said}`,
      merged(upstream, { headers }),
    );
  }
  if (status === 401 || (status === 403 && !refusesTheRequest(error))) {
    return new GatewayError(
      'upstream_auth_failed',
      `Provider "${providerId}" refused the gateway's credential.`,
      upstream,
    );
  }
  if (status === 408) {
    return new GatewayError('upstream_timeout', `Provider "${providerId}" timed out.`, upstream);
  }
  if (status === 529) {
    // Anthropic's "overloaded" (https://docs.anthropic.com/en/api/errors).
    return new GatewayError(
      'upstream_overloaded',
      `Provider "${providerId}" is overloaded.`,
      upstream,
    );
  }
  if (status >= 400 && status < 500) {
    return new GatewayError(
      'upstream_invalid_request',
      `Provider "${providerId}" rejected the request${said}`,
      merged(upstream, { status, param: paramOf(error) }),
    );
  }
  return new GatewayError(
    'upstream_error',
    `Provider "${providerId}" failed (HTTP ${status}).`,
    upstream,
  );
}

/**
 * A 2xx reply that is not what the provider's format says it should be (empty, not JSON, not
 * the reply's shape): the provider's failure, retried and counted against it as a 502 would be.
 */
export function unreadableReply(providerId: string): GatewayError {
  return new GatewayError(
    'upstream_error',
    `Provider "${providerId}" sent a reply Vidai could not read.`,
    { upstreamStatus: 502 },
  );
}

/**
 * A parsed 2xx body that is not the reply its format promises: the error object some servers
 * send with a 200 (told redacted, with the 4xx it names), or else a reply Vidai could not read.
 */
export function notAReply(body: unknown, providerId: string): GatewayError {
  const said = reportedUpstreamError(JSON.stringify(body), providerId, 'in its reply');
  return said ?? unreadableReply(providerId);
}

/** Anthropic's error types and the HTTP statuses they go with. */
const anthropicErrorStatus: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The error object inside an upstream error body: `{"error":{…}}` (OpenAI, Gemini, OpenRouter,
 * Anthropic's `{"type":"error","error":{…}}`), or vLLM's flat `{"object":"error",…}`; undefined
 * for a body that is not an error.
 */
function errorObject(body: unknown): Record<string, unknown> | undefined {
  if (!isObject(body)) return undefined;
  if (isObject(body.error)) return body.error;
  if (body.object === 'error' || body.type === 'error') return body;
  if (typeof body.error === 'string' && body.error.length > 0) return {};
  return undefined;
}

/** The HTTP status an error object names: a numeric `code`, or an Anthropic error type. */
function errorStatus(error: Record<string, unknown>): number | undefined {
  if (typeof error.code === 'number' && error.code >= 400 && error.code <= 599) return error.code;
  if (typeof error.type === 'string') return anthropicErrorStatus[error.type];
  return undefined;
}

/** An error object an upstream sent where a reply should be, as the GatewayError callers see. */
function reportedError(
  error: Record<string, unknown> | undefined,
  detail: string | undefined,
  providerId: string,
  where: string,
  fallbackStatus: number,
): GatewayError {
  const status = error === undefined ? undefined : errorStatus(error);
  if (status !== undefined && ((status >= 400 && status < 500) || status === 529)) {
    return upstreamStatusError(status, detail, providerId, undefined, error);
  }
  // A server error, or none named: say what happened, not "HTTP 500" (retries treat it as one).
  const said = detail === undefined ? '.' : `: ${redactSecrets(detail)}`;
  return new GatewayError(
    'upstream_error',
    `Provider "${providerId}" reported an error ${where}${said}`,
    {
      upstreamStatus: status ?? fallbackStatus,
    },
  );
}

/**
 * An error reported inside a stream that had begun: Anthropic's `error` event
 * (`{"type":"error","error":{"type","message"}}`), an `{"error":{…}}` object from Gemini
 * (numeric `code`) or an OpenAI-compatible server (OpenRouter's comes inside a chunk), or vLLM's
 * `{"object":"error",…}`.
 */
export function upstreamStreamError(data: string, providerId: string): GatewayError {
  let error: Record<string, unknown> | undefined;
  try {
    error = errorObject(JSON.parse(data));
  } catch {
    // not JSON: an upstream failure all the same
  }
  return reportedError(error, upstreamMessage(data), providerId, 'in the stream', 500);
}

/**
 * Whether `data` may hold an error object: `"error"` as a key, or vLLM's `"object":"error"`.
 * Inside a JSON string a quote is escaped, so ordinary content never matches; only the data
 * that does is parsed.
 */
export const MAYBE_ERROR = /"error"\s*:|"object"\s*:\s*"error"|"type"\s*:\s*"error"/;

/**
 * The error a 2xx JSON body (or a stream event's data) reports instead of a reply, if it is
 * one; undefined for anything else. Cheap for ordinary data: parsed only if MAYBE_ERROR matches.
 */
export function reportedUpstreamError(
  text: string,
  providerId: string,
  where: 'in the stream' | 'in its reply',
): GatewayError | undefined {
  if (!MAYBE_ERROR.test(text)) return undefined;
  let error: Record<string, unknown> | undefined;
  try {
    error = errorObject(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (error === undefined) return undefined;
  return reportedError(
    error,
    upstreamMessage(text),
    providerId,
    where,
    where === 'in the stream' ? 500 : 502,
  );
}

/** A stream that ended before it was complete; with no event at all, a reply that was not SSE. */
export function streamCutGatewayError(err: StreamCutError, providerId: string): GatewayError {
  if (err.empty) {
    return new GatewayError(
      'upstream_error',
      `Provider "${providerId}" sent a stream Vidai could not read.`,
      { cause: err },
    );
  }
  return new GatewayError(
    'upstream_error',
    `The stream from provider "${providerId}" ended before it was complete.`,
    { cause: err },
  );
}

export function transportGatewayError(err: TransportError, providerId: string): GatewayError {
  const cause = { cause: err };
  switch (err.failure) {
    case 'first_byte_timeout':
    case 'idle_timeout':
      return new GatewayError(
        'upstream_timeout',
        `Provider "${providerId}" did not answer in time.`,
        cause,
      );
    case 'connect':
      return new GatewayError(
        'upstream_unreachable',
        `Provider "${providerId}" could not be reached.`,
        cause,
      );
    case 'reset':
      return new GatewayError(
        'upstream_error',
        `The connection to provider "${providerId}" broke.`,
        cause,
      );
    case 'aborted':
      // The attempt's signal aborted. Vidai's own deadline aborts it too; the pipeline tells
      // that case apart (Deadline.explain) before anything is classified here.
      return new GatewayError('cancelled', 'The request was cancelled by the client.', cause);
  }
}

/** Upstream failures (transport errors, cut streams) as GatewayErrors; anything else as it is. */
export function asGatewayError(err: unknown, providerId: string): unknown {
  if (err instanceof TransportError) return transportGatewayError(err, providerId);
  if (err instanceof StreamCutError) return streamCutGatewayError(err, providerId);
  if (err instanceof UnreadableEventError) return unreadableReply(providerId);
  if (err instanceof SseEventTooLargeError) {
    return new GatewayError(
      'upstream_error',
      `Provider "${providerId}" sent a stream event larger than Vidai accepts (${MAX_EVENT_CHARS / (1024 * 1024)} MiB).`,
      { cause: err },
    );
  }
  return err;
}
