import { describe, expect, it } from 'vitest';
import { eventFromMessage, parseSse } from '../../src/upstream/sse.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';

const enc = new TextEncoder();

function sse(events: ResponsesEvent[]): string {
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
}

async function* chunksOf(text: string, sizes: number[]): AsyncGenerator<Uint8Array> {
  const bytes = enc.encode(text);
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<ResponsesEvent[]> {
  const out: ResponsesEvent[] = [];
  for await (const e of parseSse(body)) out.push(e);
  return out;
}

async function failure(body: AsyncIterable<Uint8Array>): Promise<UpstreamFailure> {
  try {
    await collect(body);
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamFailure);
    return err as UpstreamFailure;
  }
  throw new Error('expected parseSse to fail');
}

const stream: ResponsesEvent[] = [
  { type: 'response.created', response: { id: 'r' } },
  { type: 'response.output_text.delta', item_id: 'm', delta: 'héllo wörld ✓ 😀' },
  { type: 'response.completed', response: { id: 'r', usage: { input_tokens: 1 } } },
];

describe('parseSse', () => {
  it.each([[[1]], [[2, 3, 5, 7]], [[13]], [[64]], [[100_000]]])('is independent of chunk boundaries (sizes %j)', async (sizes) => {
    expect(await collect(chunksOf(sse(stream), sizes))).toEqual(stream);
  });

  it('accepts CRLF line endings, comments, keep-alive blanks, and data split over lines', async () => {
    const text =
      ': keep-alive\r\n\r\n' +
      'event: response.created\r\ndata: {"type":"response.created",\r\ndata: "response":{"id":"r"}}\r\n\r\n' +
      'event: response.completed\r\ndata: {"type":"response.completed","response":{"id":"r"}}\r\n\r\n';
    expect(await collect(chunksOf(text, [3]))).toEqual([
      { type: 'response.created', response: { id: 'r' } },
      { type: 'response.completed', response: { id: 'r' } },
    ]);
  });

  it('takes the type from the event name when the data has none, and skips [DONE]', async () => {
    const text = 'event: response.created\ndata: {"response":{}}\n\ndata: [DONE]\n\nevent: response.completed\ndata: {"response":{}}\n\n';
    expect(await collect(chunksOf(text, [10]))).toEqual([
      { type: 'response.created', response: {} },
      { type: 'response.completed', response: {} },
    ]);
  });

  it('stops after the terminal event without reading the rest', async () => {
    let pulled = 0;
    async function* body() {
      pulled++;
      yield enc.encode(sse(stream));
      pulled++;
      yield enc.encode(sse([{ type: 'response.output_text.delta', delta: 'after' }]));
    }
    expect(await collect(body())).toEqual(stream);
    expect(pulled).toBe(1);
  });

  it.each(['response.failed', 'response.incomplete', 'error'])('%s is terminal', async (type) => {
    const events = [stream[0]!, { type, response: {} }, stream[1]!];
    expect(await collect(chunksOf(sse(events), [50]))).toEqual(events.slice(0, 2));
  });

  it('flushes a last event that lacks its blank line', async () => {
    const text = sse(stream).trimEnd();
    expect(await collect(chunksOf(text, [9]))).toEqual(stream);
  });

  it('a body that ends before a terminal event → stream_closed', async () => {
    const err = await failure(chunksOf(sse(stream.slice(0, 2)), [5]));
    expect(err.kind).toBe('stream_closed');
    expect(err.message).toBe('stream closed before response.completed');
  });

  it('an empty body → stream_closed', async () => {
    expect((await failure(chunksOf('', [1]))).kind).toBe('stream_closed');
  });

  it('a body that errors mid-way → stream_closed with the reason', async () => {
    async function* body() {
      yield enc.encode(sse(stream.slice(0, 1)));
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    const err = await failure(body());
    expect(err.kind).toBe('stream_closed');
    expect(err.message).toMatch(/stream closed before response.completed \(other side closed\)/);
  });

  it('yields the events before a body error', async () => {
    const seen: string[] = [];
    async function* body() {
      yield enc.encode(sse(stream.slice(0, 2)));
      throw new Error('reset');
    }
    await expect(async () => {
      for await (const e of parseSse(body())) seen.push(e.type);
    }).rejects.toThrow(UpstreamFailure);
    expect(seen).toEqual(['response.created', 'response.output_text.delta']);
  });

  it('abort errors pass through unchanged', async () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    async function* body(): AsyncGenerator<Uint8Array> {
      yield enc.encode(sse(stream.slice(0, 1)));
      throw abort;
    }
    await expect(collect(body())).rejects.toBe(abort);
  });

  it.each([
    ['not JSON', 'event: response.created\ndata: {oops\n\n', /invalid SSE event 'response.created': data is not valid JSON/],
    ['JSON but not an object', 'data: [1,2]\n\n', /data is not a JSON object/],
    ['no type anywhere', 'data: {"a":1}\n\n', /neither an `event:` name nor a `type` field/],
  ])('invalid event data (%s) → stream_closed / invalid_sse', async (_name, text, message) => {
    const err = await failure(chunksOf(text + sse(stream), [4]));
    expect(err.kind).toBe('stream_closed');
    expect(err.code).toBe('invalid_sse');
    expect(err.message).toMatch(message);
  });
});

describe('eventFromMessage', () => {
  it('uses the JSON type, else the event name; rejects data without either', () => {
    expect(eventFromMessage({ event: 'x', data: '{"type":"response.created","a":1}', id: undefined })).toEqual({ type: 'response.created', a: 1 });
    expect(eventFromMessage({ event: 'response.completed', data: '{"response":{}}', id: undefined })).toEqual({ type: 'response.completed', response: {} });
    expect(eventFromMessage({ event: undefined, data: '[DONE]', id: undefined })).toBeUndefined();
    expect(eventFromMessage({ event: undefined, data: '{"a":1}', id: undefined })).toMatchObject({ kind: 'stream_closed', code: 'invalid_sse' });
  });
});

describe('parseSse failure messages', () => {
  it('scrub tokens out of the reason a body failed', async () => {
    async function* body(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('event: response.created\ndata: {"type":"response.created"}\n\n');
      throw new Error('socket closed while sending Bearer abcdefghijklmnopqrstuvwxyz');
    }
    let err: unknown;
    try {
      for await (const _ of parseSse(body())) void _;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as Error).message).toContain('Bearer [redacted]');
    expect((err as Error).message).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });
});
