import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codexCliVersion } from '../../src/app/version.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { MintedAccount, Sandbox } from '../../src/sandbox/index.js';
import { parseChatCompletionRequest } from '../../src/translate/chat-schema.js';
import { chatToResponses } from '../../src/translate/chat-to-responses.js';
import { chatChunksForEvent, createChatStreamState, finishChatStream } from '../../src/translate/responses-to-chat.js';
import type { ChatCompletionChunk } from '../../src/translate/responses-to-chat.js';
import { chatCompletionFromEvents } from '../../src/translate/responses-to-chat-completion.js';
import { fixResponsesRequest } from '../../src/translate/responses-request.js';
import { responseFromEvents } from '../../src/translate/responses-assembler.js';
import { CodexClient } from '../../src/upstream/codex-client.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import type { ResponsesEvent, UpstreamAuth } from '../../src/upstream/types.js';

/** Translators + CodexClient against the sandbox backend: the whole upstream half of a request. */

let sandbox: Sandbox;
let client: CodexClient;
let account: MintedAccount;
let auth: UpstreamAuth;

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  client = new CodexClient({ baseUrl: sandbox.baseUrl, originator: 'codex_cli_rs', version: codexCliVersion(), requestTimeoutMs: 10_000 });
  account = sandbox.mintAccount({ email: 'translate@example.com' });
  auth = { accessToken: account.accessToken, accountId: account.accountId };
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

async function eventsFor(chat: Record<string, unknown>, a: UpstreamAuth = auth): Promise<ResponsesEvent[]> {
  const { body } = chatToResponses(parseChatCompletionRequest({ model: 'gpt-5', ...chat }), { model: 'gpt-5' });
  const stream = await client.responses(a, body, { sessionId: typeof body['prompt_cache_key'] === 'string' ? body['prompt_cache_key'] : undefined });
  const out: ResponsesEvent[] = [];
  for await (const e of stream.events()) out.push(e);
  return out;
}
const init = { id: 'chatcmpl-sbx', model: 'gpt-5', created: 1 };

describe('chat → Codex backend (sandbox) → chat', () => {
  it('"Return OK." → OK, with usage', async () => {
    const done = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: 'Return OK.' }] }), init);
    expect(done.choices[0]!.message.content).toBe('OK');
    expect(done.choices[0]!.finish_reason).toBe('stop');
    expect(done.usage.prompt_tokens).toBeGreaterThan(0);
    expect(done.usage.total_tokens).toBe(done.usage.prompt_tokens + done.usage.completion_tokens);
  });

  it('streams text chunks with one finish_reason and a usage chunk', async () => {
    const events = await eventsFor({ messages: [{ role: 'user', content: 'hello there friend' }], stream: true, stream_options: { include_usage: true } });
    const state = createChatStreamState({ ...init, includeUsage: true });
    const chunks: ChatCompletionChunk[] = [...events.flatMap((e) => chatChunksForEvent(state, e)), ...finishChatStream(state)];
    const text = chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: hello there friend');
    expect(chunks.filter((ch) => ch.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks.filter((ch) => ch.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: expect.any(Number) } });
  });

  it('tool call round trip', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const first = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: 'get_weather {"city":"Paris"}' }], tools }), init);
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    const second = chatCompletionFromEvents(
      await eventsFor({
        tools,
        messages: [
          { role: 'user', content: 'get_weather {"city":"Paris"}' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'sunny' },
        ],
      }),
      init,
    );
    expect(second.choices[0]!.message.content).toBe('Tool result: sunny');
  });

  it('JSON mode, images, reasoning', async () => {
    const json = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: 'Return OK.' }], response_format: { type: 'json_object' } }), init);
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ answer: 'OK' });
    const image = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: [
      { type: 'text', text: 'what is this' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'image_url', image_url: { url: 'https://example.com/x.png' } },
    ] }] }), init);
    expect(image.choices[0]!.message.content).toBe('I see 2 image(s).');
    const reasoning = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: 'Return OK.' }], reasoning_effort: 'high' }), init);
    expect(reasoning.choices[0]!.message).toMatchObject({ content: 'OK', reasoning_content: 'Thinking about: Return OK.' });
  });

  it('the same prompt_cache_key twice → cached tokens', async () => {
    const chat = { messages: [{ role: 'user', content: 'Return cached.' }], prompt_cache_key: 'cache-test-key' };
    await eventsFor(chat);
    const again = chatCompletionFromEvents(await eventsFor(chat), init);
    expect(again.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
  });
});

describe('Responses pass-through against the sandbox', () => {
  it('a fixed body is accepted and assembles into a completed response', async () => {
    const { body } = fixResponsesRequest({ model: 'gpt-5-codex', input: 'Return OK.', temperature: 0.3, max_output_tokens: 10, store: true });
    const stream = await client.responses(auth, body);
    const events: ResponsesEvent[] = [];
    for await (const e of stream.events()) events.push(e);
    const response = responseFromEvents(events);
    expect(response['status']).toBe('completed');
    expect(JSON.stringify(response['output'])).toContain('"text":"OK"');
  });

  it('the unfixed body is rejected by the backend (what the fixes are for)', async () => {
    const err = await client.responses(auth, { model: 'gpt-5', input: [], stream: false, store: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'bad_request', status: 400 });
  });
});

describe('backend failures through CodexClient', () => {
  it('unknown model → bad_request with the backend detail', async () => {
    const err = await client.responses(auth, { model: 'gpt-4-nope', input: [], stream: true, store: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'bad_request', message: "The 'gpt-4-nope' model is not supported when using Codex with a ChatGPT account." });
  });

  it('quota exhausted → usage_limit with a reset time', async () => {
    const a = sandbox.mintAccount({ email: 'quota@example.com' });
    sandbox.setQuota(a.accountId, { limit: 1, resetsInSeconds: 300 });
    const qa = { accessToken: a.accessToken, accountId: a.accountId };
    await eventsFor({ messages: [{ role: 'user', content: 'Return 1.' }] }, qa);
    const err = await eventsFor({ messages: [{ role: 'user', content: 'Return 2.' }] }, qa).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'usage_limit', status: 429 });
    expect((err as UpstreamFailure).resetAt).toBeGreaterThan(Date.now() + 200_000);
  });

  it('expired token → unauthorized', async () => {
    const a = sandbox.mintAccount({ email: 'expired@example.com' });
    sandbox.expireAccessTokens(a.accountId);
    const err = await eventsFor({ messages: [{ role: 'user', content: 'x' }] }, { accessToken: a.accessToken, accountId: a.accountId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect((err as Error).message).not.toContain(a.accessToken);
  });

  it.each([
    [500, 'server'],
    [503, 'overloaded'],
  ] as const)('status fault %d → %s', async (status, kind) => {
    const a = sandbox.mintAccount();
    sandbox.addFault({ kind: 'status', status, account: a.accountId, times: 1 });
    const err = await eventsFor({ messages: [{ role: 'user', content: 'x' }] }, { accessToken: a.accessToken, accountId: a.accountId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ status, kind });
  });

  it('response_failed fault → events end in response.failed → 502 from the non-stream translator', async () => {
    const a = sandbox.mintAccount();
    sandbox.addFault({ kind: 'response_failed', account: a.accountId, times: 1 });
    const events = await eventsFor({ messages: [{ role: 'user', content: 'x' }] }, { accessToken: a.accessToken, accountId: a.accountId });
    expect(events.at(-1)!.type).toBe('response.failed');
    expect(() => chatCompletionFromEvents(events, init)).toThrow(expect.objectContaining({ status: 502 }));
  });

  it('disconnect fault → stream_closed', async () => {
    const a = sandbox.mintAccount();
    sandbox.addFault({ kind: 'disconnect', account: a.accountId, times: 1, afterEvents: 3 });
    const err = await eventsFor({ messages: [{ role: 'user', content: 'one two three four five' }] }, { accessToken: a.accessToken, accountId: a.accountId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'stream_closed' });
  });
});

describe('models', () => {
  it('lists the sandbox models', async () => {
    const models = await client.models(auth);
    expect(models.map((m) => m.slug)).toEqual(expect.arrayContaining(['gpt-5', 'gpt-5-codex', 'codex-mini-latest', 'gpt-6.1-sol']));
  });

  it('claiming an old client version lists nothing (the backend hides newer models)', async () => {
    const old = new CodexClient({ baseUrl: sandbox.baseUrl, originator: 'codex_cli_rs', version: '0.1.0' });
    try {
      expect(await old.models(auth)).toEqual([]);
    } finally {
      await old.close();
    }
  });
});

describe('CodexClient against the sandbox: consumers that stop early', () => {
  it('breaking out of events() after 3 events leaves the process alive and the client usable', async () => {
    const { body } = chatToResponses(parseChatCompletionRequest({ model: 'gpt-5', messages: [{ role: 'user', content: 'one two three four five six seven' }] }), { model: 'gpt-5' });
    let n = 0;
    for await (const _ of (await client.responses(auth, body)).events()) if (++n === 3) break;
    expect(n).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    const done = chatCompletionFromEvents(await eventsFor({ messages: [{ role: 'user', content: 'Return OK.' }] }), init);
    expect(done.choices[0]!.message.content).toBe('OK');
  });
});
