/**
 * Test helper (not a test file): an upstream stream the test feeds with events (push) or breaks
 * (fail), read the way the request path reads a real one (UpstreamStream.read).
 */
import type { HandlerDeps } from '../../src/handlers/deps.js';
import type { ModelCatalog } from '../../src/server/model-catalog.js';
import type { ResponsesEvent, UpstreamClient, UpstreamReader, UpstreamSink, UpstreamStream } from '../../src/upstream/types.js';
import { ManualClock } from '../../src/util/clock.js';

export interface PushableStream {
  stream: UpstreamStream;
  /** Sends the events as the backend frames them (`event:` + `data:`), one chunk per call. */
  push(...events: ResponsesEvent[]): void;
  /** Sends bytes as they are (an SSE body written by the test). */
  pushBytes(bytes: Buffer): void;
  /** Breaks the body (what a dropped connection does). */
  fail(err: Error): void;
  readonly cancelled: boolean;
}

export function pushableStream(): PushableStream {
  let sink: UpstreamSink | undefined;
  const queued: Buffer[] = [];
  let cancelled = false;
  const stream = {
    status: 200,
    usage: {},
    raw(): AsyncIterable<Uint8Array> {
      throw new Error('not used');
    },
    events(): AsyncIterable<ResponsesEvent> {
      throw new Error('not used');
    },
    read(to: UpstreamSink): UpstreamReader {
      sink = to;
      setImmediate(() => {
        for (const b of queued.splice(0)) to.data(b);
      });
      return { pause: () => undefined, resume: () => undefined, release: () => undefined };
    },
    cancel() {
      cancelled = true;
    },
  } as unknown as UpstreamStream;
  const pushBytes = (bytes: Buffer) => {
    if (sink) sink.data(bytes);
    else queued.push(bytes);
  };
  return {
    stream,
    push(...events) {
      pushBytes(Buffer.from(events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('')));
    },
    pushBytes,
    fail(err) {
      sink!.error(err);
    },
    get cancelled() {
      return cancelled;
    },
  };
}

/** Handler deps around `pool` whose upstream answers every request with `stream`; the catalog takes any model as it is; logs are dropped. */
export function depsWith(pool: HandlerDeps['pool'], stream: UpstreamStream): HandlerDeps {
  const quiet = () => undefined;
  return {
    pool,
    upstream: { responses: async () => stream } as unknown as UpstreamClient,
    catalog: { resolve: async (m: string) => ({ model: m }), explainRefusal: (e: unknown) => e } as unknown as ModelCatalog,
    clock: new ManualClock(0),
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  };
}
