import type { ResponsesEvent } from '../upstream/types.js';

/** Small readers for the untyped payloads of Responses events, shared by the response translators. */

export type Rec = Record<string, unknown>;

export function rec(v: unknown): Rec | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Identifies the output item an event belongs to: its id, else its output_index. */
export function itemKey(event: ResponsesEvent): string {
  const item = rec(event['item']);
  return str(event['item_id']) ?? str(item?.['id']) ?? `#${num(event['output_index']) ?? 0}`;
}
