import { describe, expect, it } from 'vitest';
import { SIGNATURE_PREFIX, type ThinkingDisplay } from '../../src/translate/messages-to-responses.js';
import {
  createMessagesStreamState,
  finishMessagesStream,
  messageFromStreamEvents,
  messagesErrorEvent,
  messagesEventsForEvent,
  messagesPing,
  type AnthropicStreamEvent,
} from '../../src/translate/responses-to-messages.js';
import { UpstreamFailure, type ResponsesEvent } from '../../src/upstream/types.js';
import { completed, created, failed, functionCallItem, incomplete, inProgress, messageItem, reasoningItem } from './events.fixture.js';

function stateFor(opts: { thinking?: ThinkingDisplay; maxTokens?: number; stopSequences?: string[] } = {}) {
  return createMessagesStreamState({
    id: 'msg_1',
    model: 'claude-sonnet-4-5',
    thinking: opts.thinking ?? 'none',
    maxTokens: opts.maxTokens ?? 1000,
    stopSequences: opts.stopSequences ?? [],
    inputTokensEstimate: 11,
  });
}

function run(events: ResponsesEvent[], opts: Parameters<typeof stateFor>[0] = {}) {
  const state = stateFor(opts);
  const out: AnthropicStreamEvent[] = [];
  for (const ev of events) out.push(...messagesEventsForEvent(state, ev));
  out.push(...finishMessagesStream(state));
  return { state, out, message: messageFromStreamEvents(out) };
}

/** A compact view: event type, plus the delta type/text for deltas. */
function shape(events: AnthropicStreamEvent[]): string[] {
  return events.map((e) => {
    if (e.type === 'content_block_start') return `start:${(e['content_block'] as { type: string }).type}@${String(e['index'])}`;
    if (e.type === 'content_block_stop') return `stop@${String(e['index'])}`;
    if (e.type === 'content_block_delta') {
      const d = e['delta'] as Record<string, string>;
      return `${d['type']}:${d['text'] ?? d['partial_json'] ?? d['thinking'] ?? d['signature']}`;
    }
    if (e.type === 'message_delta') return `message_delta:${(e['delta'] as { stop_reason: string }).stop_reason}`;
    return e.type;
  });
}

describe('responses-to-messages: event order', () => {
  it('text: message_start, one text block with a delta per upstream delta, message_delta end_turn, message_stop', () => {
    const { out, message } = run([created, inProgress, ...messageItem('msg_a', 0, ['Hel', 'lo']), completed()]);
    expect(shape(out)).toEqual(['message_start', 'start:text@0', 'text_delta:Hel', 'text_delta:lo', 'stop@0', 'message_delta:end_turn', 'message_stop']);
    expect(out[0]).toMatchObject({ message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 11 } } });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello' }]);
    // input_tokens excludes the cached part, reported as cache_read_input_tokens
    expect(message.usage).toEqual({ input_tokens: 12, output_tokens: 12, cache_read_input_tokens: 8, cache_creation_input_tokens: 0 });
  });

  it('nothing for created / in_progress: the caller can still send a plain error', () => {
    const state = stateFor();
    expect([created, inProgress].flatMap((e) => messagesEventsForEvent(state, e))).toEqual([]);
    expect(state.started).toBe(false);
  });

  it('tool calls: tool_use blocks with input_json_delta, stop_reason tool_use, input assembled', () => {
    const { out, message } = run([
      created,
      ...messageItem('msg_a', 0, ['Checking.']),
      ...functionCallItem('fc_1', 'call_1', 'get', 1, ['{"a":', '1}']),
      ...functionCallItem('fc_2', 'call_2', 'put', 2, ['{}']),
      completed(),
    ]);
    expect(shape(out)).toEqual([
      'message_start',
      'start:text@0',
      'text_delta:Checking.',
      'stop@0',
      'start:tool_use@1',
      'input_json_delta:{"a":',
      'input_json_delta:1}',
      'stop@1',
      'start:tool_use@2',
      'input_json_delta:{}',
      'stop@2',
      'message_delta:tool_use',
      'message_stop',
    ]);
    expect(out[4]).toMatchObject({ content_block: { type: 'tool_use', id: 'call_1', name: 'get', input: {} } });
    expect(message.content.slice(1)).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'get', input: { a: 1 } },
      { type: 'tool_use', id: 'call_2', name: 'put', input: {} },
    ]);
  });

  it('a function call seen only at output_item.done still becomes a whole tool_use block', () => {
    const done = functionCallItem('fc_1', 'call_1', 'get', 0, ['{"x":2}']).at(-1)!;
    const { out, message } = run([created, done, completed()]);
    expect(shape(out)).toEqual(['message_start', 'start:tool_use@0', 'input_json_delta:{"x":2}', 'stop@0', 'message_delta:tool_use', 'message_stop']);
    expect(message.content[0]).toMatchObject({ input: { x: 2 } });
  });

  it('thinking (summarized): a thinking block with the summary parts and our signature, before the text', () => {
    const { out, message } = run([created, ...reasoningItem('rs_1', 0, [['Plan', ' A'], ['Then B']]), ...messageItem('msg_a', 1, ['ok']), completed()], { thinking: 'summarized' });
    expect(shape(out)).toEqual([
      'message_start',
      'start:thinking@0',
      'thinking_delta:Plan',
      'thinking_delta: A',
      'thinking_delta:\n\nThen B',
      `signature_delta:${SIGNATURE_PREFIX}ENC`,
      'stop@0',
      'start:text@1',
      'text_delta:ok',
      'stop@1',
      'message_delta:end_turn',
      'message_stop',
    ]);
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: 'Plan A\n\nThen B', signature: `${SIGNATURE_PREFIX}ENC` });
  });

  it('thinking omitted: an empty thinking block carrying only the signature; thinking off: no block at all', () => {
    const events = [created, ...reasoningItem('rs_1', 0, [['Plan']]), ...messageItem('msg_a', 1, ['ok']), completed()];
    expect(run(events, { thinking: 'omitted' }).message.content).toEqual([
      { type: 'thinking', thinking: '', signature: `${SIGNATURE_PREFIX}ENC` },
      { type: 'text', text: 'ok' },
    ]);
    expect(run(events, { thinking: 'none' }).message.content).toEqual([{ type: 'text', text: 'ok' }]);
  });

  it('a web search: server_tool_use (input {query}) and web_search_tool_result (the sources) before the text; counted in usage', () => {
    const ws: ResponsesEvent[] = [
      { type: 'response.output_item.added', output_index: 0, item: { id: 'ws_1', type: 'web_search_call', status: 'in_progress' } },
      { type: 'response.web_search_call.searching', item_id: 'ws_1', output_index: 0 },
      {
        type: 'response.output_item.done',
        output_index: 0,
        item: { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'cliproxy', sources: [{ type: 'url', url: 'https://a.test/' }] } },
      },
    ];
    const { out, message } = run([created, ...ws, ...messageItem('m', 1, ['Found.']), completed()]);
    expect(shape(out)).toEqual([
      'message_start',
      'start:server_tool_use@0',
      'input_json_delta:{"query":"cliproxy"}',
      'stop@0',
      'start:web_search_tool_result@1',
      'stop@1',
      'start:text@2',
      'text_delta:Found.',
      'stop@2',
      'message_delta:end_turn',
      'message_stop',
    ]);
    expect(message.content.slice(0, 2)).toEqual([
      { type: 'server_tool_use', id: 'srvtoolu_ws_1', name: 'web_search', input: { query: 'cliproxy' } },
      { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_ws_1', content: [{ type: 'web_search_result', url: 'https://a.test/', title: 'https://a.test/', encrypted_content: '', page_age: null }] },
    ]);
    expect(message.usage.server_tool_use).toEqual({ web_search_requests: 1 });
  });

  it('response.incomplete → max_tokens (content_filter → refusal)', () => {
    expect(run([created, ...messageItem('m', 0, ['x']), incomplete('max_output_tokens')]).message.stop_reason).toBe('max_tokens');
    expect(run([created, ...messageItem('m', 0, ['x']), incomplete('content_filter')]).message.stop_reason).toBe('refusal');
  });

  it('response.failed throws the upstream failure (the caller sends an error event)', () => {
    const state = stateFor();
    messagesEventsForEvent(state, messageItem('m', 0, ['x'])[2]!);
    expect(() => messagesEventsForEvent(state, failed('server_error', 'boom'))).toThrow(UpstreamFailure);
    expect(messagesErrorEvent(state, { type: 'api_error', message: 'boom' })).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
    expect(state.done).toBe(true);
  });

  it('a stream that ran out still ends well-formed; a ping comes after message_start', () => {
    const state = stateFor();
    expect(shape(messagesPing(state))).toEqual(['message_start', 'ping']);
    expect(shape(messagesPing(state))).toEqual(['ping']);
    expect(shape(finishMessagesStream(state))).toEqual(['message_delta:end_turn', 'message_stop']);
    expect(messagesPing(state)).toEqual([]);
  });
});

describe('responses-to-messages: stop_sequences enforced by the proxy', () => {
  it.each([
    ['inside one delta', ['alpha STOP beta'], ['STOP'], 'alpha ', 'STOP'],
    ['split across deltas', ['alpha S', 'T', 'OP beta'], ['STOP'], 'alpha ', 'STOP'],
    ['the earliest of several', ['a b c d'], ['d', ' b'], 'a', ' b'],
    ['at the very start', ['STOP now'], ['STOP'], '', 'STOP'],
  ])('%s', (_name, deltas, stops, text, sequence) => {
    const { state, out, message } = run([created, ...messageItem('m', 0, deltas), completed()], { stopSequences: stops });
    expect(message.content[0]?.['text'] ?? '').toBe(text);
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe(sequence);
    expect(state.done).toBe(true);
    expect(shape(out).slice(-3)).toEqual([`stop@0`, 'message_delta:stop_sequence', 'message_stop']);
    // nothing after the sequence ever went out
    expect(out.map((e) => JSON.stringify(e)).join('')).not.toContain('beta');
  });

  it('held-back text that never completes a sequence is sent when the block ends', () => {
    const { out, message } = run([created, ...messageItem('m', 0, ['abc S', 'T']), completed()], { stopSequences: ['STOP'] });
    expect(message.content[0]).toEqual({ type: 'text', text: 'abc ST' });
    expect(message.stop_reason).toBe('end_turn');
    expect(shape(out)).toEqual(['message_start', 'start:text@0', 'text_delta:ab', 'text_delta:c', 'text_delta: ST', 'stop@0', 'message_delta:end_turn', 'message_stop']);
  });
});

describe('responses-to-messages: max_tokens enforced by the proxy (4 characters per token)', () => {
  it('text is cut at max_tokens × 4 characters, stop_reason max_tokens, output_tokens the estimate', () => {
    const { state, message } = run([created, ...messageItem('m', 0, ['abcdef', 'ghijkl', 'mnop']), completed()], { maxTokens: 2 });
    expect(message.content).toEqual([{ type: 'text', text: 'abcdefgh' }]);
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(2);
    expect(state.done).toBe(true);
  });

  it('thinking and tool input count too', () => {
    const { message } = run([created, ...reasoningItem('rs', 0, [['12345678']]), ...functionCallItem('fc', 'c', 'f', 1, ['{"a":1}']), completed()], { thinking: 'summarized', maxTokens: 3 });
    expect(message.content.map((b) => b['type'])).toEqual(['thinking', 'tool_use']);
    expect(message.content[1]).toMatchObject({ input: {} }); // the cut JSON is not valid: {} rather than a broken message
    expect(message.stop_reason).toBe('max_tokens');
  });

  it('exactly at the budget is not a cut', () => {
    expect(run([created, ...messageItem('m', 0, ['abcdefgh']), completed()], { maxTokens: 2 }).message.stop_reason).toBe('end_turn');
  });
});
