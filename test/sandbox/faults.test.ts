import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { backendHeaders, callResponses, parseSse, responsesBody, streamedText, userMessage } from './helpers.js';

let sb: Sandbox;
let a: MintedAccount;
let b: MintedAccount;
const body = responsesBody([userMessage('Return OK.')]);

beforeEach(async () => {
  sb = await startSandbox({ quiet: true });
  a = sb.mintAccount({ email: 'a@example.com' });
  b = sb.mintAccount({ email: 'b@example.com' });
});
afterEach(async () => {
  await sb.close();
});

describe('sandbox faults', () => {
  it('status 429 is usage_limit_reached with resets_in_seconds, for the targeted account only, `times` times', async () => {
    sb.addFault({ kind: 'status', status: 429, account: 'a@example.com', times: 2, resetsInSeconds: 120 });
    expect((await callResponses(sb.baseUrl, b, body)).res.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const r = await callResponses(sb.baseUrl, a, body);
      expect(r.res.status).toBe(429);
      const err = JSON.parse(r.text).error as Record<string, unknown>;
      expect(err).toMatchObject({ type: 'usage_limit_reached', resets_in_seconds: 120, plan_type: 'plus' });
      expect(typeof err.resets_at).toBe('number');
      expect(r.res.headers.get('x-codex-primary-used-percent')).not.toBeNull();
    }
    expect((await callResponses(sb.baseUrl, a, body)).res.status).toBe(200);
    expect(sb.stats('a@example.com')).toMatchObject({ requests: 3, rateLimited: 2, failures: 0 });
    expect(sb.stats()).toMatchObject({ requests: 4, rateLimited: 2 });
  });

  it('status 500 and 503 (server_is_overloaded) hit any account and count as failures', async () => {
    sb.addFault({ kind: 'status', status: 500 });
    sb.addFault({ kind: 'status', status: 503 });
    const r500 = await callResponses(sb.baseUrl, b, body);
    expect(r500.res.status).toBe(500);
    const r503 = await callResponses(sb.baseUrl, a, body);
    expect(r503.res.status).toBe(503);
    expect(JSON.parse(r503.text).error.type).toBe('server_is_overloaded');
    expect((await callResponses(sb.baseUrl, a, body)).res.status).toBe(200);
    expect(sb.stats().failures).toBe(2);
    sb.resetStats();
    expect(sb.stats()).toEqual({ requests: 0, refreshes: 0, refreshReuses: 0, rateLimited: 0, failures: 0 });
  });

  it('disconnect drops the socket after N events, before response.completed', async () => {
    sb.addFault({ kind: 'disconnect', afterEvents: 3 });
    const res = await request(`${sb.baseUrl}/responses`, { method: 'POST', headers: { ...backendHeaders(a), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.statusCode).toBe(200);
    let text = '';
    let error: unknown;
    try {
      for await (const chunk of res.body) text += (chunk as Buffer).toString();
    } catch (err) {
      error = err;
    }
    expect(error).toBeDefined();
    const events = parseSse(text);
    expect(events.map((e) => e.data.type)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect(sb.stats().failures).toBe(1);
    // the next request is healthy
    expect(streamedText((await callResponses(sb.baseUrl, a, body)).events)).toBe('OK');
  });

  it('response_failed ends the stream with response.failed carrying an error', async () => {
    sb.addFault({ kind: 'response_failed', account: b.accountId });
    const r = await callResponses(sb.baseUrl, b, body);
    expect(r.res.status).toBe(200);
    expect(r.events.map((e) => e.data.type)).toEqual(['response.created', 'response.in_progress', 'response.failed']);
    const failed = r.events[2]!.data.response as { status: string; error: { code: string; message: string } };
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('server_error');
    expect(sb.stats(b.accountId).failures).toBe(1);
  });

  it('response_failed carries the code and message the fault names', async () => {
    sb.addFault({ kind: 'response_failed', account: b.accountId, code: 'context_length_exceeded', message: 'Your input exceeds the context window.' });
    const r = await callResponses(sb.baseUrl, b, body);
    const failed = r.events.at(-1)!.data.response as { error: { code: string; message: string } };
    expect(failed.error).toEqual({ code: 'context_length_exceeded', message: 'Your input exceeds the context window.' });
  });

  it('slow waits between events (at least delayMs each) and still completes', async () => {
    sb.addFault({ kind: 'slow', delayMs: 25 });
    const started = Date.now();
    const r = await callResponses(sb.baseUrl, a, body);
    const elapsed = Date.now() - started;
    expect(streamedText(r.events)).toBe('OK');
    expect(elapsed).toBeGreaterThanOrEqual(25 * (r.events.length - 1) - 5);
  });

  it('rejects a non-positive times', () => {
    expect(() => sb.addFault({ kind: 'status', status: 500, times: 0 })).toThrow(/times/);
  });
});
