import { scrubText } from '../util/redact.js';
import { UpstreamFailure } from './types.js';
import type { ResponsesEvent } from './types.js';

/**
 * Facts about the Responses SSE events that both the parser and the translators need.
 * No I/O here.
 */

/** The events that end a /responses stream (protocol.md §4). */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  // A top-level `error` event ends the stream as well (the Responses API sends it instead of response.failed on some errors).
  'error',
]);

export function isTerminalEvent(event: ResponsesEvent): boolean {
  return TERMINAL_EVENT_TYPES.has(event.type);
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Longest upstream message we pass on (scrubbed). */
const MAX_MESSAGE_CHARS = 500;

export function cleanUpstreamMessage(message: string): string {
  const scrubbed = scrubText(message).trim();
  return scrubbed.length > MAX_MESSAGE_CHARS ? `${scrubbed.slice(0, MAX_MESSAGE_CHARS)}…` : scrubbed;
}

/**
 * `response.failed` or `error` → UpstreamFailure('response_failed') with the upstream's code and
 * (scrubbed) message. Returns undefined for any other event.
 */
export function failureFromEvent(event: ResponsesEvent): UpstreamFailure | undefined {
  if (event.type === 'response.failed') {
    const response = asRecord(event['response']);
    const error = asRecord(response?.['error']);
    const code = str(error?.['code']);
    const message = str(error?.['message']) ?? 'the upstream response failed without an error message';
    return new UpstreamFailure('response_failed', cleanUpstreamMessage(message), code ? { code } : {});
  }
  if (event.type === 'error') {
    const nested = asRecord(event['error']);
    const code = str(event['code']) ?? str(nested?.['code']) ?? str(nested?.['type']);
    const message = str(event['message']) ?? str(nested?.['message']) ?? 'the upstream stream reported an error';
    return new UpstreamFailure('response_failed', cleanUpstreamMessage(message), code ? { code } : {});
  }
  return undefined;
}
