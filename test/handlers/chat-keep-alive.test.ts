/**
 * A committed chat stream opens with the role chunk at once and sends a keep-alive every 15 s
 * while the backend is silent (long reasoning), driven by the injected clock; over HTTP the
 * keep-alive is an SSE comment (`: keep-alive`) that the openai SDK ignores.
 */
import OpenAI from 'openai';
import { createParser } from 'eventsource-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handleChatCompletion } from '../../src/handlers/chat-completion.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import type { UpstreamClient, UpstreamStream } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from '../accounts/pool-setup.js';
import { pushableStream } from './fake-upstream.js';
import { ManualClock } from '../../src/util/clock.js';
import { startStack, type Stack } from '../server/stack.js';

const fixtures: PoolFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) await fx.pool.stop();
});

async function deps(stream: UpstreamStream, clock: ManualClock): Promise<HandlerDeps> {
  const fx = await poolWith(['acc-1']);
  fixtures.push(fx);
  const quiet = () => undefined;
  return {
    pool: fx.pool,
    upstream: { responses: async () => stream } as unknown as UpstreamClient,
    catalog: { resolve: async (m: string) => ({ model: m }), explainRefusal: (e: unknown) => e } as unknown as ModelCatalog,
    clock,
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('chat stream keep-alive (handler, manual clock)', () => {
  it('role chunk first, a keep-alive per 15 s of silence, none once events flow', async () => {
    const clock = new ManualClock(0);
    const up = pushableStream();
    up.push({ type: 'response.created', response: { id: 'r1' } });
    up.push({ type: 'response.output_item.added', output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } });
    const outcome = await handleChatCompletion(await deps(up.stream, clock), { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'think hard' }] }, { signal: new AbortController().signal });
    if (outcome.kind !== 'stream') throw new Error('expected a stream');
    // what a client reads from the SSE text: chunks (data) and keep-alives (comments)
    const seen: Array<{ kind: 'chunk'; chunk: unknown } | { kind: 'keepalive' } | { kind: 'done' }> = [];
    const parser = createParser({
      onEvent: (m) => seen.push(m.data === '[DONE]' ? { kind: 'done' } : { kind: 'chunk', chunk: JSON.parse(m.data) as unknown }),
      onComment: () => seen.push({ kind: 'keepalive' }),
    });
    const reading = (async () => {
      for await (const bytes of outcome.body.readable()) parser.feed(String(bytes));
    })();
    await tick();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ kind: 'chunk', chunk: { choices: [{ delta: { role: 'assistant', content: '' } }] } });

    await clock.advance(14_999);
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    expect(seen.map((s) => s.kind)).toEqual(['chunk', 'keepalive']);
    await clock.advance(30_000);
    expect(seen.map((s) => s.kind)).toEqual(['chunk', 'keepalive', 'keepalive', 'keepalive']);

    up.push({ type: 'response.output_text.delta', item_id: 'm1', output_index: 1, content_index: 0, delta: 'done' });
    await tick();
    await clock.advance(10_000);
    up.push({ type: 'response.completed', response: { id: 'r1', usage: { input_tokens: 1, output_tokens: 1 } } });
    await reading;
    expect(seen.map((s) => s.kind)).toEqual(['chunk', 'keepalive', 'keepalive', 'keepalive', 'chunk', 'chunk', 'done']);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('chat stream keep-alive over HTTP', () => {
  let stack: Stack;
  const clock = new ManualClock();
  beforeAll(async () => {
    stack = await startStack({ clock });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('the role chunk arrives before the answer, `: keep-alive` comments while the backend is slow, and the SDK still reads the text', async () => {
    stack.sandbox.addFault({ kind: 'slow', delayMs: 150 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return slow answer.' }] }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value);
    expect(text).toContain('"role":"assistant","content":""');
    const ticker = setInterval(() => void clock.advance(15_000), 20);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    } finally {
      clearInterval(ticker);
    }
    expect(text).toContain(': keep-alive\n\n');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);

    stack.sandbox.addFault({ kind: 'slow', delayMs: 60 });
    const sdk = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ticker2 = setInterval(() => void clock.advance(15_000), 20);
    try {
      const stream = await sdk.chat.completions.create({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return still fine.' }] });
      let answer = '';
      for await (const chunk of stream) answer += chunk.choices[0]?.delta.content ?? '';
      expect(answer).toBe('still fine');
    } finally {
      clearInterval(ticker2);
    }
  });
});
