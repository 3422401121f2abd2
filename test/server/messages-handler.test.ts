import { describe, expect, it } from 'vitest';
import type { HandlerDeps } from '../../src/server/handlers/deps.js';
import { handleMessages, PING_INTERVAL_MS, type MessagesStreamItem } from '../../src/server/handlers/messages.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamClient, type UpstreamStream } from '../../src/upstream/types.js';
import { ManualClock } from '../../src/util/clock.js';

/** An upstream stream the test feeds event by event (push), or breaks (fail). */
function controlledStream() {
  const queue: ResponsesEvent[] = [];
  let wake: (() => void) | undefined;
  let broken: Error | undefined;
  const s = {
    status: 200,
    headers: {},
    usage: {},
    cancelled: false,
    raw(): AsyncIterable<Uint8Array> {
      throw new Error('not used');
    },
    events(): AsyncIterable<ResponsesEvent> {
      return (async function* () {
        for (;;) {
          while (queue.length > 0) yield queue.shift()!;
          if (broken) throw broken;
          await new Promise<void>((r) => (wake = r));
        }
      })();
    },
    cancel() {
      s.cancelled = true;
    },
    push(...events: ResponsesEvent[]) {
      queue.push(...events);
      wake?.();
    },
    fail(err: Error) {
      broken = err;
      wake?.();
    },
  };
  return s;
}

function depsFor(stream: ReturnType<typeof controlledStream>, clock: ManualClock) {
  const results: { ok: boolean; failure?: unknown }[] = [];
  const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 'at', accountId: 'acc-1' } };
  const noop = () => undefined;
  const deps: HandlerDeps = {
    pool: {
      withAccount: async (_req, attempt) => attempt({ account } as Parameters<typeof attempt>[0]),
      recordResult: (_id, r) => results.push({ ok: r.ok, failure: r.failure }),
    },
    upstream: { responses: async () => stream as unknown as UpstreamStream } as unknown as UpstreamClient,
    catalog: { resolve: async (m: string) => m } as unknown as ModelCatalog,
    clock,
    log: { debug: noop, info: noop, warn: noop, error: noop },
    claudeModels: { sonnet: { model: 'gpt-5.1-codex' } },
  };
  return { deps, results };
}

const created: ResponsesEvent = { type: 'response.created', response: { id: 'resp_1' } };
const added: ResponsesEvent = { type: 'response.output_item.added', output_index: 0, item: { id: 'm1', type: 'message', content: [] } };
const delta = (text: string): ResponsesEvent => ({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: text });
const completed: ResponsesEvent = { type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 1 } } };

async function streamOf(deps: HandlerDeps, body: Record<string, unknown>) {
  const outcome = await handleMessages(deps, { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }], ...body }, { signal: new AbortController().signal });
  if (outcome.kind !== 'stream') throw new Error('expected a stream');
  return outcome.items[Symbol.asyncIterator]();
}

/** Lets the handler get to its wait (it arms the ping timer then). */
async function untilTimerArmed(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 50 && clock.pendingTimers() === 0; i++) await new Promise<void>((r) => setImmediate(r));
  expect(clock.pendingTimers()).toBe(1);
}

const typeOf = (r: IteratorResult<MessagesStreamItem>) => (r.done ? 'done' : r.value.event.type);

/** Whether the promise settles within a few turns of the event loop. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('handleMessages (stream)', () => {
  it('sends a ping every 15 s of upstream silence (injected clock), then carries on', async () => {
    const clock = new ManualClock(0);
    const stream = controlledStream();
    stream.push(created, added, delta('Hi'));
    const { deps, results } = depsFor(stream, clock);
    const items = await streamOf(deps, {});
    const first: string[] = [];
    for (let i = 0; i < 3; i++) first.push(typeOf(await items.next()));
    expect(first).toEqual(['message_start', 'content_block_start', 'content_block_delta']);

    const waiting = items.next();
    await untilTimerArmed(clock);
    await clock.advance(PING_INTERVAL_MS - 1);
    expect(await settled(waiting)).toBe(false);
    await clock.advance(1);
    expect(typeOf(await waiting)).toBe('ping');
    const again = items.next();
    await untilTimerArmed(clock);
    await clock.advance(PING_INTERVAL_MS);
    expect(typeOf(await again)).toBe('ping');

    const rest = items.next();
    stream.push(delta(' there'), completed);
    const tail = [typeOf(await rest)];
    for (let r = await items.next(); !r.done; r = await items.next()) tail.push(r.value.event.type);
    expect(tail).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(results).toEqual([{ ok: true, failure: undefined }]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a stop sequence ends the message and cancels the upstream request; the attempt counts as ok', async () => {
    const clock = new ManualClock(0);
    const stream = controlledStream();
    stream.push(created, added, delta('one END two'));
    const { deps, results } = depsFor(stream, clock);
    const items = await streamOf(deps, { stop_sequences: ['END'] });
    const out: MessagesStreamItem[] = [];
    for (let r = await items.next(); !r.done; r = await items.next()) out.push(r.value);
    expect(out.map((i) => i.event.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(out[4]!.event).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' } });
    expect(stream.cancelled).toBe(true);
    expect(results).toEqual([{ ok: true, failure: undefined }]);
  });

  it('an upstream failure mid-stream ends with an Anthropic error event and is recorded against the account', async () => {
    const clock = new ManualClock(0);
    const stream = controlledStream();
    stream.push(created, added, delta('Hi'));
    const { deps, results } = depsFor(stream, clock);
    const items = await streamOf(deps, {});
    for (let i = 0; i < 3; i++) await items.next();
    const next = items.next();
    stream.fail(new UpstreamFailure('server', 'boom', { status: 500 }));
    const r = await next;
    expect(r.done ? undefined : r.value).toMatchObject({ kind: 'error', event: { type: 'error', error: { type: 'api_error' } } });
    expect((await items.next()).done).toBe(true);
    expect(stream.cancelled).toBe(true);
    expect(results[0]!.ok).toBe(false);
  });
});
