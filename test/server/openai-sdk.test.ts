import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

const KEY = 'sdk-key-0123456789';
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.requestRetry = 0) });
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

describe('openai SDK against the proxy', () => {
  it('non-stream completion', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.choices[0]!.message.content).toBe('OK');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('stream with the SDK stream helper', async () => {
    const stream = client.chat.completions.stream({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return one two three.' }] });
    const deltas: string[] = [];
    stream.on('content', (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('one two three');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.choices[0]!.finish_reason).toBe('stop');
  });

  it('stream:true with for-await, one id, include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'Return streamed text.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const ids = new Set<string>();
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('streamed text');
    expect(ids.size).toBe(1);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('tool-call round trip: call → tool result → answer', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Use get_weather for {"city":"Paris"}' }];
    const stream = client.chat.completions.stream({ model: 'gpt-5-codex', messages, tools });
    const first = await stream.finalChatCompletion();
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

    messages.push({ role: 'assistant', content: null, tool_calls: choice.message.tool_calls });
    messages.push({ role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' });
    const second = await client.chat.completions.create({ model: 'gpt-5-codex', messages, tools });
    expect(second.choices[0]!.message.content).toBe('Tool result: sunny, 21C');
    expect(second.choices[0]!.finish_reason).toBe('stop');
  });

  it('JSON mode', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'Return yes.' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ answer: 'yes' });
  });

  it('an image part', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==' } },
          ],
        },
      ],
    });
    expect(r.choices[0]!.message.content).toBe('I see 1 image(s).');
  });

  it('reasoning_content when reasoning_effort is set', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'Return deep.' }],
      reasoning_effort: 'high',
    });
    const message = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.reasoning_content).toContain('Thinking about: Return deep.');
    expect(message.content).toBe('deep');
    expect(r.usage?.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0);
  });

  it('usage with cached_tokens on a repeated prompt_cache_key', async () => {
    const params = { model: 'gpt-5-codex', messages: [{ role: 'user' as const, content: 'Return cached.' }], prompt_cache_key: 'cache-test-1' };
    await client.chat.completions.create(params);
    const r = await client.chat.completions.create(params);
    expect(r.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
  });
});

describe('errors surface as the SDK typed errors', () => {
  it('401 → AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'not-the-key-123', maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it('400 → BadRequestError with param', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }], n: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
  });

  it('404 → NotFoundError (unknown model)', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-0', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('5xx → InternalServerError', async () => {
    stack.sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    const err = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
  });

  // last: the usage limit leaves the only account cooling down for the rest of this file
  it('429 → RateLimitError (usage limit reached upstream)', async () => {
    stack.sandbox.addFault({ kind: 'status', status: 429, times: 1 });
    const err = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
