import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELS, startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { backendHeaders, callResponses, responsesBody, streamedText, userMessage, postJson, type SseEvent } from './helpers.js';

let sb: Sandbox;
let acct: MintedAccount;
afterEach(async () => {
  await sb.close();
});

function types(events: SseEvent[]): string[] {
  return events.map((e) => e.data.type);
}

describe('sandbox backend: auth and validation', () => {
  beforeEach(async () => {
    sb = await startSandbox({ quiet: true });
    acct = sb.mintAccount({ email: 'be@example.com' });
  });

  it('401 invalid_token for a missing or unknown token, token_expired after expireAccessTokens', async () => {
    const body = responsesBody([userMessage('hi')]);
    const missing = await postJson(`${sb.baseUrl}/responses`, body, { 'chatgpt-account-id': acct.accountId });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
    const unknown = await callResponses(sb.baseUrl, { accessToken: 'eyJx.eyJy.z', accountId: acct.accountId }, body);
    expect(unknown.res.status).toBe(401);
    expect(JSON.parse(unknown.text).error.code).toBe('invalid_token');
    sb.expireAccessTokens('be@example.com');
    const expired = await callResponses(sb.baseUrl, acct, body);
    expect(expired.res.status).toBe(401);
    const err = JSON.parse(expired.text).error as { code: string; message: string };
    expect(err.code).toBe('token_expired');
    expect(err.message).toBeTruthy();
    // a fresh login works again
    const fresh = sb.mintAccount({ email: 'be@example.com' });
    expect(fresh.accountId).toBe(acct.accountId);
    expect((await callResponses(sb.baseUrl, fresh, body)).res.status).toBe(200);
  });

  it('access tokens expire with time', async () => {
    const clock = new ManualClock(Date.now());
    await sb.close();
    sb = await startSandbox({ quiet: true, clock, accessTokenTtlSeconds: 60 });
    const a = sb.mintAccount();
    const body = responsesBody([userMessage('hi')]);
    expect((await callResponses(sb.baseUrl, a, body)).res.status).toBe(200);
    await clock.advance(61_000);
    const r = await callResponses(sb.baseUrl, a, body);
    expect(r.res.status).toBe(401);
    expect(JSON.parse(r.text).error.code).toBe('token_expired');
  });

  it('ChatGPT-Account-ID must match the token', async () => {
    const other = sb.mintAccount();
    const r = await callResponses(sb.baseUrl, { accessToken: acct.accessToken, accountId: other.accountId }, responsesBody([userMessage('hi')]));
    expect(r.res.status).toBe(403);
  });

  it.each([
    [{ temperature: 0.2 }, 'temperature'],
    [{ top_p: 0.5 }, 'top_p'],
    [{ max_output_tokens: 10 }, 'max_output_tokens'],
    [{ max_tokens: 10 }, 'max_tokens'],
    [{ store: true }, 'Store'],
    [{ stream: false }, 'Stream'],
  ])('400 {detail} for %o', async (extra, word) => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('hi')], extra));
    expect(r.res.status).toBe(400);
    expect(JSON.parse(r.text).detail).toContain(word);
  });

  it('400 when stream is missing and for an unknown model', async () => {
    const body = responsesBody([userMessage('hi')]);
    delete body.stream;
    expect((await callResponses(sb.baseUrl, acct, body)).res.status).toBe(400);
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('hi')], { model: 'gpt-4o' }));
    expect(r.res.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ detail: "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account." });
  });

  it('GET /models lists the sandbox models with slug and display_name', async () => {
    const res = await fetch(`${sb.baseUrl}/models?client_version=0.169.0`, { headers: backendHeaders(acct) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: { slug: string; display_name: string; supported_reasoning_levels: unknown[] }[] };
    expect(body.models.map((m) => m.slug)).toEqual([...SANDBOX_MODELS]);
    expect(body.models[1]!.display_name).toBe('GPT-5 Codex');
    expect((await fetch(`${sb.baseUrl}/models`)).status).toBe(401);
  });
});

describe('sandbox backend: deterministic replies over SSE', () => {
  beforeEach(async () => {
    sb = await startSandbox({ quiet: true });
    acct = sb.mintAccount();
  });

  it('"Return OK." streams OK with the real event sequence, numbering and usage headers', async () => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return OK.')]));
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get('content-type')).toContain('text/event-stream');
    for (const h of ['primary-used-percent', 'primary-window-minutes', 'primary-reset-at', 'primary-reset-after-seconds', 'secondary-used-percent', 'secondary-window-minutes', 'secondary-reset-at', 'secondary-reset-after-seconds']) {
      expect(r.res.headers.get(`x-codex-${h}`), h).toMatch(/^\d+$/);
    }
    expect(types(r.events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    r.events.forEach((e, i) => {
      expect(e.event).toBe(e.data.type);
      expect(e.data.sequence_number).toBe(i);
    });
    const created = r.events[0]!.data.response as Record<string, unknown>;
    expect(created).toMatchObject({ object: 'response', model: 'gpt-5-codex', status: 'in_progress', output: [] });
    expect(typeof created.id).toBe('string');
    expect(typeof created.created_at).toBe('number');
    const added = r.events[2]!.data;
    expect(added.output_index).toBe(0);
    expect(added.item).toMatchObject({ type: 'message', role: 'assistant', status: 'in_progress', content: [] });
    const delta = r.events[4]!.data;
    expect(delta).toMatchObject({ output_index: 0, content_index: 0, delta: 'OK', item_id: (added.item as { id: string }).id });
    const completed = r.events[8]!.data.response as { status: string; output: { content: { text: string }[] }[]; usage: Record<string, unknown> };
    expect(completed.status).toBe('completed');
    expect(completed.output[0]!.content[0]!.text).toBe('OK');
    expect(completed.usage).toMatchObject({ input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
    const u = completed.usage as { input_tokens: number; output_tokens: number; total_tokens: number };
    expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
  });

  it('echoes other text in several deltas split on spaces', async () => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('hello big world')]));
    const deltas = r.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta);
    expect(deltas).toEqual(['Echo:', ' hello', ' big', ' world']);
    expect(streamedText(r.events)).toBe('Echo: hello big world');
  });

  it('a string input works like one user message', async () => {
    const r = await callResponses(sb.baseUrl, acct, { model: 'gpt-5', input: 'Return 42.', store: false, stream: true });
    expect(streamedText(r.events)).toBe('42');
  });

  it('calls the tool named in the text with the first JSON object as arguments, streamed in >= 2 deltas', async () => {
    const tools = [
      { type: 'function', name: 'get_time', description: 't', parameters: { type: 'object', properties: {} }, strict: false },
      { type: 'function', name: 'get_weather', description: 'w', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
    ];
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Use get_weather with {"city": "Paris"} please')], { tools, tool_choice: 'auto' }));
    expect(types(r.events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...Array(types(r.events).filter((t) => t === 'response.function_call_arguments.delta').length).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = r.events.filter((e) => e.data.type === 'response.function_call_arguments.delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(deltas.map((e) => e.data.delta).join('')).toBe('{"city":"Paris"}');
    const done = r.events.find((e) => e.data.type === 'response.output_item.done')!.data.item as Record<string, string>;
    expect(done).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    expect(done.call_id).toMatch(/^call_\d+$/);

    // no tool named → the first tool, arguments {}
    const first = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('what now?')], { tools }));
    const item = first.events.find((e) => e.data.type === 'response.output_item.done')!.data.item as Record<string, string>;
    expect(item).toMatchObject({ name: 'get_time', arguments: '{}' });
  });

  it('answers a function_call_output with "Tool result: <output>"', async () => {
    const input = [
      userMessage('Use get_weather {"city":"Paris"}'),
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny, 21C' },
    ];
    const r = await callResponses(sb.baseUrl, acct, responsesBody(input, { tools: [{ type: 'function', name: 'get_weather', parameters: {} }] }));
    expect(streamedText(r.events)).toBe('Tool result: sunny, 21C');
  });

  it('wraps replies as {"answer": …} for json formats and counts images', async () => {
    const json = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return yes.')], { text: { format: { type: 'json_object' } } }));
    expect(JSON.parse(streamedText(json.events))).toEqual({ answer: 'yes' });
    const img = { type: 'input_image', image_url: 'data:image/png;base64,AAAA' };
    const images = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('what is this?', [img, img])]));
    expect(streamedText(images.events)).toBe('I see 2 image(s).');
  });

  it('streams a reasoning summary first when reasoning.effort and summary are set', async () => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return OK.')], { reasoning: { effort: 'medium', summary: 'auto' }, include: ['reasoning.encrypted_content'] }));
    const t = types(r.events);
    expect(t.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.reasoning_summary_part.added']);
    const summary = r.events.filter((e) => e.data.type === 'response.reasoning_summary_text.delta').map((e) => e.data.delta).join('');
    expect(summary).toBe('Thinking about: Return OK.');
    expect(t).toContain('response.reasoning_summary_text.done');
    const completed = r.events.at(-1)!.data.response as { output: { type: string; encrypted_content?: string }[]; usage: { output_tokens_details: { reasoning_tokens: number } } };
    expect(completed.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(completed.output[0]!.encrypted_content).toBeTruthy();
    expect(completed.usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(streamedText(r.events)).toBe('OK');
    const minimal = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return OK.')], { reasoning: { effort: 'minimal', summary: 'auto' } }));
    expect(types(minimal.events)).not.toContain('response.reasoning_summary_text.delta');
  });

  it('a reasoning item sent back must carry encrypted_content the sandbox issued (store:false keeps nothing)', async () => {
    const first = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return OK.')], { reasoning: { effort: 'medium', summary: 'auto' }, include: ['reasoning.encrypted_content'] }));
    const reasoning = (first.events.at(-1)!.data.response as { output: Record<string, unknown>[] }).output[0]!;
    const replay = (item: Record<string, unknown>) => callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return OK.'), item, userMessage('Return again.')]));
    expect((await replay(reasoning)).res.status).toBe(200);
    const forged = await replay({ ...reasoning, encrypted_content: Buffer.from('something else').toString('base64') });
    expect(forged.res.status).toBe(400);
    expect(JSON.parse(forged.text).detail).toMatch(/^Invalid 'input\[1\]\.encrypted_content'/);
    const idOnly = await replay({ type: 'reasoning', id: 'rs_1', summary: [] });
    expect(idOnly.res.status).toBe(400);
    expect(JSON.parse(idOnly.text).detail).toMatch(/^Item with id 'rs_1' not found\. Items are not persisted when `store` is set to false/);
  });

  it('reports cached tokens when the same prompt_cache_key comes back for the account', async () => {
    const body = responsesBody([userMessage('Return A.')], { prompt_cache_key: 'sess-1' });
    const first = await callResponses(sb.baseUrl, acct, body);
    const second = await callResponses(sb.baseUrl, acct, body);
    const cached = (r: typeof first) => (r.events.at(-1)!.data.response as { usage: { input_tokens_details: { cached_tokens: number } } }).usage.input_tokens_details.cached_tokens;
    expect(cached(first)).toBe(0);
    expect(cached(second)).toBeGreaterThan(0);
    const other = sb.mintAccount();
    expect(cached(await callResponses(sb.baseUrl, other, body))).toBe(0);
  });
});

describe('sandbox backend: quotas', () => {
  it('429 usage_limit_reached with resets_at/resets_in_seconds once the quota is used; resets with the window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    sb = await startSandbox({ quiet: true, clock });
    acct = sb.mintAccount({ email: 'q@example.com', plan: 'pro' });
    const other = sb.mintAccount();
    sb.setQuota('q@example.com', { limit: 2, resetsInSeconds: 600 });
    const body = responsesBody([userMessage('Return OK.')]);
    const r1 = await callResponses(sb.baseUrl, acct, body);
    expect(r1.res.headers.get('x-codex-primary-used-percent')).toBe('50');
    expect(r1.res.headers.get('x-codex-primary-window-minutes')).toBe('10');
    expect(r1.res.headers.get('x-codex-primary-reset-after-seconds')).toBe('600');
    expect(r1.res.headers.get('x-codex-primary-reset-at')).toBe(String(Date.UTC(2026, 0, 1) / 1000 + 600));
    expect((await callResponses(sb.baseUrl, acct, body)).res.status).toBe(200);
    await clock.advance(100_000);
    const limited = await callResponses(sb.baseUrl, acct, body);
    expect(limited.res.status).toBe(429);
    expect(limited.res.headers.get('x-codex-primary-used-percent')).toBe('100');
    expect(JSON.parse(limited.text)).toEqual({
      error: {
        type: 'usage_limit_reached',
        message: 'The usage limit has been reached',
        plan_type: 'pro',
        resets_at: Date.UTC(2026, 0, 1) / 1000 + 600,
        resets_in_seconds: 500,
      },
    });
    expect(sb.stats(acct.accountId)).toMatchObject({ requests: 3, rateLimited: 1 });
    // other accounts are not affected
    expect((await callResponses(sb.baseUrl, other, body)).res.status).toBe(200);
    await clock.advance(500_000);
    expect((await callResponses(sb.baseUrl, acct, body)).res.status).toBe(200);
  });
});
