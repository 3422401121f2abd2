/**
 * readTextDelta is held to JSON.parse: whatever it accepts, JSON.parse accepts too and reads the
 * same way (type, delta, item_id, the indexes); and the events the backend sends (flat, any key
 * order, any escaping, any whitespace) it does accept, so the chat fast path is really taken.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTextDelta } from '../../src/upstream/text-delta-bytes.js';

/** A JSON string literal for `s`, each character written in one of the ways JSON allows. */
function encode(s: string, style: number[]): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    const pick = style[i % style.length]!;
    const u = `\\u${code.toString(16).padStart(4, '0')}`;
    if (ch === '"') out += pick % 2 ? '\\"' : '\\u0022';
    else if (ch === '\\') out += pick % 2 ? '\\\\' : '\\u005C';
    else if (ch === '\n') out += pick % 2 ? '\\n' : u;
    else if (ch === '\t') out += pick % 2 ? '\\t' : u.toUpperCase().replace('\\U', '\\u');
    else if (code < 0x20) out += u;
    else if (ch === '/') out += pick % 3 === 0 ? '\\/' : '/';
    else if (code >= 0xd800 && code <= 0xdfff) out += u; // lone or paired surrogates: escaped, so the bytes stay UTF-8
    else out += pick % 5 === 0 ? u : ch;
  }
  return `${out}"`;
}

const text = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '/', '\n', '\t', '\u0001', 'é', '✓', '😀', '\u2028', '\ud800', ' ', 'a', 'Z', '0'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 12 });
const ws = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');
const number = fc.constantFrom('0', '3', '12', '-1', '1.5', '1e2', '2E+1', '1e400', '-0', '0.0');

interface Member {
  key: string;
  value: string;
  /** The value has nested content the reader hands to JSON.parse. */
  nested?: boolean;
  /** The key is written with an escape (left to JSON.parse). */
  escapedKey?: boolean;
}

const member: fc.Arbitrary<Member> = fc.oneof(
  fc.record({ key: fc.constant('type'), value: fc.constantFrom('"response.output_text.delta"', '"response.output_text.delta"', '"response.output_text.done"', '"response.output_text.d\\u0065lta"') }),
  fc.tuple(text, fc.array(fc.nat(9), { minLength: 1, maxLength: 4 })).map(([s, style]) => ({ key: 'delta', value: encode(s, style) })),
  fc.record({ key: fc.constant('delta'), value: fc.constantFrom('null', '5', '[]') }),
  fc.record({ key: fc.constant('item_id'), value: fc.constantFrom('"msg_1"', '"msg_2"', '"mé"', '"m\\u0031"', 'null', '7') }),
  fc.record({ key: fc.constantFrom('output_index', 'content_index'), value: fc.oneof(number, fc.constantFrom('"1"', 'null', 'true')) }),
  fc.record({ key: fc.constant('logprobs'), value: fc.constantFrom('[]', '[ ]', '{}') }),
  fc.record({ key: fc.constant('logprobs'), value: fc.constantFrom('[{"token":"a"}]', '[1,2]', '{"a":[]}'), nested: fc.constant(true) }),
  fc.record({ key: fc.constantFrom('sequence_number', 'obfuscation', 'x'), value: fc.oneof(number, fc.constantFrom('"abc"', 'false', 'null', '"\\u00e9"')) }),
  // another spelling of a key it reads: JSON.parse takes it as that key
  fc.record({ key: fc.constantFrom('t\\u0079pe', 'd\\u0065lta', 'item\\u005fid', 'x\\u0079'), value: fc.constantFrom('"x"', '"response.output_text.delta"', '7'), escapedKey: fc.constant(true) }),
);

function serialise(members: Member[], spaces: string[]): string {
  const sp = (i: number) => spaces[i % spaces.length]!;
  return `${sp(0)}{${members.map((m, i) => `${sp(i + 1)}"${m.key}"${sp(i + 2)}:${sp(i + 3)}${m.value}${sp(i + 4)}`).join(',')}}${sp(members.length)}`;
}

/** What the event readers make of a field: a finite number, else undefined. */
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function agreesWithJsonParse(bytes: Buffer): boolean {
  const got = readTextDelta(bytes);
  if (!got) return false;
  const parsed = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  expect(parsed['type'] === undefined || parsed['type'] === 'response.output_text.delta').toBe(true);
  expect(typeof parsed['delta']).toBe('string');
  expect(JSON.parse(got.literal.toString('utf8'))).toBe(parsed['delta']);
  expect(got.empty).toBe(parsed['delta'] === '');
  const itemId = got.itemIdStart < 0 ? undefined : bytes.toString('utf8', got.itemIdStart, got.itemIdEnd);
  expect(itemId).toBe(typeof parsed['item_id'] === 'string' ? parsed['item_id'] : undefined);
  expect(got.outputIndex).toBe(num(parsed['output_index']));
  expect(got.contentIndex).toBe(num(parsed['content_index']));
  return true;
}

describe('readTextDelta', () => {
  it('reads what JSON.parse reads, and takes every flat delta event (any order, escaping, whitespace)', () => {
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 9 }), fc.array(ws, { minLength: 1, maxLength: 5 }), (members, spaces) => {
        const bytes = Buffer.from(serialise(members, spaces), 'utf8');
        const accepted = agreesWithJsonParse(bytes);
        // the last of duplicate keys wins, as in JSON.parse
        const last = new Map(members.map((m) => [m.key, m]));
        const plain =
          !members.some((m) => m.nested || m.escapedKey) &&
          !(last.get('item_id')?.value.includes('\\') ?? false) &&
          last.get('delta')?.value.startsWith('"') === true &&
          (last.get('type') === undefined || last.get('type')!.value === '"response.output_text.delta"');
        if (plain) expect(accepted).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('never accepts what JSON.parse refuses (damaged events)', () => {
    const damage = fc.constantFrom('"', '\\', '\u0001', ',', '}', '{', ':', ' ', 'x', '\\u12', '\\x', '01', '-', '.');
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 6 }), fc.nat(), damage, fc.boolean(), (members, at, junk, cut) => {
        const good = serialise(members, ['']);
        const pos = at % (good.length + 1);
        const bad = cut ? good.slice(0, pos) : good.slice(0, pos) + junk + good.slice(pos);
        const bytes = Buffer.from(bad, 'utf8');
        let valid = true;
        try {
          JSON.parse(bad);
        } catch {
          valid = false;
        }
        if (!valid) expect(readTextDelta(bytes)).toBeUndefined();
        else agreesWithJsonParse(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves to JSON.parse: a delta that is not UTF-8, escaped keys, other types, a missing delta', () => {
    const bad = Buffer.concat([Buffer.from('{"type":"response.output_text.delta","delta":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expect(readTextDelta(bad)).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"d\\u0065lta":"x"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"delta":"a","d\\u0065lta":"b"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"type":"response.output_text.delta","t\\u0079pe":"x","delta":"a"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"type":"response.completed","delta":"x"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"type":"response.output_text.delta"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('[DONE]'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"delta":"ok","item_id":"m\\u0031"}'))).toBeUndefined();
    expect(readTextDelta(Buffer.from('{"delta":"o\\u006b"}'))).toMatchObject({ empty: false, itemIdStart: -1 });
  });
});
