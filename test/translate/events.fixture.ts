import type { ResponsesEvent } from '../../src/upstream/types.js';

/** Hand-written Responses SSE event sequences in the order protocol.md §4 gives. */

export const usage = {
  input_tokens: 20,
  input_tokens_details: { cached_tokens: 8 },
  output_tokens: 12,
  output_tokens_details: { reasoning_tokens: 5 },
  total_tokens: 32,
};

export function response(status: string, extra: Record<string, unknown> = {}) {
  return { id: 'resp_1', object: 'response', created_at: 1_700_000_000, status, model: 'gpt-5', output: [], usage: null, error: null, incomplete_details: null, ...extra };
}

export const created: ResponsesEvent = { type: 'response.created', response: response('in_progress') };
export const inProgress: ResponsesEvent = { type: 'response.in_progress', response: response('in_progress') };

export function messageItem(id: string, outputIndex: number, deltas: string[]): ResponsesEvent[] {
  const text = deltas.join('');
  const base = { item_id: id, output_index: outputIndex, content_index: 0 };
  const part = { type: 'output_text', text, annotations: [] };
  return [
    { type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } },
    { type: 'response.content_part.added', ...base, part: { ...part, text: '' } },
    ...deltas.map((delta) => ({ type: 'response.output_text.delta', ...base, delta })),
    { type: 'response.output_text.done', ...base, text },
    { type: 'response.content_part.done', ...base, part },
    { type: 'response.output_item.done', output_index: outputIndex, item: { id, type: 'message', status: 'completed', role: 'assistant', content: [part] } },
  ];
}

export function functionCallItem(id: string, callId: string, name: string, outputIndex: number, deltas: string[]): ResponsesEvent[] {
  const args = deltas.join('');
  return [
    { type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name } },
    ...deltas.map((delta) => ({ type: 'response.function_call_arguments.delta', item_id: id, output_index: outputIndex, delta })),
    { type: 'response.function_call_arguments.done', item_id: id, output_index: outputIndex, arguments: args },
    { type: 'response.output_item.done', output_index: outputIndex, item: { id, type: 'function_call', status: 'completed', arguments: args, call_id: callId, name } },
  ];
}

export function reasoningItem(id: string, outputIndex: number, parts: string[][]): ResponsesEvent[] {
  const events: ResponsesEvent[] = [{ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'reasoning', summary: [] } }];
  parts.forEach((deltas, summaryIndex) => {
    const text = deltas.join('');
    const base = { item_id: id, output_index: outputIndex, summary_index: summaryIndex };
    events.push({ type: 'response.reasoning_summary_part.added', ...base, part: { type: 'summary_text', text: '' } });
    for (const delta of deltas) events.push({ type: 'response.reasoning_summary_text.delta', ...base, delta });
    events.push({ type: 'response.reasoning_summary_text.done', ...base, text });
    events.push({ type: 'response.reasoning_summary_part.done', ...base, part: { type: 'summary_text', text } });
  });
  events.push({
    type: 'response.output_item.done',
    output_index: outputIndex,
    item: { id, type: 'reasoning', summary: parts.map((d) => ({ type: 'summary_text', text: d.join('') })), encrypted_content: 'ENC' },
  });
  return events;
}

export function completed(output: unknown[] = [], u: unknown = usage): ResponsesEvent {
  return { type: 'response.completed', response: response('completed', { output, usage: u }) };
}

export function incomplete(reason: string): ResponsesEvent {
  return { type: 'response.incomplete', response: response('incomplete', { incomplete_details: { reason }, usage }) };
}

export function failed(code: string, message: string): ResponsesEvent {
  return { type: 'response.failed', response: response('failed', { error: { code, message } }) };
}
