/**
 * Errors node's HTTP parser raises before fastify sees a request (malformed request line or
 * headers, headers too large, a body that did not arrive within server.request-timeout-seconds):
 * answered with OpenAI's error envelope instead of fastify's own body, then the connection is closed.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from '../errors.js';
import { anthropicErrorOf, wantsAnthropicErrors } from './anthropic-error.js';

interface ParserError extends Error {
  code?: string;
  /** What node's parser had read of the request (its request line tells the path): a Buffer at run time. */
  rawPacket?: unknown;
}

export function clientErrorFor(err: ParserError): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError(431, 'invalid_request_error', 'Request headers are too large.', { code: 'headers_too_large' });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError(408, 'invalid_request_error', 'The request did not arrive in time (server.request-timeout-seconds).', { code: 'request_timeout' });
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
    case 'HPE_INVALID_CHUNK_SIZE':
      return new ApiError(400, 'invalid_request_error', 'Malformed chunked request body.', { code: 'malformed_request' });
    default:
      return new ApiError(400, 'invalid_request_error', 'Malformed HTTP request.', { code: 'malformed_request' });
  }
}

/** `anthropic`: the request line named an Anthropic path (/v1/messages…): Anthropic's envelope and status. */
export function clientErrorResponse(err: ApiError, anthropic = false): string {
  const a = anthropic ? anthropicErrorOf(err) : undefined;
  const status = a?.status ?? err.status;
  const body = JSON.stringify(a?.body ?? err.toBody());
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** fastify's `clientErrorHandler`. */
export function handleClientError(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 2048).toString('latin1') : '';
  const requestLine = /^[A-Z]+ (\S+)/.exec(raw);
  // the same rule as for every other error: Anthropic's envelope for its paths or an anthropic-version header
  const anthropic =
    requestLine !== null && wantsAnthropicErrors({ url: requestLine[1]!, headers: /\r?\nanthropic-version:/i.test(raw) ? { 'anthropic-version': '' } : {} });
  socket.end(clientErrorResponse(clientErrorFor(err), anthropic));
}
