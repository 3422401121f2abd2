import { describe, expect, it } from 'vitest';
import { responseFromEvents } from '../../src/translate/responses-assembler.js';
import { completed, created, failed, functionCallItem, inProgress, incomplete, messageItem, reasoningItem, response, usage } from './events.fixture.js';

const msgDone = { id: 'm', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there', annotations: [] }] };

describe('responseFromEvents', () => {
  it('prefers response.completed when it carries the output', () => {
    const events = [created, inProgress, ...messageItem('m', 0, ['Hi', ' there']), completed([msgDone])];
    expect(responseFromEvents(events)).toEqual(response('completed', { output: [msgDone], usage }));
  });

  it('fills an empty output from output_item.done events, in output_index order', () => {
    const reasoning = reasoningItem('rs', 0, [['r']]);
    const call = functionCallItem('fc', 'call_1', 'f', 2, ['{}']);
    const msg = messageItem('m', 1, ['Hi', ' there']);
    // deliver item 2 before item 1 to check ordering
    const events = [created, ...reasoning, ...call, ...msg, completed([])];
    const out = responseFromEvents(events);
    expect(out['status']).toBe('completed');
    expect((out['output'] as { type: string }[]).map((i) => i.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect((out['output'] as unknown[])[1]).toEqual({ ...msgDone });
  });

  it('fills a missing output too', () => {
    const events = [...messageItem('m', 0, ['Hi there']), { type: 'response.completed', response: { id: 'r', status: 'completed', usage } }];
    expect(responseFromEvents(events)).toEqual({ id: 'r', status: 'completed', usage, output: [msgDone] });
  });

  it('keeps status incomplete and its details', () => {
    const out = responseFromEvents([created, ...messageItem('m', 0, ['Hi there']), incomplete('max_output_tokens')]);
    expect(out).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [msgDone] });
  });

  it('keeps status failed and the error', () => {
    const out = responseFromEvents([created, inProgress, failed('server_error', 'boom')]);
    expect(out).toMatchObject({ status: 'failed', error: { code: 'server_error', message: 'boom' }, output: [] });
  });

  it('a top-level error event → failed with a scrubbed error', () => {
    const out = responseFromEvents([created, { type: 'error', code: 'bad', message: 'Bearer abcdefghijklmnop' }]);
    expect(out).toMatchObject({ id: 'resp_1', status: 'failed', error: { code: 'bad', message: 'Bearer [redacted]' } });
  });

  it('no terminal event → failed stream_closed, built on the latest response', () => {
    const out = responseFromEvents([created, ...messageItem('m', 0, ['Hi there'])]);
    expect(out).toMatchObject({ id: 'resp_1', status: 'failed', error: { code: 'stream_closed' }, output: [msgDone] });
  });

  it('no events at all', () => {
    expect(responseFromEvents([])).toEqual({ object: 'response', status: 'failed', error: { code: 'stream_closed', message: 'stream closed before response.completed' }, output: [] });
  });
});
