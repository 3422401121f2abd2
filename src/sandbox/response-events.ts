/**
 * Turns a reply plan into the Responses API event sequence (protocol.md §4): created →
 * in_progress → per item (added, deltas, done) → completed, or a response.failed ending.
 */
import { argumentDeltas, encryptReasoning, estimateTokens, searchResultUrl, textDeltas, type PlannedItem } from './model-replies.js';

export type SseEvent = { type: string } & Record<string, unknown>;

export interface ResponseIdentity {
  id: string;
  createdAt: number; // unix s
  model: string;
  /** The request body; echoed fields (instructions, tools, reasoning, text …). */
  request: Record<string, unknown>;
  /** Makes the next id with a prefix (msg, rs, fc, call). */
  nextId: (prefix: string) => string;
}

export interface Usage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

function responseObject(r: ResponseIdentity, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const req = r.request;
  return {
    id: r.id,
    object: 'response',
    created_at: r.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: null,
    model: r.model,
    output: [],
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: null,
    prompt_cache_key: req.prompt_cache_key ?? null,
    reasoning: req.reasoning ?? { effort: null, summary: null },
    service_tier: 'auto',
    store: false,
    text: req.text ?? { format: { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    truncation: 'disabled',
    usage: null,
    metadata: {},
    ...extra,
  };
}

function itemEvents(item: PlannedItem, outputIndex: number, r: ResponseIdentity, includeEncrypted: boolean): { events: SseEvent[]; done: Record<string, unknown> } {
  const events: SseEvent[] = [];
  if (item.type === 'reasoning') {
    const id = r.nextId('rs');
    const part = { type: 'summary_text', text: item.summary };
    const done: Record<string, unknown> = { id, type: 'reasoning', summary: item.summary === '' ? [] : [part] };
    if (includeEncrypted) done.encrypted_content = encryptReasoning(item.summary);
    events.push({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'reasoning', summary: [] } });
    if (item.summary === '') {
      // reasoned without a summary: nothing to stream, the item carries only its encrypted content
      events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
      return { events, done };
    }
    events.push({ type: 'response.reasoning_summary_part.added', item_id: id, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } });
    for (const delta of textDeltas(item.summary)) {
      events.push({ type: 'response.reasoning_summary_text.delta', item_id: id, output_index: outputIndex, summary_index: 0, delta });
    }
    events.push({ type: 'response.reasoning_summary_text.done', item_id: id, output_index: outputIndex, summary_index: 0, text: item.summary });
    events.push({ type: 'response.reasoning_summary_part.done', item_id: id, output_index: outputIndex, summary_index: 0, part });
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
    return { events, done };
  }
  if (item.type === 'web_search') {
    const id = r.nextId('ws');
    const action: Record<string, unknown> = { type: 'search', query: item.query };
    const include = Array.isArray(r.request.include) ? r.request.include : [];
    if (include.includes('web_search_call.action.sources')) action.sources = [{ type: 'url', url: searchResultUrl(item.query) }];
    const done = { id, type: 'web_search_call', status: 'completed', action };
    const base = { item_id: id, output_index: outputIndex };
    events.push({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'web_search_call', status: 'in_progress' } });
    events.push({ type: 'response.web_search_call.in_progress', ...base });
    events.push({ type: 'response.web_search_call.searching', ...base });
    events.push({ type: 'response.web_search_call.completed', ...base });
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
    return { events, done };
  }
  if (item.type === 'function_call') {
    const id = r.nextId('fc');
    const callId = r.nextId('call');
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: { id, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: item.name },
    });
    for (const delta of argumentDeltas(item.arguments)) {
      events.push({ type: 'response.function_call_arguments.delta', item_id: id, output_index: outputIndex, delta });
    }
    events.push({ type: 'response.function_call_arguments.done', item_id: id, output_index: outputIndex, name: item.name, arguments: item.arguments });
    const done = { id, type: 'function_call', status: 'completed', arguments: item.arguments, call_id: callId, name: item.name };
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
    return { events, done };
  }
  if (item.type === 'custom_tool_call') {
    const id = r.nextId('ctc');
    const callId = r.nextId('call');
    events.push({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name: item.name, input: '' } });
    for (const delta of argumentDeltas(item.input)) events.push({ type: 'response.custom_tool_call_input.delta', item_id: id, output_index: outputIndex, delta });
    events.push({ type: 'response.custom_tool_call_input.done', item_id: id, output_index: outputIndex, input: item.input });
    const done = { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name: item.name, input: item.input };
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
    return { events, done };
  }
  const id = r.nextId('msg');
  const base = { item_id: id, output_index: outputIndex, content_index: 0 };
  const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
  events.push({ type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
  events.push({ type: 'response.content_part.added', ...base, part: { ...part, text: '' } });
  for (const delta of textDeltas(item.text)) events.push({ type: 'response.output_text.delta', ...base, delta, logprobs: [] });
  events.push({ type: 'response.output_text.done', ...base, text: item.text, logprobs: [] });
  events.push({ type: 'response.content_part.done', ...base, part });
  const done = { id, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  events.push({ type: 'response.output_item.done', output_index: outputIndex, item: done });
  return { events, done };
}

export function computeUsage(request: Record<string, unknown>, items: PlannedItem[], cachedTokens: number): Usage {
  const prompt = JSON.stringify(request.input ?? '') + String(request.instructions ?? '') + JSON.stringify(request.tools ?? []);
  const input = estimateTokens(prompt);
  let visible = 0;
  let reasoning = 0;
  for (const it of items) {
    if (it.type === 'reasoning') reasoning += estimateTokens(it.summary);
    else if (it.type === 'message') visible += estimateTokens(it.text);
    else if (it.type === 'web_search') visible += estimateTokens(it.query);
    else visible += estimateTokens(it.name + (it.type === 'function_call' ? it.arguments : it.input));
  }
  const output = visible + reasoning;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Math.min(cachedTokens, input) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

/** The whole successful event sequence for a plan. */
export function completedEvents(r: ResponseIdentity, items: PlannedItem[], usage: Usage): SseEvent[] {
  const includeEncrypted = Array.isArray(r.request.include) && r.request.include.includes('reasoning.encrypted_content');
  const events: SseEvent[] = [
    { type: 'response.created', response: responseObject(r, 'in_progress') },
    { type: 'response.in_progress', response: responseObject(r, 'in_progress') },
  ];
  const output: Record<string, unknown>[] = [];
  items.forEach((item, i) => {
    const built = itemEvents(item, i, r, includeEncrypted);
    events.push(...built.events);
    output.push(built.done);
  });
  events.push({ type: 'response.completed', response: responseObject(r, 'completed', { output, usage }) });
  return events;
}

/** created → in_progress → response.failed (with the given error, default server_error). */
export function failedEvents(r: ResponseIdentity, failure: { code?: string; message?: string } = {}): SseEvent[] {
  const error = {
    code: failure.code ?? 'server_error',
    message: failure.message ?? 'The sandbox was asked to fail this response (response_failed fault).',
  };
  return [
    { type: 'response.created', response: responseObject(r, 'in_progress') },
    { type: 'response.in_progress', response: responseObject(r, 'in_progress') },
    { type: 'response.failed', response: responseObject(r, 'failed', { error }) },
  ];
}
