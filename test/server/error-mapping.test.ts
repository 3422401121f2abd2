import { describe, expect, it } from 'vitest';
import { ApiError, InternalError, InvalidRequestError, RateLimitError } from '../../src/errors.js';
import { toClientError } from '../../src/server/error-mapping.js';
import { CLIENT_CAUSED_FAILURE_CODES, apiErrorFromFailure } from '../../src/upstream/api-error.js';
import { UpstreamFailure, type FailureKind } from '../../src/upstream/types.js';

const NOW = Date.UTC(2026, 0, 1);

describe('apiErrorFromFailure (the one mapper the server uses)', () => {
  const table: [FailureKind, Record<string, unknown>, number, string][] = [
    ['bad_request', {}, 400, 'invalid_request_error'],
    ['usage_limit', { resetAt: NOW + 90_500 }, 429, 'rate_limit_error'],
    ['rate_limited', { retryAfterMs: 3_000 }, 429, 'rate_limit_error'],
    ['overloaded', {}, 503, 'service_unavailable'],
    ['unauthorized', {}, 503, 'service_unavailable'],
    ['server', { status: 500 }, 502, 'upstream_error'],
    ['network', {}, 502, 'upstream_error'],
    ['stream_closed', {}, 502, 'upstream_error'],
    ['response_failed', {}, 502, 'upstream_error'],
    ['forbidden', { status: 403 }, 502, 'upstream_error'],
  ];
  for (const [kind, init, status, type] of table) {
    it(`${kind} → ${status}`, () => {
      const e = apiErrorFromFailure(new UpstreamFailure(kind, `boom ${kind}`, init), NOW);
      expect(e.status).toBe(status);
      expect(e.type).toBe(type);
      expect(e.message).toContain(`boom ${kind}`);
    });
  }

  it('usage_limit carries Retry-After from resetAt, rounded up', () => {
    const e = apiErrorFromFailure(new UpstreamFailure('usage_limit', 'limit', { resetAt: NOW + 90_500 }), NOW);
    expect(e.retryAfterSeconds).toBe(91);
    expect(e.code).toBe('usage_limit_reached');
  });

  it('rate_limited carries Retry-After from retryAfterMs', () => {
    expect(apiErrorFromFailure(new UpstreamFailure('rate_limited', 'slow', { retryAfterMs: 2_100 }), NOW).retryAfterSeconds).toBe(3);
  });

  it('a timeout is a 504', () => {
    const e = apiErrorFromFailure(new UpstreamFailure('network', 'request timed out after 600 s', { code: 'timeout' }), NOW);
    expect(e.status).toBe(504);
  });

  it('unauthorized advises a new login', () => {
    expect(apiErrorFromFailure(new UpstreamFailure('unauthorized', '401'), NOW).message).toContain('cliproxy login');
  });

  it('response_failed with a rate-limit code is a 429', () => {
    const e = apiErrorFromFailure(new UpstreamFailure('response_failed', 'too many', { code: 'rate_limit_exceeded' }), NOW);
    expect(e).toBeInstanceOf(RateLimitError);
  });

  it.each(['context_length_exceeded', 'invalid_image', 'invalid_prompt', 'content_filter'])(
    'response_failed caused by the client input (%s) is a 400 with that code and the upstream message',
    (code) => {
      const e = apiErrorFromFailure(new UpstreamFailure('response_failed', 'Your input exceeds the context window.', { code }), NOW);
      expect(e).toBeInstanceOf(InvalidRequestError);
      expect(e.status).toBe(400);
      expect(e.type).toBe('invalid_request_error');
      expect(e.code).toBe(code);
      expect(e.message).toBe('Your input exceeds the context window.');
    },
  );

  it('every client-caused code maps to 400; other response_failed codes stay 502', () => {
    for (const code of CLIENT_CAUSED_FAILURE_CODES) {
      expect(apiErrorFromFailure(new UpstreamFailure('response_failed', 'x', { code }), NOW).status).toBe(400);
    }
    expect(apiErrorFromFailure(new UpstreamFailure('response_failed', 'x', { code: 'server_error' }), NOW).status).toBe(502);
  });

  it('scrubs tokens out of upstream messages', () => {
    const jwt = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4eCJ9.c2lnbmF0dXJl';
    const e = apiErrorFromFailure(new UpstreamFailure('bad_request', `bad token ${jwt}`), NOW);
    expect(e.message).not.toContain(jwt);
  });
});

describe('toClientError', () => {
  it('passes ApiErrors through', () => {
    const e = new ApiError(418, 'x', 'teapot');
    expect(toClientError(e, { now: NOW, maxBodyMb: 1 })).toBe(e);
  });

  it('maps a client-caused response_failed to 400 (the path every route error takes)', () => {
    const failure = new UpstreamFailure('response_failed', 'Your input exceeds the context window.', { code: 'context_length_exceeded' });
    expect(toClientError(failure, { now: NOW, maxBodyMb: 1 })).toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });

  it('hides unknown errors behind a generic 500', () => {
    const e = toClientError(new Error('secret internals at /home/x'), { now: NOW, maxBodyMb: 1 });
    expect(e).toBeInstanceOf(InternalError);
    expect(e.message).not.toContain('internals');
  });

  it('maps fastify parser errors', () => {
    const tooLarge = Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(toClientError(tooLarge, { now: NOW, maxBodyMb: 2 })).toMatchObject({ status: 413, message: expect.stringContaining('2 MB') });
    const media = Object.assign(new Error('media'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });
    expect(toClientError(media, { now: NOW, maxBodyMb: 2 }).status).toBe(415);
  });
});
