import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import type { HandlerDeps } from '../../src/server/handlers/deps.js';
import { asUpstreamFailure, collectResponse, midStreamFailure } from '../../src/server/handlers/upstream-events.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamClient, type UpstreamStream } from '../../src/upstream/types.js';
import { ManualClock } from '../../src/util/clock.js';

const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4eHh4eCJ9.c2lnbmF0dXJl';

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object | string;
  msg?: string;
}

/** An upstream stream over fixed events that records whether its iteration was ended (return()) or cancelled. */
function fakeStream(events: ResponsesEvent[]): UpstreamStream & { returned: boolean; cancelled: boolean } {
  const s = {
    status: 200,
    headers: {},
    usage: {},
    returned: false,
    cancelled: false,
    raw(): AsyncIterable<Uint8Array> {
      throw new Error('not used');
    },
    events(): AsyncIterable<ResponsesEvent> {
      return (async function* () {
        try {
          for (const ev of events) yield ev;
          // a real body has bytes left after the terminal event; only return() gets past here
          await new Promise(() => undefined);
        } finally {
          s.returned = true;
        }
      })();
    },
    cancel() {
      s.cancelled = true;
    },
  };
  return s as unknown as UpstreamStream & { returned: boolean; cancelled: boolean };
}

function fakeDeps(stream: UpstreamStream): { deps: HandlerDeps; logs: LogEntry[]; results: { accountId: string; ok: boolean }[] } {
  const logs: LogEntry[] = [];
  const results: { accountId: string; ok: boolean }[] = [];
  const at = (level: LogEntry['level']) => (obj: object | string, msg?: string) => logs.push({ level, obj, msg });
  const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 'at', accountId: 'acc-1' } };
  const deps: HandlerDeps = {
    pool: {
      withAccount: async (_req, attempt) => attempt({ account } as Parameters<typeof attempt>[0]),
      recordResult: (accountId, r) => results.push({ accountId, ok: r.ok }),
    },
    upstream: { responses: async () => stream } as unknown as UpstreamClient,
    catalog: {} as ModelCatalog,
    clock: new ManualClock(0),
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
  return { deps, logs, results };
}

const created: ResponsesEvent = { type: 'response.created', response: { id: 'resp_1' } };
const delta: ResponsesEvent = { type: 'response.output_text.delta', delta: 'OK' };
const completed: ResponsesEvent = { type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 1 } } };

describe('collectResponse', () => {
  it('reads to the terminal event, records the outcome and lets the upstream stream go (return())', async () => {
    const stream = fakeStream([created, delta, completed]);
    const { deps, results } = fakeDeps(stream);
    const events = await collectResponse(deps, { model: 'gpt-5' }, { signal: new AbortController().signal, affinityKey: undefined });
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
    expect(results).toEqual([{ accountId: 'acc-1', ok: true }]);
    await new Promise((r) => setImmediate(r));
    expect(stream.returned).toBe(true);
    expect(stream.cancelled).toBe(false);
  });

  it('accepts a terminal event that is the first event past the prelude (no content at all)', async () => {
    const stream = fakeStream([created, completed]);
    const { deps } = fakeDeps(stream);
    const events = await collectResponse(deps, { model: 'gpt-5' }, { signal: new AbortController().signal, affinityKey: undefined });
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.completed']);
  });

  it('a response.failed after content is thrown as UpstreamFailure and the stream is cancelled', async () => {
    const failed: ResponsesEvent = { type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } };
    const stream = fakeStream([created, delta, failed]);
    const { deps } = fakeDeps(stream);
    const err = await collectResponse(deps, { model: 'gpt-5' }, { signal: new AbortController().signal, affinityKey: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'response_failed', code: 'server_error', message: 'boom' });
    expect(stream.cancelled).toBe(true);
  });
});

describe('asUpstreamFailure', () => {
  it('scrubs tokens out of the message of a broken stream', () => {
    const failure = asUpstreamFailure(new Error(`socket hang up (Bearer ${JWT})`), new AbortController().signal);
    expect(failure).toBeInstanceOf(UpstreamFailure);
    expect((failure as UpstreamFailure).kind).toBe('network');
    expect((failure as UpstreamFailure).message).toContain('socket hang up');
    expect((failure as UpstreamFailure).message).not.toContain(JWT);
  });

  it('leaves an abort as it is', () => {
    const controller = new AbortController();
    const abort = new Error('client disconnected');
    controller.abort(abort);
    expect(asUpstreamFailure(abort, controller.signal)).toBe(abort);
  });
});

describe('midStreamFailure', () => {
  it('an upstream failure: logged at warn with kind and code, mapped to its ApiError, recorded for the pool', () => {
    const { deps, logs } = fakeDeps(fakeStream([]));
    const upstream = new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' });
    const r = midStreamFailure(deps, upstream);
    expect(r.failure).toBe(upstream);
    expect(r.code).toBe('stream_closed');
    expect(r.api.status).toBe(502);
    expect(logs).toEqual([{ level: 'warn', obj: { kind: 'stream_closed', code: 'stream_closed' }, msg: 'upstream failed mid-stream' }]);
  });

  it('our own bug: logged at error with the error itself, a generic 500 for the client, nothing recorded against the account', () => {
    const { deps, logs } = fakeDeps(fakeStream([]));
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
