import { describe, expect, it } from 'vitest';
import { argumentDeltas, firstJsonObject, planReply, textDeltas } from '../../src/sandbox/model-replies.js';

const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const tool = (name: string) => ({ type: 'function', name, parameters: {} });

describe('deterministic model', () => {
  it('finds the first JSON object, skipping braces that are not JSON', () => {
    expect(firstJsonObject('set {not json} then {"a": {"b": "}"}} and {"c":1}')).toBe('{"a":{"b":"}"}}');
    expect(firstJsonObject('no object here')).toBeUndefined();
    expect(firstJsonObject('["array"] only')).toBeUndefined();
  });

  it('uses the last user message, not earlier ones or developer messages', () => {
    const plan = planReply({ input: [user('Return first.'), { type: 'message', role: 'developer', content: 'Return dev.' }, user('Return second.')] });
    expect(plan.items).toEqual([{ type: 'message', text: 'second' }]);
  });

  it("Claude Code's system reminders are context: skipped when finding the last item, left out of the user text", () => {
    const reminder = { type: 'input_text', text: '<system-reminder>\nUse tools wisely. Bash.\n</system-reminder>' };
    const withReminder = { type: 'message', role: 'user', content: [reminder, { type: 'input_text', text: 'Return OK.' }] };
    const systemAfter = { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'late system text' }] };
    expect(planReply({ input: [withReminder, systemAfter], tools: [tool('Agent'), tool('Bash')] }).items).toEqual([{ type: 'message', text: 'OK' }]);
    expect(planReply({ input: [{ ...withReminder, content: [reminder, { type: 'input_text', text: 'Use Bash {"command":"ls"}' }] }], tools: [tool('Agent'), tool('Bash')] }).items).toEqual([
      { type: 'function_call', name: 'Bash', arguments: '{"command":"ls"}' },
    ]);
    const toolOutput = { type: 'function_call_output', call_id: 'c', output: 'done' };
    const remindersOnly = { type: 'message', role: 'user', content: [reminder] };
    expect(planReply({ input: [withReminder, toolOutput, remindersOnly], tools: [tool('Bash')] }).items).toEqual([{ type: 'message', text: 'Tool result: done' }]);
  });

  it('Return X wins over tools; tool_choice none and a forced tool are honoured', () => {
    expect(planReply({ input: [user('Return OK.')], tools: [tool('shell')] }).items).toEqual([{ type: 'message', text: 'OK' }]);
    expect(planReply({ input: [user('hi')], tools: [tool('shell')], tool_choice: 'none' }).items).toEqual([{ type: 'message', text: 'Echo: hi' }]);
    expect(planReply({ input: [user('hi shell')], tools: [tool('shell'), tool('grep')], tool_choice: { type: 'function', name: 'grep' } }).items).toEqual([
      { type: 'function_call', name: 'grep', arguments: '{}' },
    ]);
  });

  it('a function_call_output with content parts becomes "Tool result: …"', () => {
    const plan = planReply({ input: [user('x'), { type: 'function_call_output', call_id: 'c', output: [{ type: 'input_text', text: 'done' }] }] });
    expect(plan.items).toEqual([{ type: 'message', text: 'Tool result: done' }]);
  });

  it('json_schema wraps the reply; reasoning needs effort above minimal and a summary', () => {
    expect(planReply({ input: [user('hello')], text: { format: { type: 'json_schema', name: 'x', schema: {} } } }).items).toEqual([
      { type: 'message', text: '{"answer":"Echo: hello"}' },
    ]);
    const long = 'a'.repeat(60);
    expect(planReply({ input: [user(long)], reasoning: { effort: 'high', summary: 'detailed' } }).items[0]).toEqual({ type: 'reasoning', summary: `Thinking about: ${'a'.repeat(40)}` });
    expect(planReply({ input: [user('x')], reasoning: { effort: 'high' } }).items.map((i) => i.type)).toEqual(['message']);
    // no summary asked for: the model still reasons, visible only as encrypted content
    expect(planReply({ input: [user('x')], reasoning: { effort: 'high' }, include: ['reasoning.encrypted_content'] }).items[0]).toEqual({ type: 'reasoning', summary: '' });
  });

  it('splits text on spaces and arguments into at least two deltas', () => {
    expect(textDeltas('a b  c')).toEqual(['a', ' b', ' ', ' c']);
    expect(textDeltas('')).toEqual([]);
    expect(argumentDeltas('{}')).toEqual(['{', '}']);
    const long = JSON.stringify({ k: 'v'.repeat(50) });
    expect(argumentDeltas(long).join('')).toBe(long);
    expect(argumentDeltas(long).length).toBeGreaterThanOrEqual(2);
  });
});
