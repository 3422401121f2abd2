/**
 * TextDeltaTemplate is held to readTextDelta and JSON.parse: an event it matches is one
 * readTextDelta accepts, with the same delta, and one JSON.parse reads as the template's event
 * (same type, item id, indexes) with another delta; and the deltas a backend writes after the
 * first (same layout, other delta, other counters) it does match, so the fast path is taken.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTextDelta, type DeltaSpans } from '../../src/upstream/text-delta-bytes.js';
import { TextDeltaTemplate } from '../../src/upstream/text-delta-template.js';

type Layout = Array<{ key: string; value: (v: Values) => string }>;
interface Values {
  delta: string;
  seq: number;
  obfuscation: string;
}

const literal = (s: string) => JSON.stringify(s);
const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '\n', '\u0001', 'é', '✓', '😀', '/', '0'), maxLength: 10 });
const values: fc.Arbitrary<Values> = fc.record({ delta: text, seq: fc.nat(100000), obfuscation: fc.string({ maxLength: 8 }) });

/** A delta event's keys in any order, some optional, with constant and changing values. */
const layout: fc.Arbitrary<{ members: Layout; ws: string }> = fc
  .record({
    order: fc.shuffledSubarray(['type', 'item_id', 'output_index', 'content_index', 'logprobs', 'sequence_number', 'obfuscation', 'flag'], { minLength: 0 }),
    deltaAt: fc.nat(9),
    itemId: fc.constantFrom('"msg_1"', '"msg_é"', 'null'),
    index: fc.constantFrom('0', '1', '12'),
    ws: fc.constantFrom('', ' ', '\t'),
  })
  .map(({ order, deltaAt, itemId, index, ws }) => {
    const member: Record<string, (v: Values) => string> = {
      type: () => '"response.output_text.delta"',
      item_id: () => itemId,
      output_index: () => index,
      content_index: () => '0',
      logprobs: () => '[]',
      sequence_number: (v) => String(v.seq),
      obfuscation: (v) => literal(v.obfuscation),
      flag: () => 'true',
    };
    const members: Layout = order.map((key) => ({ key, value: member[key]! }));
    members.splice(deltaAt % (members.length + 1), 0, { key: 'delta', value: (v) => literal(v.delta) });
    return { members, ws };
  });

function write(l: { members: Layout; ws: string }, v: Values): Buffer {
  return Buffer.from(`{${l.members.map((m) => `${l.ws}"${m.key}":${l.ws}${m.value(v)}`).join(',')}}`, 'utf8');
}

function templateOf(data: Buffer): TextDeltaTemplate | undefined {
  const spans: DeltaSpans = { spans: [], duplicateKey: false };
  const d = readTextDelta(data, spans);
  if (!d || !TextDeltaTemplate.usable(spans)) return undefined;
  return new TextDeltaTemplate(data, spans, 'key');
}

/** What JSON.parse reads from an event, but for the delta and the counters. */
function fixedPart(data: Buffer): unknown {
  const { delta: _d, sequence_number: _s, obfuscation: _o, ...rest } = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  return rest;
}

/** Whatever the template matches, readTextDelta and JSON.parse read as the template's event with the candidate's delta. */
function agrees(template: TextDeltaTemplate, first: Buffer, candidate: Buffer): boolean {
  if (!template.matchData(candidate)) return false;
  const parsed = JSON.parse(candidate.toString('utf8')) as Record<string, unknown>;
  expect(fixedPart(candidate)).toEqual(fixedPart(first));
  const literalText = candidate.toString('utf8', template.literalStart, template.literalEnd);
  expect(JSON.parse(literalText)).toBe(parsed['delta']);
  expect(template.empty).toBe(parsed['delta'] === '');
  expect(readTextDelta(candidate)?.literal.toString('utf8')).toBe(literalText);
  return true;
}

/** `b` as the DataView the SSE framer hands matchEvent. */
function wordsOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

/** matchEvent at the start of `b`, in a buffer of its own placed at an odd offset of a larger one (word reads must not assume alignment). */
function matchAt(template: TextDeltaTemplate, b: Buffer): number {
  const host = Buffer.alloc(b.length + 3);
  b.copy(host, 3);
  const view = host.subarray(3);
  return template.matchEvent(view, 0, wordsOf(view));
}

describe('TextDeltaTemplate', () => {
  it('matches the same layout with another delta and other counters, reading it as JSON.parse does', () => {
    fc.assert(
      fc.property(layout, values, values, (l, a, b) => {
        const first = write(l, a);
        const template = templateOf(first);
        expect(template).toBeDefined();
        expect(agrees(template!, first, write(l, b))).toBe(true);
        expect(agrees(template!, first, first)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never matches what JSON.parse refuses or reads differently (damaged or changed events)', () => {
    const junk = fc.constantFrom('"', '\\', '\u0001', ',', '}', '{', ':', ' ', 'x', '\\u12', '\\x', '01', '-', '.', '1', 'e', '\n', '\r');
    fc.assert(
      fc.property(layout, values, values, fc.nat(), junk, fc.constantFrom('insert', 'replace', 'cut'), (l, a, b, at, j, how) => {
        const first = write(l, a);
        const template = templateOf(first)!;
        const good = write(l, b).toString('utf8');
        const pos = at % (good.length + 1);
        const bad = how === 'cut' ? good.slice(0, pos) : good.slice(0, pos) + j + good.slice(pos + (how === 'replace' ? 1 : 0));
        let valid = true;
        try {
          JSON.parse(bad);
        } catch {
          valid = false;
        }
        const bytes = Buffer.from(bad, 'utf8');
        if (!valid) expect(template.matchData(bytes)).toBe(false);
        else agrees(template, first, bytes);
      }),
      { numRuns: 4000 },
    );
  });

  it('does not match another part, another type, or a delta that is not UTF-8', () => {
    const first = Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"a","sequence_number":4}');
    const template = templateOf(first)!;
    expect(template.matchData(Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"bc","sequence_number":5}'))).toBe(true);
    expect(template.matchData(Buffer.from('{"type":"response.output_text.delta","item_id":"msg_2","output_index":0,"content_index":0,"delta":"b","sequence_number":5}'))).toBe(false);
    expect(template.matchData(Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":1,"delta":"b","sequence_number":5}'))).toBe(false);
    expect(template.matchData(Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"b","sequence_number":"5"}'))).toBe(false);
    const bad = Buffer.concat([Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","sequence_number":5}')]);
    expect(template.matchData(bad)).toBe(false);
    const accented = Buffer.from('{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"é✓😀","sequence_number":5}');
    expect(template.matchData(accented)).toBe(true);
  });

  it('no template from an event that names a key it reads twice', () => {
    expect(templateOf(Buffer.from('{"delta":"a","delta":"b"}'))).toBeUndefined();
    expect(templateOf(Buffer.from('{"item_id":"x","delta":"a","item_id":"y"}'))).toBeUndefined();
    expect(templateOf(Buffer.from('{"sequence_number":1,"delta":"a","sequence_number":2}'))).toBeDefined();
  });

  it('matchEvent: the whole SSE event, LF framing only, never past the chunk', () => {
    const data = '{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"a","sequence_number":4}';
    const template = templateOf(Buffer.from(data))!;
    const event = (d: string, framing = (x: string) => `event: response.output_text.delta\ndata: ${x}\n\n`) => framing(d);
    const next = data.replace('"a"', '"xyz"').replace(':4}', ':5}');
    const buf = Buffer.from(`: comment\n\n${event(next)}tail`);
    const at = buf.indexOf('event:');
    expect(template.matchEvent(buf, at, wordsOf(buf))).toBe(at + event(next).length);
    expect(buf.toString('utf8', template.literalStart, template.literalEnd)).toBe('"xyz"');
    expect(matchAt(template, Buffer.from(event(next).slice(0, -1)))).toBe(-1);
    expect(matchAt(template, Buffer.from(event(next, (x) => `event: response.output_text.delta\r\ndata: ${x}\r\n\r\n`)))).toBe(-1);
    expect(matchAt(template, Buffer.from(event(next, (x) => `event: response.output_text.delta\ndata:${x}\n\n`)))).toBe(-1);
    expect(matchAt(template, Buffer.from(event(next, (x) => `event: response.output_text.delta\ndata: ${x}\nid: 7\n\n`)))).toBe(-1);
    expect(matchAt(template, Buffer.from(event(next, (x) => `event: response.output_text.done\ndata: ${x}\n\n`)))).toBe(-1);
  });
  it('matchEvent: a change of any one byte outside the values (framing, keys, fixed values) is no match, wherever it falls in a 32-bit word', () => {
    const data = '{"type":"response.output_text.delta","item_id":"msg_0123456789abcdef","output_index":0,"content_index":0,"delta":"a","logprobs":[],"obfuscation":"k1","sequence_number":4}';
    const template = templateOf(Buffer.from(data))!;
    const event = `event: response.output_text.delta\ndata: ${data.replace('"a"', '"xyz"').replace('"k1"', '"Zq9"').replace(':4}', ':15}')}\n\n`;
    expect(matchAt(template, Buffer.from(event))).toBe(event.length);
    // the values that may change: the delta, the obfuscation, the sequence number
    const values = ['"xyz"', '"Zq9"', ':15'].map((v) => [event.indexOf(v) + (v.startsWith(':') ? 1 : 0), event.indexOf(v) + v.length] as const);
    const inValue = (i: number) => values.some(([from, to]) => i >= from && i < to);
    let checked = 0;
    for (let i = 0; i < event.length; i++) {
      if (inValue(i)) continue;
      for (const c of ['!', String.fromCharCode(event.charCodeAt(i) ^ 0x20)]) {
        if (c === event[i]) continue;
        const changed = Buffer.from(event.slice(0, i) + c + event.slice(i + 1), 'latin1');
        expect(matchAt(template, changed), `byte ${i} (${JSON.stringify(event[i])} → ${JSON.stringify(c)})`).toBe(-1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2 * 200);
  });
});
