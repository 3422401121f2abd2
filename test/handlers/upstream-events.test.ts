import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import type { HandlerDeps } from '../../src/handlers/deps.js';
import { asUpstreamFailure, collectResponse, midStreamFailure, reportFailure } from '../../src/handlers/upstream-events.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import type { OutputBuilder } from '../../src/handlers/output-builder.js';
import { openPumped, type StreamTranslator } from '../../src/handlers/upstream-pump.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamClient, type UpstreamReader, type UpstreamSink, type UpstreamStream } from '../../src/upstream/types.js';
import { UpstreamBody } from '../../src/upstream/upstream-body.js';
import { poolWith, type PoolFixture } from '../accounts/pool-setup.js';
import { ManualClock } from '../../src/util/clock.js';

const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4eCJ9.c2lnbmF0dXJl';

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object | string;
  msg?: string;
}

/** SSE bytes of events, the way the backend frames them. */
function sse(events: ResponsesEvent[]): Buffer {
  return Buffer.from(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
}

type FakeStream = UpstreamStream & { released: boolean; cancelled: boolean; pauses: number; resumes: number; sink?: UpstreamSink };

/**
 * An upstream stream whose body is `chunks` (delivered one per macrotask once read() is called),
 * recording release / cancel / pause / resume. A real body has bytes left after the terminal
 * event: this one never ends by itself, so only release() or cancel() gets past it.
 */
function fakeStream(chunks: Buffer[], opts: { together?: boolean } = {}): FakeStream {
  const s = {
    status: 200,
    headers: {},
    usage: {},
    released: false,
    cancelled: false,
    pauses: 0,
    resumes: 0,
    sink: undefined as UpstreamSink | undefined,
    raw(): AsyncIterable<Uint8Array> {
      throw new Error('not used');
    },
    events(): AsyncIterable<ResponsesEvent> {
      throw new Error('not used');
    },
    read(sink: UpstreamSink): UpstreamReader {
      s.sink = sink;
      let i = 0;
      let paused = false;
      let scheduled = false;
      const next = () => {
        scheduled = false;
        if (paused || s.released || s.cancelled || i >= chunks.length) return;
        // `together`: every chunk in one turn, the way undici hands over the chunks of one socket read
        do sink.data(chunks[i++]!);
        while (opts.together && !paused && i < chunks.length);
        schedule();
      };
      const schedule = () => {
        if (!scheduled) setImmediate(next);
        scheduled = true;
      };
      schedule();
      return {
        pause: () => {
          s.pauses++;
          paused = true;
        },
        resume: () => {
          s.resumes++;
          paused = false;
          schedule();
        },
        release: () => void (s.released = true),
      };
    },
    cancel() {
      s.cancelled = true;
    },
  };
  return s as unknown as FakeStream;
}

async function fakeDeps(stream: UpstreamStream): Promise<{ deps: HandlerDeps; logs: LogEntry[]; fx: PoolFixture }> {
  const logs: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object | string, msg?: string) => logs.push({ level, obj, msg });
  const fx = await poolWith(['acc-1']);
  fixtures.push(fx);
  const deps: HandlerDeps = {
    pool: fx.pool,
    upstream: { responses: async () => stream } as unknown as UpstreamClient,
    catalog: {} as ModelCatalog,
    clock: new ManualClock(0),
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
  return { deps, logs, fx };
}

const fixtures: PoolFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) await fx.pool.stop();
});

const created: ResponsesEvent = { type: 'response.created', response: { id: 'resp_1' } };
const delta: ResponsesEvent = { type: 'response.output_text.delta', delta: 'OK' };
const completed: ResponsesEvent = { type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 1 } } };

describe('collectResponse', () => {
  it('reads to the terminal event, records the outcome once and lets the upstream stream go (release())', async () => {
    const stream = fakeStream([sse([created]), sse([delta, completed])]);
    const { deps, fx } = await fakeDeps(stream);
    const events = await collectResponse(deps, UpstreamBody.of({ model: 'gpt-5' }), { signal: new AbortController().signal, affinityKey: undefined });
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 1, failures: 0, inputTokens: 3, outputTokens: 1 });
    expect(stream.released).toBe(true);
    expect(stream.cancelled).toBe(false);
  });

  it('accepts a terminal event that is the first event past the prelude (no content at all)', async () => {
    const { deps } = await fakeDeps(fakeStream([sse([created, completed])]));
    const events = await collectResponse(deps, UpstreamBody.of({ model: 'gpt-5' }), { signal: new AbortController().signal, affinityKey: undefined });
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.completed']);
  });

  it('an event split across chunks at any byte is read once and whole', async () => {
    const bytes = sse([created, delta, completed]);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const { deps } = await fakeDeps(fakeStream(chunks));
    const events = await collectResponse(deps, UpstreamBody.of({ model: 'gpt-5' }), { signal: new AbortController().signal, affinityKey: undefined });
    expect(events).toEqual([created, delta, completed]);
  });

  it('a response.failed after content is thrown as UpstreamFailure and the stream is cancelled', async () => {
    const failed: ResponsesEvent = { type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } };
    const stream = fakeStream([sse([created, delta, failed])]);
    const { deps } = await fakeDeps(stream);
    const err = await collectResponse(deps, UpstreamBody.of({ model: 'gpt-5' }), { signal: new AbortController().signal, affinityKey: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'response_failed', code: 'server_error', message: 'boom' });
    expect(stream.cancelled).toBe(true);
  });
});

describe('UpstreamPump after commit', () => {
  /** A pass-through translator: bytes out as they came in, started at once, ended by a chunk "END". */
  function passThrough(): StreamTranslator {
    const t = {
      started: true,
      ended: false,
      failedInBand: undefined,
      feed(chunk: Buffer, out: OutputBuilder) {
        if (chunk.toString() === 'END') t.ended = true;
        out.addBytes(chunk);
      },
      endOfBody: () => undefined,
      closing: () => '',
      failureEnding: () => 'FAILED',
      result: () => ({}),
    };
    return t;
  }

  async function committed(chunks: Buffer[], opts: { together?: boolean } = {}): Promise<{ stream: FakeStream; out: Readable; fx: PoolFixture }> {
    const stream = fakeStream(chunks, opts);
    const { deps, fx } = await fakeDeps(stream);
    const signal = new AbortController().signal;
    const attempt = await openPumped(deps, {}, UpstreamBody.of({}), { signal }, passThrough, 'started');
    return { stream, out: attempt.upstream.commit(attempt).readable(), fx };
  }

  it('pauses the upstream while the client does not read, and resumes when it does (backpressure)', async () => {
    const big = Buffer.alloc(64 * 1024, 'x');
    const { stream, out } = await committed([big, big, Buffer.from('END')]);
    await new Promise((r) => setTimeout(r, 20));
    expect(stream.pauses).toBeGreaterThan(0);
    expect(stream.released).toBe(false); // stuck until the client reads
    const resumesBefore = stream.resumes;
    const got: Buffer[] = [];
    for await (const c of out) got.push(c as Buffer);
    expect(stream.resumes).toBeGreaterThan(resumesBefore);
    expect(Buffer.concat(got).length).toBe(2 * big.length + 3);
  });

  it('chunks that arrive in one turn go to the client as one piece (one socket write)', async () => {
    const { out } = await committed([Buffer.from('a'), Buffer.from('b'), Buffer.from('c'), Buffer.from('END')], { together: true });
    const pushed: string[] = [];
    const push = out.push.bind(out);
    out.push = (chunk: unknown) => {
      if (chunk !== null) pushed.push(String(chunk));
      return push(chunk);
    };
    let text = '';
    for await (const c of out) text += String(c);
    expect(text).toBe('abcEND');
    expect(pushed).toEqual(['abcEND']);
  });

  it('a client that goes away cancels the upstream and counts neither a success nor a failure', async () => {
    const { stream, out, fx } = await committed([Buffer.from('a'), Buffer.from('b')]);
    out.destroy();
    await new Promise((r) => setImmediate(r));
    expect(stream.cancelled).toBe(true);
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 0, failures: 0 });
  });

  it('a body that breaks after commit sends the failure ending, ends, and counts one failure (and no success)', async () => {
    const { stream, out, fx } = await committed([Buffer.from('a')]);
    const got: string[] = [];
    const reading = (async () => {
      for await (const c of out) got.push(String(c));
    })();
    await new Promise((r) => setTimeout(r, 10));
    stream.sink!.error(new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' }));
    await reading;
    expect(got.join('')).toBe('aFAILED');
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 0, failures: 1, state: 'cooling' });
  });
});

describe('asUpstreamFailure', () => {
  it('scrubs tokens out of the message of a broken stream', () => {
    // what node's http gives for a dropped connection: an error with a system code
    const failure = asUpstreamFailure(Object.assign(new Error(`socket hang up (Bearer ${JWT})`), { code: 'ECONNRESET' }), new AbortController().signal);
    expect(failure).toBeInstanceOf(UpstreamFailure);
    expect((failure as UpstreamFailure).kind).toBe('network');
    expect((failure as UpstreamFailure).message).toContain('socket hang up');
    expect((failure as UpstreamFailure).message).not.toContain(JWT);
  });

  it('leaves a bug of ours (an error without an I/O code) as it is: it blames neither the network nor the account', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'type')");
    expect(asUpstreamFailure(bug, new AbortController().signal)).toBe(bug);
  });

  it('leaves an abort as it is', () => {
    const controller = new AbortController();
    const abort = new Error('client disconnected');
    controller.abort(abort);
    expect(asUpstreamFailure(abort, controller.signal)).toBe(abort);
  });
});

describe('midStreamFailure', () => {
  it('an upstream failure: logged at warn with kind and code, mapped to its ApiError, recorded for the pool', async () => {
    const { deps, logs } = await fakeDeps(fakeStream([]));
    const upstream = new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' });
    const r = midStreamFailure(deps, upstream);
    expect(r.failure).toBe(upstream);
    expect(r.code).toBe('stream_closed');
    expect(r.api.status).toBe(502);
    expect(logs).toEqual([{ level: 'warn', obj: { kind: 'stream_closed', code: 'stream_closed' }, msg: 'upstream failed mid-stream' }]);
  });

  it('our own bug: logged at error with the error itself, a generic 500 for the client, nothing recorded against the account', async () => {
    const { deps, logs } = await fakeDeps(fakeStream([]));
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const r = midStreamFailure(deps, bug);
    expect(r.failure).toBeUndefined();
    expect(r.api).toBeInstanceOf(InternalError);
    expect(r.code).toBe('internal_error');
    expect(r.api.message).not.toContain('Cannot read');
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe('error');
    expect((logs[0]!.obj as { err: unknown }).err).toBe(bug);
  });
});

describe('reportFailure (the attempt metric)', () => {
  it('labels each outcome by who is to blame: the upstream kind, internal_error for our bug, aborted when the client left', () => {
    const outcomes: string[] = [];
    const deps = { onAttempt: (_id: string, outcome: string) => outcomes.push(outcome) } as unknown as HandlerDeps;
    const account = { accountId: 'acc-1' } as never;
    const live = new AbortController().signal;
    reportFailure(deps, account, Object.assign(new Error('reset'), { code: 'ECONNRESET' }), live);
    expect(reportFailure(deps, account, new TypeError('bug'), live)).toBeInstanceOf(TypeError);
    const gone = new AbortController();
    gone.abort(new Error('client disconnected'));
    reportFailure(deps, account, new Error('client disconnected'), gone.signal);
    expect(outcomes).toEqual(['network', 'internal_error', 'aborted']);
  });
});
