/** Custom (free-form) tool calls and legacy `function_call` answers, streamed and folded; the opening role chunk. */
import { describe, expect, it } from 'vitest';
import { chatCompletionFromEvents } from '../../src/translate/responses-to-chat-completion.js';
import { chatChunksForEvent, createChatStreamState, finishChatStream, roleChunk } from '../../src/translate/responses-to-chat.js';
import type { ChatCompletionChunk } from '../../src/translate/responses-to-chat.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';
import { completed, created, functionCallItem, inProgress, messageItem } from './events.fixture.js';

const init = { id: 'chatcmpl-t', model: 'gpt-5', created: 1_700_000_000 };

function customCallItem(id: string, callId: string, name: string, outputIndex: number, deltas: string[]): ResponsesEvent[] {
  const input = deltas.join('');
  return [
    { type: 'response.output_item.added', output_index: outputIndex, item: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name, input: '' } },
    ...deltas.map((delta) => ({ type: 'response.custom_tool_call_input.delta', item_id: id, output_index: outputIndex, delta })),
    { type: 'response.custom_tool_call_input.done', item_id: id, output_index: outputIndex, input },
    { type: 'response.output_item.done', output_index: outputIndex, item: { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name, input } },
  ];
}

function deltas(events: ResponsesEvent[], legacyFunctions = false): ChatCompletionChunk[] {
  const state = createChatStreamState({ ...init, includeUsage: false, legacyFunctions });
  return [...events.flatMap((e) => chatChunksForEvent(state, e)), ...finishChatStream(state)];
}
const onlyDeltas = (chunks: ChatCompletionChunk[]) => chunks.map((c) => ({ delta: c.choices[0]!.delta, finish: c.choices[0]!.finish_reason }));

describe('custom tool calls → chat', () => {
  it('stream: a header chunk, then input deltas, finish tool_calls', () => {
    expect(onlyDeltas(deltas([created, inProgress, ...customCallItem('ctc_1', 'call_p', 'apply_patch', 0, ['*** Begin', ' Patch']), completed()]))).toEqual([
      { delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_p', type: 'custom', custom: { name: 'apply_patch', input: '' } }] }, finish: null },
      { delta: { tool_calls: [{ index: 0, custom: { input: '*** Begin' } }] }, finish: null },
      { delta: { tool_calls: [{ index: 0, custom: { input: ' Patch' } }] }, finish: null },
      { delta: {}, finish: 'tool_calls' },
    ]);
  });

  it.each([
    ['only .done', (e: ResponsesEvent[]) => e.filter((x) => x.type !== 'response.custom_tool_call_input.delta')],
    ['only output_item.done', (e: ResponsesEvent[]) => e.filter((x) => !x.type.startsWith('response.custom_tool_call_input'))],
    ['no added event', (e: ResponsesEvent[]) => e.filter((x) => x.type === 'response.output_item.done')],
  ])('the input arrives exactly once with %s', (_name, pick) => {
    const chunks = deltas(pick(customCallItem('ctc_1', 'call_p', 'apply_patch', 0, ['ab', 'cd'])));
    const input = chunks.flatMap((c) => c.choices[0]!.delta.tool_calls ?? []).map((t) => ('custom' in t ? t.custom.input : '')).join('');
    expect(input).toBe('abcd');
  });

  it('non-stream: tool_calls with type custom, mixed with a function call', () => {
    const events = [created, ...customCallItem('ctc_1', 'call_c', 'apply_patch', 0, ['patch']), ...functionCallItem('fc_1', 'call_f', 'lookup', 1, ['{"q":', '1}']), completed()];
    const done = chatCompletionFromEvents(events, init);
    expect(done.choices[0]!.finish_reason).toBe('tool_calls');
    expect(done.choices[0]!.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { id: 'call_c', type: 'custom', custom: { name: 'apply_patch', input: 'patch' } },
        { id: 'call_f', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
      ],
    });
  });
});

describe('legacy functions → function_call answers', () => {
  const events = [created, inProgress, ...functionCallItem('fc_1', 'call_1', 'get_weather', 0, ['{"city":', '"Paris"}']), completed()];

  it('stream: delta.function_call {name, arguments:""}, then {arguments}, finish function_call', () => {
    expect(onlyDeltas(deltas(events, true))).toEqual([
      { delta: { role: 'assistant', function_call: { name: 'get_weather', arguments: '' } }, finish: null },
      { delta: { function_call: { arguments: '{"city":' } }, finish: null },
      { delta: { function_call: { arguments: '"Paris"}' } }, finish: null },
      { delta: {}, finish: 'function_call' },
    ]);
  });

  it('non-stream: message.function_call, no tool_calls, finish_reason function_call', () => {
    const done = chatCompletionFromEvents(events, { ...init, legacyFunctions: true });
    expect(done.choices[0]!.finish_reason).toBe('function_call');
    expect(done.choices[0]!.message).toEqual({ role: 'assistant', content: null, refusal: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  });

  it('a plain text answer is unchanged (finish stop)', () => {
    const done = chatCompletionFromEvents([created, ...messageItem('m', 0, ['hi']), completed()], { ...init, legacyFunctions: true });
    expect(done.choices[0]!.finish_reason).toBe('stop');
    expect(done.choices[0]!.message.content).toBe('hi');
  });

  it('tools clients keep tool_calls', () => {
    expect(onlyDeltas(deltas(events)).at(-1)).toEqual({ delta: {}, finish: 'tool_calls' });
  });
});

describe('roleChunk', () => {
  it('opens the stream once with role and empty content; later chunks carry no role', () => {
    const state = createChatStreamState({ ...init, includeUsage: false });
    expect(roleChunk(state).map((c) => c.choices[0]!.delta)).toEqual([{ role: 'assistant', content: '' }]);
    expect(roleChunk(state)).toEqual([]);
    const next = messageItem('m', 0, ['hi']).flatMap((e) => chatChunksForEvent(state, e));
    expect(next[0]!.choices[0]!.delta).toEqual({ content: 'hi' });
  });
});
