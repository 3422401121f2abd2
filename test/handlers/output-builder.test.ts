import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputBuilder } from '../../src/handlers/output-builder.js';

type Op = { kind: 'text'; s: string } | { kind: 'bytes'; b: Uint8Array } | { kind: 'range'; b: Uint8Array; start: number; end: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'é', '✓', '😀', '\n'), maxLength: 3000 }).map((s) => ({ kind: 'text' as const, s })),
  fc.uint8Array({ maxLength: 5000 }).map((b) => ({ kind: 'bytes' as const, b })),
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat()).map(([b, x, y]) => {
    const [start, end] = [x % (b.length + 1), y % (b.length + 1)].sort((p, q) => p - q) as [number, number];
    return { kind: 'range' as const, b, start, end };
  }),
);

function apply(builder: OutputBuilder, o: Op): Buffer {
  if (o.kind === 'text') {
    builder.addText(o.s);
    return Buffer.from(o.s, 'utf8');
  }
  if (o.kind === 'bytes') {
    builder.addBytes(o.b);
    return Buffer.from(o.b);
  }
  builder.addRange(o.b, o.start, o.end);
  return Buffer.from(o.b.subarray(o.start, o.end));
}

describe('OutputBuilder', () => {
  it('hands over everything added, in order, as one; empty afterwards (any mix of text, arrays and ranges, over several turns)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), (turns) => {
        const builder = new OutputBuilder();
        for (const ops of turns) {
          const expected = Buffer.concat(ops.map((o) => apply(builder, o)));
          expect(builder.isEmpty).toBe(expected.length === 0);
          const out = builder.take();
          expect(Buffer.from(typeof out === 'string' ? Buffer.from(out, 'utf8') : out).equals(expected)).toBe(true);
          expect(builder.isEmpty).toBe(true);
          expect(builder.take()).toBe('');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('text alone stays a string; one array alone is handed over as it is (not copied); arrays alone are joined once; more is one buffer', () => {
    const builder = new OutputBuilder();
    builder.addText('a');
    builder.addText('b');
    expect(builder.take()).toBe('ab');
    const chunk = Buffer.from('chunk');
    builder.addBytes(chunk);
    expect(builder.take()).toBe(chunk);
    builder.addBytes(chunk);
    builder.addBytes(Buffer.from('!'));
    expect((builder.take() as Buffer).toString()).toBe('chunk!');
    builder.addBytes(chunk);
    builder.addText('é');
    builder.addRange(Buffer.from('xyz'), 1, 2);
    const out = builder.take();
    expect(Buffer.isBuffer(out)).toBe(true);
    expect((out as Buffer).toString('utf8')).toBe('chunkéy');
    // the next turn's buffer is a new one: what was handed over is not written again
    builder.addRange(Buffer.from('zzzzzzz'), 0, 7);
    builder.take();
    expect((out as Buffer).toString('utf8')).toBe('chunkéy');
  });
});
