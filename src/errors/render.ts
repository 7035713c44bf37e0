import { errorCodes, type GatewayError } from './gateway-error';

/** The wire format a route speaks to its caller; errors are rendered in that format's shape. */
export type InboundFormat = 'openai' | 'anthropic';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

// https://platform.openai.com/docs/guides/error-codes
export function openaiErrorBody(err: GatewayError): OpenAIErrorBody {
  return {
    error: {
      message: err.message,
      type: errorCodes[err.code].openai,
      param: err.param,
      code: err.code,
    },
  };
}

/** Anthropic's types for the 4xx statuses a provider's rejection keeps (upstream_invalid_request). */
const anthropicTypeOfStatus: Record<number, string> = {
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
};

// https://docs.anthropic.com/en/api/errors
export function anthropicErrorBody(err: GatewayError): AnthropicErrorBody {
  const kept =
    err.code === 'upstream_invalid_request' ? anthropicTypeOfStatus[err.status] : undefined;
  return {
    type: 'error',
    error: { type: kept ?? errorCodes[err.code].anthropic, message: err.message },
  };
}

export function errorBody(format: InboundFormat, err: GatewayError): object {
  return format === 'anthropic' ? anthropicErrorBody(err) : openaiErrorBody(err);
}

export function renderError(
  format: InboundFormat,
  err: GatewayError,
  extraHeaders?: Headers,
): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'application/json');
  for (const [name, value] of Object.entries(err.headers)) headers.set(name, value);
  return new Response(JSON.stringify(errorBody(format, err)), { status: err.status, headers });
}
