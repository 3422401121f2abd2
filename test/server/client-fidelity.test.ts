/**
 * What real clients send, end to end through the proxy to the (strict) sandbox: the body the
 * backend receives and the answer the client gets. The openai SDK where it has the call.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/sandbox/index.js';
import { startStack, type Stack } from './stack.js';

const KEY = 'fid-key-0123456789';
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.requestRetry = 0) });
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

/** The last /responses request the sandbox received. */
function lastUpstream(): RecordedRequest & { body: Record<string, unknown> } {
  const r = stack.sandbox.requests().filter((x) => x.path.endsWith('/responses')).at(-1)!;
  return r as RecordedRequest & { body: Record<string, unknown> };
}

async function postResponses(body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
  });
}

describe('/v1/responses pass-through', () => {
  it('fixes what the backend refuses (system role, stream_options, context_management, cache breakpoints) and keeps service_tier priority', async () => {
    const res = await postResponses({
      model: 'gpt-5-codex',
      stream: true,
      stream_options: { include_obfuscation: false },
      context_management: [{ type: 'compaction', compact_threshold: 200000 }],
      service_tier: 'priority',
      input: [
        { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'Be terse.', prompt_cache_breakpoint: { mode: 'explicit' } }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Return normalised.' }] },
      ],
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain('response.completed');
    const sent = lastUpstream().body;
    expect(sent['input']).toEqual([
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Be terse.' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Return normalised.' }] },
    ]);
    expect(sent['service_tier']).toBe('priority');
    expect(sent).not.toHaveProperty('stream_options');
    expect(sent).not.toHaveProperty('context_management');
  });

  it("forwards the Codex CLI's own headers unchanged, and nothing else of the client's", async () => {
    const codexHeaders = {
      'session-id': '01a2339b-c4ee-7c60-bb01-960900e23fd7',
      'thread-id': '01a2339b-c4ee-7c60-bb01-960900e23fd7',
      'x-client-request-id': '01a2339b-c4ee-7c60-bb01-960900e23fd7',
      'x-codex-window-id': '01a2339b-c4ee-7c60-bb01-960900e23fd7:0',
      'x-codex-turn-metadata': '{"turn_id":"t1","sandbox":"seccomp"}',
      'x-codex-beta-features': 'remote_compaction_v2',
    };
    const res = await postResponses({ model: 'gpt-5-codex', stream: true, input: 'Return headers.', prompt_cache_key: codexHeaders['session-id'] }, { ...codexHeaders, 'x-other': 'nope', cookie: 'c=1' });
    expect(res.status).toBe(200);
    await res.text();
    const seen = lastUpstream().headers;
    expect(seen).toMatchObject(codexHeaders);
    expect(seen).not.toHaveProperty('x-other');
    expect(seen).not.toHaveProperty('session_id');
    expect(seen['chatgpt-account-id']).toBe(stack.accounts[0]!.accountId);
    expect(seen['originator']).toBe('codex_cli_rs');
  });

  it('previous_response_id is a clear 400', async () => {
    const res = await postResponses({ model: 'gpt-5-codex', input: 'hi', previous_response_id: 'resp_1' });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: { param: string; message: string } }).error;
    expect(err.param).toBe('previous_response_id');
    expect(err.message).toMatch(/does not store responses.*whole conversation/);
  });

  it('an effort suffix sets reasoning.effort on the base model', async () => {
    const res = await postResponses({ model: 'gpt-5-codex(high)', input: 'Return effort.', reasoning: { summary: 'auto' } });
    expect(res.status).toBe(200);
    expect(lastUpstream().body).toMatchObject({ model: 'gpt-5-codex', reasoning: { effort: 'high', summary: 'auto' } });
  });
});

describe('chat.completions: what real clients send', () => {
  it('effort suffixes on chat: gpt-5-codex-high → gpt-5-codex + effort high, with the summary streamed back', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-5-codex-high', messages: [{ role: 'user', content: 'Return suffixed.' }] });
    expect(r.model).toBe('gpt-5-codex-high');
    expect(r.choices[0]!.message.content).toBe('suffixed');
    expect((r.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toContain('Thinking about');
    expect(lastUpstream().body).toMatchObject({ model: 'gpt-5-codex', reasoning: { effort: 'high', summary: 'auto' } });
  });

  it('web_search / web_search_preview tools are not a 400 and reach the backend as web_search', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'Return searched.' }],
      tools: [{ type: 'web_search_preview' } as unknown as OpenAI.ChatCompletionTool],
    });
    expect(r.choices[0]!.message.content).toBe('searched');
    expect(lastUpstream().body['tools']).toEqual([{ type: 'web_search' }]);
  });

  it('a tool result without its call is left out instead of failing the request', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [
        { role: 'user', content: 'Return survived.' },
        { role: 'tool', tool_call_id: 'call_from_a_trimmed_history', content: 'stale' },
        { role: 'user', content: 'Return survived.' },
      ],
    });
    expect(r.choices[0]!.message.content).toBe('survived');
    expect((lastUpstream().body['input'] as { type: string }[]).map((i) => i.type)).toEqual(['message', 'message']);
  });

  it('a tool result with an image part reaches the backend as input_image in the function output', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'screenshot', parameters: { type: 'object', properties: {} } } }];
    const r = await client.chat.completions.create({
      model: 'gpt-5-codex',
      tools,
      messages: [
        { role: 'user', content: 'take a screenshot' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_s', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_s', content: [{ type: 'text', text: 'screen captured' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] as unknown as string },
      ],
    });
    expect(r.choices[0]!.message.content).toBe('Tool result: screen captured');
    const output = (lastUpstream().body['input'] as { type: string; output?: unknown }[]).at(-1)!;
    expect(output).toEqual({ type: 'function_call_output', call_id: 'call_s', output: [{ type: 'input_text', text: 'screen captured' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' }] });
  });

  it('custom (free-form) tools both ways: a custom call out, its result back in', async () => {
    const tools = [{ type: 'custom', custom: { name: 'apply_patch', description: 'Apply a patch', format: { type: 'text' } } }] as OpenAI.ChatCompletionTool[];
    const first = await client.chat.completions.create({ model: 'gpt-5-codex', tools, messages: [{ role: 'user', content: 'apply_patch input: *** Begin Patch' }] });
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch' } });
    expect(lastUpstream().body['tools']).toEqual([{ type: 'custom', name: 'apply_patch', description: 'Apply a patch', format: { type: 'text' } }]);

    const second = await client.chat.completions.create({
      model: 'gpt-5-codex',
      tools,
      messages: [{ role: 'user', content: 'apply_patch input: *** Begin Patch' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'Done!' }],
    });
    expect(second.choices[0]!.message.content).toBe('Tool result: Done!');
    expect((lastUpstream().body['input'] as { type: string }[]).map((i) => i.type)).toEqual(['message', 'custom_tool_call', 'custom_tool_call_output']);
  });

  it('custom tool calls stream as custom deltas', async () => {
    const tools = [{ type: 'custom', custom: { name: 'apply_patch' } }] as OpenAI.ChatCompletionTool[];
    const stream = await client.chat.completions.create({ model: 'gpt-5-codex', tools, stream: true, messages: [{ role: 'user', content: 'apply_patch input: streamed patch text' }] });
    let input = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const tc of (chunk.choices[0]?.delta.tool_calls ?? []) as { custom?: { input?: string } }[]) input += tc.custom?.input ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(input).toBe('streamed patch text');
    expect(finish).toBe('tool_calls');
  });

  describe('legacy functions / function_call', () => {
    const functions = [{ name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const ask = { role: 'user' as const, content: 'get_weather {"city":"Paris"}' };

    it('non-stream: message.function_call and finish_reason function_call; the function result is answered', async () => {
      const r = await client.chat.completions.create({ model: 'gpt-5-codex', functions, messages: [ask] });
      const choice = r.choices[0]!;
      expect(choice.finish_reason).toBe('function_call');
      expect(choice.message.function_call).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
      expect(choice.message.tool_calls).toBeUndefined();
      expect(lastUpstream().body['parallel_tool_calls']).toBe(false);

      const next = await client.chat.completions.create({
        model: 'gpt-5-codex',
        functions,
        messages: [ask, { role: 'assistant', content: null, function_call: choice.message.function_call! }, { role: 'function', name: 'get_weather', content: 'sunny' }],
      });
      expect(next.choices[0]!.message.content).toBe('Tool result: sunny');
      expect(next.choices[0]!.finish_reason).toBe('stop');
    });

    it('streamed: delta.function_call pieces and finish_reason function_call', async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-5-codex', functions, messages: [ask], stream: true });
      let name = '';
      let args = '';
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta;
        if (d?.function_call?.name) name = d.function_call.name;
        args += d?.function_call?.arguments ?? '';
        expect(d?.tool_calls).toBeUndefined();
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect({ name, args, finish }).toEqual({ name: 'get_weather', args: '{"city":"Paris"}', finish: 'function_call' });
    });
  });
});
