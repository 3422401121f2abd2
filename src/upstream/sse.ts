import { createParser } from 'eventsource-parser';
import type { EventSourceMessage, EventSourceParser } from 'eventsource-parser';
import { scrubText } from '../util/redact.js';
import { isTerminalEvent } from './events.js';
import { UpstreamFailure } from './types.js';
import type { ResponsesEvent } from './types.js';

/**
 * The /responses SSE body → ResponsesEvent objects.
 * - Chunk boundaries do not matter (bytes are decoded as a UTF-8 stream, events are framed by
 *   eventsource-parser).
 * - An event's type is its JSON `type`, else its `event:` name; `data: [DONE]` and comments are
 *   skipped.
 * - Iteration ends right after the first terminal event (response.completed / failed /
 *   incomplete / error); the rest of the body is not read (breaking out releases it).
 * - A body that ends, or fails, before a terminal event → UpstreamFailure('stream_closed',
 *   'stream closed before response.completed'); an event whose data is not a JSON object →
 *   UpstreamFailure('stream_closed') with code 'invalid_sse'. Abort errors pass through unchanged.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<ResponsesEvent, void, undefined> {
  const pending: ResponsesEvent[] = [];
  let invalid: unknown;
  const frames = new SseEvents((event) => pending.push(event));
  const feed = (f: () => void) => {
    try {
      f();
    } catch (err) {
      invalid ??= err;
    }
  };

  function* drain(): Generator<ResponsesEvent, boolean> {
    while (pending.length > 0) {
      const event = pending.shift()!;
      yield event;
      if (isTerminalEvent(event)) return true;
    }
    if (invalid) throw invalid;
    return false;
  }

  try {
    for await (const bytes of body) {
      if (!invalid) feed(() => frames.feed(bytes));
      if (yield* drain()) return;
    }
  } catch (err) {
    throw streamError(err);
  }
  // The body ended: flush a last event that lacked its blank line.
  if (!invalid) feed(() => frames.end());
  if (yield* drain()) return;
  throw new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' });
}

/**
 * Push-based framing of a /responses SSE body: bytes in (any chunking), one callback per event,
 * each event's JSON parsed once (eventFromMessage). `wants(name)` may decline an event by its
 * `event:` name before its JSON is parsed (a pass-through that only needs a few events). An
 * invalid event throws its UpstreamFailure out of feed()/end(), or goes to `onInvalid` when given.
 */
export class SseEvents {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly parser: EventSourceParser;

  constructor(
    onEvent: (event: ResponsesEvent) => void,
    opts: { wants?: (eventName: string | undefined) => boolean; onInvalid?: (failure: UpstreamFailure) => void } = {},
  ) {
    const { wants, onInvalid } = opts;
    this.parser = createParser({
      onEvent(message: EventSourceMessage) {
        if (wants && !wants(message.event)) return;
        const parsed = eventFromMessage(message);
        if (parsed instanceof UpstreamFailure) {
          if (!onInvalid) throw parsed;
          onInvalid(parsed);
        } else if (parsed) onEvent(parsed);
      },
    });
  }

  feed(bytes: Uint8Array): void {
    this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** The body ended: dispatches a last event that lacked its blank line. */
  end(): void {
    this.parser.feed(`${this.decoder.decode()}\n\n`);
  }
}

/**
 * One SSE message → its event: the JSON object with `type` taken from the JSON, else from the
 * `event:` name. undefined for `[DONE]` / empty data; an UpstreamFailure (code invalid_sse) for
 * data that is not a JSON object or has no type at all.
 */
export function eventFromMessage(message: EventSourceMessage): ResponsesEvent | UpstreamFailure | undefined {
  const data = message.data.trim();
  if (data === '' || data === '[DONE]') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return invalidEvent(message, 'data is not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return invalidEvent(message, 'data is not a JSON object');
  const record = json as Record<string, unknown>;
  // The usual case: the JSON carries its type, and the parsed object is the event as it is.
  if (typeof record['type'] === 'string') return record as ResponsesEvent;
  if (!message.event) return invalidEvent(message, 'event has neither an `event:` name nor a `type` field');
  record['type'] = message.event;
  return record as ResponsesEvent;
}

function invalidEvent(message: EventSourceMessage, what: string): UpstreamFailure {
  const name = message.event ? ` '${message.event}'` : '';
  return new UpstreamFailure('stream_closed', `the upstream sent an invalid SSE event${name}: ${what}`, { code: 'invalid_sse' });
}

function streamError(err: unknown): unknown {
  if (err instanceof UpstreamFailure) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const reason = scrubText(err instanceof Error ? err.message : String(err));
  return new UpstreamFailure('stream_closed', `stream closed before response.completed (${reason})`, { code: 'stream_closed', cause: err });
}
