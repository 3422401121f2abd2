import { describe, expect, it } from 'vitest';
import { classifyFailure, retryAfterFromMessage } from '../../src/upstream/classify.js';
import { apiErrorFromFailure } from '../../src/upstream/api-error.js';
import { UpstreamFailure } from '../../src/upstream/types.js';

const NOW = 1_700_000_000_000;
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl';

type Expect = Partial<Pick<UpstreamFailure, 'kind' | 'code' | 'resetAt' | 'retryAfterMs' | 'message' | 'status'>>;

describe('classifyFailure', () => {
  const cases: [string, number, Record<string, string>, string, Expect][] = [
    ['401 JSON', 401, {}, '{"error":{"message":"Your authentication token has expired.","code":"token_expired"}}',
      { kind: 'unauthorized', status: 401, code: 'token_expired', message: 'Your authentication token has expired.' }],
    ['401 empty body', 401, {}, '', { kind: 'unauthorized', message: 'the Codex backend rejected the access token (HTTP 401)' }],
    ['429 usage_limit_reached with resets_at and resets_in_seconds', 429, {},
      '{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1700003600,"resets_in_seconds":3600}}',
      { kind: 'usage_limit', code: 'usage_limit_reached', resetAt: 1_700_003_600_000, retryAfterMs: 3_600_000, message: 'The usage limit has been reached' }],
    ['429 usage_limit_reached with resets_at only', 429, {}, '{"error":{"type":"usage_limit_reached","message":"m","resets_at":1700000600}}',
      { kind: 'usage_limit', resetAt: 1_700_000_600_000, retryAfterMs: 600_000 }],
    ['429 usage_limit_reached with resets_in_seconds only', 429, {}, '{"error":{"type":"usage_limit_reached","message":"m","resets_in_seconds":120}}',
      { kind: 'usage_limit', resetAt: NOW + 120_000, retryAfterMs: 120_000 }],
    ['429 usage_limit_reached with only Retry-After', 429, { 'retry-after': '30' }, '{"error":{"type":"usage_limit_reached","message":"m"}}',
      { kind: 'usage_limit', resetAt: NOW + 30_000, retryAfterMs: 30_000 }],
    ['429 usage_limit_reached as error.code', 429, {}, '{"error":{"code":"usage_limit_reached","message":"m","resets_in_seconds":5}}',
      { kind: 'usage_limit', code: 'usage_limit_reached', resetAt: NOW + 5000 }],
    ['429 usage limit from an exhausted usage header window', 429, { 'x-codex-primary-used-percent': '100', 'x-codex-primary-reset-at': '1700009000' },
      '{"error":{"type":"usage_limit_reached","message":"m"}}', { kind: 'usage_limit', resetAt: 1_700_009_000_000, retryAfterMs: 9_000_000 }],
    ['429 "usage limit" text without a type', 429, {}, '{"error":{"message":"You have hit your usage limit."}}', { kind: 'usage_limit', code: 'usage_limit_reached' }],
    ['429 rate_limit_exceeded "try again in 20s"', 429, {}, '{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 20s."}}',
      { kind: 'rate_limited', code: 'rate_limit_exceeded', retryAfterMs: 20_000 }],
    ['429 "Please try again in 1.5s"', 429, {}, '{"error":{"type":"rate_limit_exceeded","message":"Please try again in 1.5s."}}', { kind: 'rate_limited', retryAfterMs: 1500 }],
    ['429 "try again in 250ms"', 429, {}, '{"error":{"type":"rate_limit_exceeded","message":"Please try again in 250ms."}}', { kind: 'rate_limited', retryAfterMs: 250 }],
    ['429 "try again in 12 seconds"', 429, {}, '{"error":{"message":"Too many requests, try again in 12 seconds"}}', { kind: 'rate_limited', code: 'rate_limit_exceeded', retryAfterMs: 12_000 }],
    ['429 "try again in 6m0s"', 429, {}, '{"error":{"message":"Please try again in 6m0s"}}', { kind: 'rate_limited', retryAfterMs: 360_000 }],
    ['429 with Retry-After seconds and no hint in the message', 429, { 'retry-after': '7' }, '{"error":{"code":"rate_limit_exceeded","message":"slow"}}', { kind: 'rate_limited', retryAfterMs: 7000 }],
    ['429 with retry-after-ms', 429, { 'retry-after-ms': '1234' }, '', { kind: 'rate_limited', retryAfterMs: 1234, message: 'rate limited by the Codex backend' }],
    ['429 with an HTTP-date Retry-After', 429, { 'retry-after': new Date(NOW + 60_000).toUTCString() }, 'Too Many Requests', { kind: 'rate_limited', retryAfterMs: 60_000, message: 'Too Many Requests' }],
    ['429 usage_not_included → forbidden', 429, {}, '{"error":{"type":"usage_not_included","message":"Upgrade to Plus to use Codex."}}', { kind: 'forbidden', code: 'usage_not_included' }],
    ['503 server_is_overloaded', 503, {}, '{"error":{"code":"server_is_overloaded","message":"Our servers are currently overloaded."}}',
      { kind: 'overloaded', code: 'server_is_overloaded', message: 'Our servers are currently overloaded.' }],
    ['503 slow_down', 503, { 'retry-after': '2' }, '{"error":{"type":"slow_down","message":"Slow down"}}', { kind: 'overloaded', code: 'slow_down', retryAfterMs: 2000 }],
    ['503 other', 503, {}, 'Service Unavailable', { kind: 'server', message: 'Service Unavailable' }],
    ['500 JSON', 500, {}, '{"error":{"message":"An error occurred while processing your request.","type":"server_error"}}', { kind: 'server', code: 'server_error' }],
    ['502 HTML page is not echoed', 502, {}, '<html><body><h1>502 Bad Gateway</h1></body></html>', { kind: 'server', message: 'the Codex backend failed (HTTP 502)' }],
    ['408', 408, {}, '', { kind: 'server' }],
    ['400 detail: unsupported parameter', 400, {}, '{"detail":"Unsupported parameter: temperature"}', { kind: 'bad_request', status: 400, message: 'Unsupported parameter: temperature' }],
    ['400 detail: unknown model', 400, {}, '{"detail":"The \'gpt-4\' model is not supported when using Codex with a ChatGPT account."}',
      { kind: 'bad_request', message: "The 'gpt-4' model is not supported when using Codex with a ChatGPT account." }],
    ['400 detail: store must be false', 400, {}, '{"detail":"Store must be set to false"}', { kind: 'bad_request', message: 'Store must be set to false' }],
    ['400 structured detail', 400, {}, '{"detail":[{"loc":["body","input"],"msg":"field required"}]}', { kind: 'bad_request', message: '[{"loc":["body","input"],"msg":"field required"}]' }],
    ['400 OpenAI error envelope', 400, {}, '{"error":{"message":"Invalid value for input","type":"invalid_request_error","param":"input","code":"invalid_value"}}',
      { kind: 'bad_request', code: 'invalid_value', message: 'Invalid value for input' }],
    ['422', 422, {}, '{"detail":"bad"}', { kind: 'bad_request', message: 'bad' }],
    ['403 HTML (Cloudflare)', 403, {}, '<!DOCTYPE html><html>Just a moment...</html>', { kind: 'forbidden', message: 'the Codex backend refused this account (HTTP 403)' }],
    ['403 JSON', 403, {}, '{"detail":"Forbidden"}', { kind: 'forbidden', message: 'Forbidden' }],
    ['404', 404, {}, '{"detail":"Not Found"}', { kind: 'not_found', message: 'Not Found' }],
    ['unexpected 3xx', 302, {}, '', { kind: 'server', message: 'unexpected HTTP 302 from the Codex backend' }],
  ];
  it.each(cases)('%s', (_name, status, headers, body, expected) => {
    const f = classifyFailure(status, headers, body, NOW);
    expect(f).toBeInstanceOf(UpstreamFailure);
    expect(f).toMatchObject({ status, ...expected });
  });

  it('carries the usage headers', () => {
    const f = classifyFailure(429, { 'x-codex-primary-used-percent': '100', 'x-codex-secondary-used-percent': '20' }, '{}', NOW);
    expect(f.usage).toEqual({ primary: { usedPercent: 100 }, secondary: { usedPercent: 20 } });
  });

  it('never puts a token into the message', () => {
    for (const status of [400, 401, 403, 429, 500]) {
      const f = classifyFailure(status, {}, JSON.stringify({ detail: `invalid token ${jwt} / Bearer abcdefghijklmnopqrst` }), NOW);
      expect(f.message).not.toContain(jwt);
      expect(f.message).not.toContain('abcdefghijklmnopqrst');
      expect(f.message).toContain('[redacted');
    }
  });

  it('truncates very long upstream messages', () => {
    const f = classifyFailure(400, {}, JSON.stringify({ detail: 'x'.repeat(5000) }), NOW);
    expect(f.message.length).toBeLessThanOrEqual(501);
  });
});

describe('retryAfterFromMessage', () => {
  it.each([
    ['try again in 3s', 3000], ['Try again in 0.5 seconds', 500], ['try again in 20ms', 20], ['try again in 2 minutes', 120_000],
    ['try again in 1m20.5s', 80_500], ['try again in 1h', 3_600_000], ['no hint here', undefined],
  ])('%s → %s', (message, ms) => {
    expect(retryAfterFromMessage(message)).toBe(ms);
  });
});

describe('apiErrorFromFailure', () => {
  const cases: [UpstreamFailure, number, string, number | undefined][] = [
    [new UpstreamFailure('bad_request', "The 'x' model is not supported", { status: 400 }), 400, 'upstream_bad_request', undefined],
    [new UpstreamFailure('not_found', 'nf', { status: 404 }), 502, 'upstream_not_found', undefined],
    [new UpstreamFailure('usage_limit', 'limit', { resetAt: NOW + 90_500 }), 429, 'usage_limit_reached', 91],
    [new UpstreamFailure('rate_limited', 'rl', { retryAfterMs: 1500 }), 429, 'rate_limit_exceeded', 2],
    [new UpstreamFailure('overloaded', 'busy', { code: 'slow_down' }), 503, 'slow_down', undefined],
    [new UpstreamFailure('network', 'timed out', { code: 'timeout' }), 504, 'upstream_timeout', undefined],
    [new UpstreamFailure('network', 'refused', { code: 'ECONNREFUSED' }), 502, 'upstream_error', undefined],
    [new UpstreamFailure('response_failed', 'bad image', { code: 'invalid_image' }), 400, 'invalid_image', undefined],
    [new UpstreamFailure('response_failed', 'too long', { code: 'context_length_exceeded' }), 400, 'context_length_exceeded', undefined],
    [new UpstreamFailure('response_failed', 'busy', { code: 'server_is_overloaded' }), 503, 'server_is_overloaded', undefined],
    [new UpstreamFailure('response_failed', 'boom', { code: 'server_error' }), 502, 'server_error', undefined],
    [new UpstreamFailure('stream_closed', 'closed', { code: 'stream_closed' }), 502, 'stream_closed', undefined],
    [new UpstreamFailure('unauthorized', 'expired'), 503, 'account_unauthorized', undefined],
    [new UpstreamFailure('forbidden', 'no'), 502, 'upstream_forbidden', undefined],
    [new UpstreamFailure('server', '500'), 502, 'upstream_error', undefined],
  ];
  it.each(cases)('%s', (failure, status, code, retryAfterSeconds) => {
    const err = apiErrorFromFailure(failure, NOW);
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
    expect(err.message).toContain(failure.message);
    expect(err.retryAfterSeconds).toBe(retryAfterSeconds);
  });
});
