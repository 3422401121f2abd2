import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_PREFIX } from '../../src/translate/messages-to-responses.js';
import { startStack, type Stack } from './stack.js';

const KEY = 'sdk-key-0123456789';
const MODEL = 'claude-sonnet-4-5';
let stack: Stack;
let client: Anthropic;

// a 1×1 transparent PNG
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.requestRetry = 0) });
  client = new Anthropic({ baseURL: stack.url, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

function textOf(message: Anthropic.Message): string {
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

describe('Anthropic SDK against the proxy (/v1/messages)', () => {
  it('text, non-streaming: the answer, end_turn, the model name echoed, usage', async () => {
    const m = await client.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(m.type).toBe('message');
    expect(m.id).toMatch(/^msg_/);
    expect(m.model).toBe(MODEL);
    expect(textOf(m)).toBe('OK');
    expect(m.stop_reason).toBe('end_turn');
    expect(m.stop_sequence).toBeNull();
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(m.usage.output_tokens).toBeGreaterThan(0);
  });

  it('system prompt (blocks with cache_control) and ?beta=true', async () => {
    const m = await client.beta.messages.create({
      model: MODEL,
      max_tokens: 1024,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Return beta.', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(textOf(m as unknown as Anthropic.Message)).toBe('beta');
  });

  it('stream: Anthropic event order, several text deltas, the final message', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Return one two three.' }] });
    const types: string[] = [];
    const deltas: string[] = [];
    stream.on('streamEvent', (ev) => types.push(ev.type));
    stream.on('text', (d) => deltas.push(d));
    const final = await stream.finalMessage();
    expect(textOf(final)).toBe('one two three');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('end_turn');
    const compact = types.filter((t, i) => t !== types[i - 1]);
    expect(compact).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('tool round trip: tool_use (stop_reason tool_use) → tool_result → answer', async () => {
    const tools: Anthropic.Tool[] = [
      { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    ];
    const ask: Anthropic.MessageParam = { role: 'user', content: 'Call get_weather {"city":"Paris"}' };
    const first = await client.messages.stream({ model: MODEL, max_tokens: 1024, tools, messages: [ask] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(use?.name).toBe('get_weather');
    expect(use?.input).toEqual({ city: 'Paris' });

    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      tools,
      messages: [ask, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: [{ type: 'text', text: '18C and sunny' }] }] }],
    });
    expect(textOf(second)).toBe('Tool result: 18C and sunny');
    expect(second.stop_reason).toBe('end_turn');

    const failed = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      tools,
      messages: [ask, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'no such city', is_error: true }] }],
    });
    expect(textOf(failed)).toBe('Tool result: Error: no such city');
  });

  it('tool_choice any with disable_parallel_tool_use forces a tool call', async () => {
    const m = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [{ role: 'user', content: 'anything' }],
    });
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup', input: {} });
  });

  it('web search server tool: server_tool_use + web_search_tool_result blocks, then the answer', async () => {
    const m = await client.messages
      .stream({ model: MODEL, max_tokens: 1024, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }], messages: [{ role: 'user', content: 'Search the web for cliproxy docs' }] })
      .finalMessage();
    expect(m.content.map((b) => b.type)).toEqual(['server_tool_use', 'web_search_tool_result', 'text']);
    expect(m.content[0]).toMatchObject({ name: 'web_search', input: { query: 'cliproxy docs' } });
    // no sources: cliproxy does not ask for web_search_call.action.sources (see messages-to-responses)
    expect(m.content[1]).toMatchObject({ type: 'web_search_tool_result', tool_use_id: (m.content[0] as Anthropic.ServerToolUseBlock).id, content: [] });
    expect(textOf(m)).toBe('Found results for: cliproxy docs');
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage.server_tool_use?.web_search_requests).toBe(1);
  });

  it('images: base64 and URL', async () => {
    const m = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
            { type: 'text', text: 'What is here?' },
          ],
        },
      ],
    });
    expect(textOf(m)).toBe('I see 2 image(s).');
  });

  it('thinking: a thinking block (summary + signature) before the text; sent back, it reaches the upstream as reasoning', async () => {
    const ask: Anthropic.MessageParam = { role: 'user', content: 'Why is the sky blue?' };
    const stream = client.messages.stream({ model: MODEL, max_tokens: 30000, thinking: { type: 'enabled', budget_tokens: 20000 }, messages: [ask] });
    const thinking: string[] = [];
    stream.on('thinking', (d) => thinking.push(d));
    const m = await stream.finalMessage();
    expect(m.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const block = m.content[0] as Anthropic.ThinkingBlock;
    expect(block.thinking).toBe('Thinking about: Why is the sky blue?');
    expect(thinking.join('')).toBe(block.thinking);
    expect(block.signature.startsWith(SIGNATURE_PREFIX)).toBe(true);

    // the sandbox refuses reasoning items whose encrypted_content it did not issue: a 200 here means the signature went back intact
    const next = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 30000,
        thinking: { type: 'enabled', budget_tokens: 20000 },
        messages: [ask, { role: 'assistant', content: m.content }, { role: 'user', content: 'Return thanks.' }],
      })
      .finalMessage();
    expect(next.content.at(-1)).toMatchObject({ type: 'text', text: 'thanks' });
  });

  it('thinking off: no thinking block even though the Codex model reasons', async () => {
    const m = await client.messages.create({ model: 'claude-opus-4-1', max_tokens: 1024, messages: [{ role: 'user', content: 'Return plain.' }] });
    expect(m.content.map((b) => b.type)).toEqual(['text']);
  });

  it('stop sequence: cut by the proxy, stop_reason stop_sequence with the sequence (stream and not)', async () => {
    const params = { model: MODEL, max_tokens: 1024, stop_sequences: ['END', ' gamma'], messages: [{ role: 'user' as const, content: 'Return alpha beta gamma delta.' }] };
    const m = await client.messages.create(params);
    expect(textOf(m)).toBe('alpha beta');
    expect(m.stop_reason).toBe('stop_sequence');
    expect(m.stop_sequence).toBe(' gamma');

    const deltas: string[] = [];
    const stream = client.messages.stream(params);
    stream.on('text', (d) => deltas.push(d));
    const s = await stream.finalMessage();
    expect(deltas.join('')).toBe('alpha beta');
    expect(s.stop_reason).toBe('stop_sequence');
    expect(s.stop_sequence).toBe(' gamma');
  });

  it('max_tokens: the proxy stops the answer and says max_tokens (stream and not)', async () => {
    const params = { model: MODEL, max_tokens: 2, messages: [{ role: 'user' as const, content: 'Return alpha beta gamma delta.' }] };
    const m = await client.messages.create(params);
    expect(textOf(m)).toBe('alpha be');
    expect(m.stop_reason).toBe('max_tokens');
    expect(m.usage.output_tokens).toBe(2);
    const s = await client.messages.stream(params).finalMessage();
    expect(textOf(s)).toBe('alpha be');
    expect(s.stop_reason).toBe('max_tokens');
  });

  it('an upstream failure mid-stream reaches the SDK as an error event (and the next request works)', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Return a b c d e f g h.' }] });
    const err = await stream.finalMessage().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(String((err as Error).message)).toMatch(/api_error|stream/i);
    const m = await client.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Return fine.' }] });
    expect(textOf(m)).toBe('fine');
  });

  it('count_tokens gives an estimate that grows with the input', async () => {
    const small = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const big = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'word '.repeat(400) }] });
    expect(small.input_tokens).toBeGreaterThan(0);
    expect(big.input_tokens).toBeGreaterThanOrEqual(500);
    expect(big.input_tokens).toBeLessThan(600);
  });

  it('models list in Anthropic shape', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('sonnet');
    expect(ids).toContain('gpt-5-codex');
    expect(page.data[0]).toMatchObject({ type: 'model' });
  });
  // last: the 429 leaves the only account cooling down
  it('errors in Anthropic format: 400, 401 authentication_error, 529 overloaded_error, 429 rate_limit_error with retry-after', async () => {
    const invalid = await client.messages
      .create({ model: MODEL, max_tokens: 10, tools: [{ type: 'bash_20250124', name: 'bash' }], messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
    expect((invalid as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(String((invalid as Error).message)).toMatch(/bash_20250124/);

    const bad = new Anthropic({ baseURL: stack.url, apiKey: 'wrong-key-0123456789', maxRetries: 0 });
    const unauth = await bad.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unauth as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    stack.sandbox.addFault({ kind: 'status', status: 503 });
    const overloaded = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });

    stack.sandbox.addFault({ kind: 'status', status: 429, resetsInSeconds: 120 });
    const limited = await client.messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).finalMessage().catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toMatch(/^1[12]\d$/);
    expect((limited as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });
});
