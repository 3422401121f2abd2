import { failureFromEvent, isTerminalEvent } from '../upstream/events.js';
import type { ResponsesEvent } from '../upstream/types.js';

/**
 * Non-streaming /v1/responses: the upstream always streams, so the final `response` object is
 * assembled from the events.
 * - The terminal event's `response` (completed / incomplete / failed) is the result; its
 *   `status` (completed | incomplete | failed) and `error` / `incomplete_details` are kept.
 * - When that response has no `output` (or an empty one) the items from
 *   response.output_item.done are filled in, ordered by output_index.
 * - A top-level `error` event or a stream without any terminal event gives status "failed"
 *   with an `error` {code, message} (built on the latest response.created / in_progress).
 */

type Rec = Record<string, unknown>;
function rec(v: unknown): Rec | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
}

const RESPONSE_CARRIERS = new Set(['response.created', 'response.in_progress', 'response.queued']);
const TERMINAL_WITH_RESPONSE = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function responseFromEvents(events: readonly ResponsesEvent[]): Record<string, unknown> {
  const doneItems: { index: number; seq: number; item: unknown }[] = [];
  let latest: Rec | undefined;
  let terminal: Rec | undefined;
  let streamError: { code: string; message: string } | undefined;

  for (const [seq, event] of events.entries()) {
    const response = rec(event['response']);
    if (RESPONSE_CARRIERS.has(event.type) && response) latest = response;
    else if (event.type === 'response.output_item.done' && event['item'] !== undefined) {
      const index = typeof event['output_index'] === 'number' ? event['output_index'] : doneItems.length;
      doneItems.push({ index, seq, item: event['item'] });
    } else if (TERMINAL_WITH_RESPONSE.has(event.type)) {
      terminal = response ?? { status: statusOf(event.type) };
      break;
    } else if (isTerminalEvent(event)) {
      // a top-level `error` event: the same reading as everywhere else (code, scrubbed message)
      const failure = failureFromEvent(event);
      streamError = { code: failure?.code ?? 'upstream_error', message: failure?.message ?? 'the upstream stream reported an error' };
      break;
    }
  }

  const result: Rec = { ...(terminal ?? latest ?? { object: 'response' }) };
  if (!terminal) {
    result['status'] = 'failed';
    result['error'] = streamError ?? { code: 'stream_closed', message: 'stream closed before response.completed' };
  } else if (typeof result['status'] !== 'string') {
    result['status'] = 'completed';
  }
  const output = result['output'];
  if (!Array.isArray(output) || output.length === 0) {
    result['output'] = doneItems.sort((a, b) => a.index - b.index || a.seq - b.seq).map((d) => d.item);
  }
  return result;
}

function statusOf(type: string): string {
  if (type === 'response.failed') return 'failed';
  if (type === 'response.incomplete') return 'incomplete';
  return 'completed';
}
