import { createParser } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { handleMessages, PING_INTERVAL_MS } from '../../src/handlers/messages.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamClient } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from '../accounts/pool-setup.js';
import { pushableStream, type PushableStream } from './fake-upstream.js';
import { ManualClock } from '../../src/util/clock.js';

const fixtures: PoolFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) await fx.pool.stop();
});

async function depsFor(stream: PushableStream, clock: ManualClock) {
  const fx = await poolWith(['acc-1']);
  fixtures.push(fx);
  const noop = () => undefined;
  const deps: HandlerDeps = {
    pool: fx.pool,
    upstream: { responses: async () => stream.stream } as unknown as UpstreamClient,
    catalog: { resolve: async (m: string) => m } as unknown as ModelCatalog,
    clock,
    log: { debug: noop, info: noop, warn: noop, error: noop },
    claudeModels: { sonnet: { model: 'gpt-5.1-codex' } },
  };
  /** The account's counters: what the attempt recorded. */
  const counts = () => {
    const { requests, successes, failures } = fx.pool.snapshot()[0]!;
    return { requests, successes, failures };
  };
  return { deps, counts };
}

const created: ResponsesEvent = { type: 'response.created', response: { id: 'resp_1' } };
const added: ResponsesEvent = { type: 'response.output_item.added', output_index: 0, item: { id: 'm1', type: 'message', content: [] } };
const delta = (text: string): ResponsesEvent => ({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: text });
const completed: ResponsesEvent = { type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 1 } } };

type Event = { type: string } & Record<string, unknown>;

/** The Anthropic events of the stream's SSE text, one next() per event, as a client reads them. */
async function streamOf(deps: HandlerDeps, body: Record<string, unknown>): Promise<AsyncIterator<Event>> {
  const outcome = await handleMessages(deps, { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }], ...body }, { signal: new AbortController().signal });
  if (outcome.kind !== 'stream') throw new Error('expected a stream');
  const events: Event[] = [];
  const parser = createParser({ onEvent: (m) => events.push(JSON.parse(m.data) as Event) });
  const bytes = outcome.body.readable()[Symbol.asyncIterator]();
  return {
    async next(): Promise<IteratorResult<Event>> {
      while (events.length === 0) {
        const r = await bytes.next();
        if (r.done) return { done: true, value: undefined };
        parser.feed(String(r.value));
      }
      return { done: false, value: events.shift()! };
    },
  };
}

/** Lets the handler get to its wait (it arms the ping timer then). */
async function untilTimerArmed(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 50 && clock.pendingTimers() === 0; i++) await new Promise<void>((r) => setImmediate(r));
  expect(clock.pendingTimers()).toBe(1);
}

const typeOf = (r: IteratorResult<Event>) => (r.done ? 'done' : r.value.type);

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
    const stream = pushableStream();
    stream.push(created, added, delta('Hi'));
    const { deps, counts } = await depsFor(stream, clock);
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
    for (let r = await items.next(); !r.done; r = await items.next()) tail.push(r.value.type);
    expect(tail).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(counts()).toEqual({ requests: 1, successes: 1, failures: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a stop sequence ends the message and cancels the upstream request; the attempt counts as ok', async () => {
    const clock = new ManualClock(0);
    const stream = pushableStream();
    stream.push(created, added, delta('one END two'));
    const { deps, counts } = await depsFor(stream, clock);
    const items = await streamOf(deps, { stop_sequences: ['END'] });
    const out: Event[] = [];
    for (let r = await items.next(); !r.done; r = await items.next()) out.push(r.value);
    expect(out.map((e) => e.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(out[4]).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' } });
    expect(stream.cancelled).toBe(true);
    expect(counts()).toEqual({ requests: 1, successes: 1, failures: 0 });
  });

  it('an upstream failure mid-stream ends with an Anthropic error event and is recorded against the account', async () => {
    const clock = new ManualClock(0);
    const stream = pushableStream();
    stream.push(created, added, delta('Hi'));
    const { deps, counts } = await depsFor(stream, clock);
    const items = await streamOf(deps, {});
    for (let i = 0; i < 3; i++) await items.next();
    const next = items.next();
    stream.fail(new UpstreamFailure('server', 'boom', { status: 500 }));
    const r = await next;
    expect(r.done ? undefined : r.value).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect((await items.next()).done).toBe(true);
    expect(stream.cancelled).toBe(true);
    expect(counts()).toEqual({ requests: 1, successes: 0, failures: 1 });
  });
});
