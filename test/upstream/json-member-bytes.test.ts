/**
 * jsonObjectMembers is held to JSON.parse, step by step along a path of keys: on any well-formed document (any key order, any
 * whitespace, strings full of quotes, backslashes and look-alike `"usage":{` text) it finds the
 * same value at the path JSON.parse does, or gives undefined where the path is missing, goes
 * through something that is not an object, or is ambiguous; and on damaged bytes (cut off,
 * unbalanced, trailing garbage) it gives undefined rather than a wrong value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonObjectMembers } from '../../src/upstream/json-member-bytes.js';

/** The bytes at `path`, one jsonObjectMembers step per key (as the pass-through reads response.usage). */
function jsonMemberBytes(data: Buffer, path: readonly string[]): Buffer | undefined {
  let cur: Buffer | undefined = data;
  for (const key of path) {
    cur = jsonObjectMembers(cur, [key])?.[0];
    if (cur === undefined) return undefined;
  }
  return cur;
}

const tricky = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '{', '}', '[', ']', ':', ',', '"usage":{', '"response":', '\\"', '\n', 'é', '😀', ' '), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 16 });
const key = fc.oneof(fc.constantFrom('response', 'usage', 'id', 'output', 'input_tokens', 'usag', 'responses'), tricky);

/** Any JSON value, nested a few levels, with keys that often collide with the path. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 5 }),
  ),
})).v;

/** JSON text for `v` with random whitespace between tokens (JSON.stringify with an indent, or none). */
function write(v: unknown, indent: number): string {
  return JSON.stringify(v, null, indent);
}

function expected(doc: unknown, path: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

const read = (text: string, path: readonly string[]) => {
  const bytes = jsonMemberBytes(Buffer.from(text, 'utf8'), path);
  return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as unknown);
};

describe('jsonObjectMembers', () => {
  it('reads the value JSON.parse reads at the path, in any well-formed document', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 6 }),
        fc.option(fc.dictionary(key, value, { maxKeys: 6 }), { nil: undefined }),
        fc.option(value, { nil: undefined }),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom<readonly string[]>(['response', 'usage'], ['response', 'id'], ['response'], ['usage']),
        (outer, response, usage, indent, path) => {
          const doc: Record<string, unknown> = { ...outer };
          if (response !== undefined) {
            doc['response'] = { ...response };
            if (usage !== undefined) (doc['response'] as Record<string, unknown>)['usage'] = usage;
          }
          const text = write(doc, indent);
          // a value JSON.stringify drops (-0 → 0) reads back equal through JSON either way
          expect(read(text, path)).toEqual(expected(JSON.parse(text), path));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('finds usage in a response.completed event and skips the look-alikes inside strings', () => {
    const event = {
      type: 'response.completed',
      sequence_number: 9,
      response: {
        id: 'resp_1',
        instructions: 'say "usage":{"input_tokens":999} and \\"usage\\":{}',
        output: [{ type: 'message', content: [{ type: 'output_text', text: '{"usage":{"output_tokens":1}}' }] }],
        tools: [{ name: 'x', parameters: { properties: { usage: { type: 'object' } } } }],
        usage: { input_tokens: 12, output_tokens: 34, total_tokens: 46 },
      },
    };
    expect(read(JSON.stringify(event), ['response', 'usage'])).toEqual({ input_tokens: 12, output_tokens: 34, total_tokens: 46 });
    expect(read(JSON.stringify(event), ['response', 'id'])).toBe('resp_1');
  });

  it('reads a key written with escapes as JSON.parse does', () => {
    expect(read('{"response":{"us\\u0061ge":{"a":1}}}', ['response', 'usage'])).toEqual({ a: 1 });
    expect(read('{"respons\\u0065":{"\\"":2,"usage":{"a":1}}}', ['response', 'usage'])).toEqual({ a: 1 });
  });

  it('gives undefined where it cannot be sure: a duplicated key, damaged bytes', () => {
    expect(read('{"response":{"usage":{"a":1},"usage":{"a":2}}}', ['response', 'usage'])).toBeUndefined();
    expect(read('{"response":{"usage":{"a":1},"us\\u0061ge":{"a":2}}}', ['response', 'usage'])).toBeUndefined();
    expect(read('{"response":{"usage":{"a":1}}', ['response', 'usage'])).toBeUndefined();
    expect(read('{"response":{"usage":{"a":1}}} x', ['response', 'usage'])).toBeUndefined();
    expect(read('{"response":{"usage":{"a":"1}}}', ['response', 'usage'])).toBeUndefined();
    expect(read('{"response":[{"usage":1}]}', ['response', 'usage'])).toBeUndefined();
    expect(read('', ['response'])).toBeUndefined();
    // every cut of a good document
    const good = JSON.stringify({ type: 'response.completed', response: { id: 'r', usage: { input_tokens: 1 } } });
    for (let n = 0; n < good.length; n++) expect(read(good.slice(0, n), ['response', 'usage'])).toBeUndefined();
  });
});
