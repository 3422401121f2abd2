/**
 * ApiError → Anthropic's error format, for /v1/messages and /v1/messages/count_tokens:
 * `{"type":"error","error":{"type","message"}}` with Anthropic's status codes. The ApiError itself
 * comes from the one mapper (error-mapping.ts / upstream/api-error.ts), so blame and retry-after
 * are decided in one place; only the envelope differs.
 *
 * 400 invalid_request_error · 401 authentication_error · 403 permission_error · 404 not_found_error ·
 * 413 request_too_large · 429 rate_limit_error · 503 (no account can serve, upstream overloaded) →
 * 529 overloaded_error · 500/502/504 → api_error with the same status.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiError } from '../errors.js';

export interface AnthropicError {
  status: number;
  body: { type: 'error'; error: { type: string; message: string } };
}

const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function anthropicErrorOf(err: Pick<ApiError, 'status' | 'message'>): AnthropicError {
  const status = err.status === 503 ? 529 : err.status;
  const type = err.status === 503 ? 'overloaded_error' : (TYPE_BY_STATUS[err.status] ?? (err.status >= 400 && err.status < 500 ? 'invalid_request_error' : 'api_error'));
  return { status, body: { type: 'error', error: { type, message: err.message } } };
}

/** Requests that get Anthropic's error envelope: the Messages API, and any request that carries `anthropic-version` (e.g. GET /v1/models from an Anthropic client). */
export function wantsAnthropicErrors(req: Pick<FastifyRequest, 'url' | 'headers'>): boolean {
  // the path also in an absolute-form request target (`POST http://host/v1/messages HTTP/1.1`)
  return /^(?:[a-z][a-z0-9+.-]*:\/\/[^/]*)?\/v1\/messages/i.test(req.url) || typeof req.headers['anthropic-version'] === 'string';
}

/** Sends an ApiError in Anthropic's envelope and status, with retry-after when it has one. */
export function sendAnthropicError(reply: FastifyReply, err: ApiError): FastifyReply {
  const { status, body } = anthropicErrorOf(err);
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
