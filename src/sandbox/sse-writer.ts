/**
 * Writes Responses events as server-sent events (`event: <type>` + `data: <json>`), numbering
 * them with `sequence_number`. Can pause between events (slow fault) and destroy the socket
 * after N events (disconnect fault).
 */
import type { ServerResponse } from 'node:http';
import type { SseEvent } from './response-events.js';

export interface StreamPlan {
  /** Milliseconds to wait between events (0 = none). */
  delayMs: number;
  /** Destroy the socket after writing this many events (undefined = never). */
  disconnectAfter?: number;
}

function encodeSse(event: SseEvent, sequenceNumber: number): string {
  const data = JSON.stringify({ ...event, sequence_number: sequenceNumber });
  return `event: ${event.type}\ndata: ${data}\n\n`;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Streams the events; resolves when done, when the client went away, or after a forced disconnect. */
export async function streamEvents(res: ServerResponse, headers: Record<string, string>, events: SseEvent[], plan: StreamPlan): Promise<'completed' | 'client_gone' | 'disconnected'> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  res.flushHeaders();
  let gone = false;
  res.on('close', () => {
    gone = true;
  });
  for (let i = 0; i < events.length; i++) {
    if (gone) return 'client_gone';
    if (plan.disconnectAfter !== undefined && i >= plan.disconnectAfter) {
      res.socket?.destroy();
      return 'disconnected';
    }
    if (i > 0 && plan.delayMs > 0) await wait(plan.delayMs);
    if (gone) return 'client_gone';
    const chunk = encodeSse(events[i]!, i);
    if (plan.disconnectAfter === undefined) res.write(chunk);
    // Before a forced disconnect, make sure the events sent so far really left the process.
    else await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
  }
  res.end();
  return 'completed';
}
