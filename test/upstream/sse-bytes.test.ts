import { describe, expect, it } from 'vitest';
import { SseEvents, eventFromMessage } from '../../src/upstream/sse.js';
import { SseByteEvents } from '../../src/upstream/sse-bytes.js';
import { rng } from '../support/rng.js';

const NAMES = ['response.created', 'response.output_text.delta', 'response.completed', 'response.failed', 'error', undefined];

/** A body of random events: LF / CRLF / CR line ends, comments, ids, multi-line data, data before event, unnamed events, [DONE], non-ASCII text. */
function body(random: () => number): string {
  const eol = ['\n', '\r\n', '\r'][Math.floor(random() * 3)]!;
  let out = random() < 0.3 ? `: keep-alive${eol}${eol}` : '';
  const n = 1 + Math.floor(random() * 12);
  for (let i = 0; i < n; i++) {
    const name = NAMES[Math.floor(random() * NAMES.length)];
    const json = JSON.stringify({ ...(random() < 0.8 && name ? { type: name } : {}), delta: `é ✓ ${i} "q"`, seq: i });
    const lines: string[] = [];
    if (random() < 0.2) lines.push(': comment');
    if (random() < 0.2) lines.push(`id: ${i}`);
    const dataLines = random() < 0.2 ? [json.slice(0, 5), json.slice(5)] : [json];
    const named = name ? [`event: ${name}`] : [];
    if (random() < 0.2) lines.push(...dataLines.map((d) => `data:${d}`), ...named);
    else lines.push(...named, ...dataLines.map((d) => `data: ${d}`));
    if (random() < 0.05) lines.splice(0, lines.length, 'data: [DONE]');
    out += lines.join(eol) + eol + eol;
  }
  return out;
}

/** The bytes cut at random places (also inside multi-byte characters and between CR and LF). */
function chunks(bytes: Buffer, random: () => number, longest = 80): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const len = 1 + Math.floor(random() * (random() < 0.5 ? 4 : longest));
    out.push(bytes.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

describe('SseByteEvents', () => {
  it('hands over the same events as eventsource-parser, for any body and any chunking (300 random cases)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const bytes = Buffer.from(body(random), 'utf8');
      // like the pass-through: every event wanted until two arrived, then only terminal or unnamed ones
      const run = (make: (onEvent: (e: unknown) => void, wants: (n: string | undefined) => boolean) => { feed(b: Buffer): void; end?(): void }, chunkSeed: number) => {
        const out: unknown[] = [];
        const wants = (name: string | undefined) => out.length < 2 || name === undefined || name === 'response.completed' || name === 'error';
        const framer = make((e) => out.push(e), wants);
        for (const c of chunks(bytes, rng(chunkSeed))) framer.feed(c);
        // eventsource-parser holds a final CR back (an LF may follow); the byte framer does not need to
        framer.end?.();
        return out;
      };
      const expected = run((onEvent, wants) => new SseEvents(onEvent, { wants, onInvalid: (f) => onEvent(`invalid: ${f.message}`) }), seed * 7);
      const got = run((onEvent, wants) => new SseByteEvents({ event: onEvent, wants, invalid: (f) => onEvent(`invalid: ${f.message}`) }), seed * 13);
      expect(expected.length).toBeGreaterThan(0);
      expect({ seed, got }).toEqual({ seed, got: expected });
    }
  });

  it('matchEvent: offered at event boundaries only; the events it takes whole and the ones handed over are exactly eventsource-parser\'s (300 random cases)', () => {
    const head = Buffer.from('event: response.output_text.delta\ndata: ');
    let taken = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const bytes = Buffer.from(body(random), 'utf8');
      const run = (make: (onEvent: (e: unknown) => void) => { feed(b: Buffer): void; end?(): void }, chunkSeed: number) => {
        const out: unknown[] = [];
        const framer = make((e) => out.push(e));
        // pieces long enough to hold whole events too
        for (const c of chunks(bytes, rng(chunkSeed), 600)) framer.feed(c);
        framer.end?.();
        return out;
      };
      const expected = run((onEvent) => new SseEvents(onEvent, { onInvalid: (f) => onEvent(`invalid: ${f.message}`) }), seed * 7);
      const got = run(
        (onEvent) =>
          new SseByteEvents({
            event: onEvent,
            wants: () => true,
            invalid: (f) => onEvent(`invalid: ${f.message}`),
            // takes a canonical one-line delta event that is whole in the chunk, as the chat translator's template does
            matchEvent(buf, pos) {
              if (buf.length < pos + head.length || !buf.subarray(pos, pos + head.length).equals(head)) return -1;
              const lineEnd = buf.indexOf(0x0a, pos + head.length);
              if (lineEnd === -1 || buf[lineEnd + 1] !== 0x0a || buf.subarray(pos, lineEnd).includes(0x0d)) return -1;
              onEvent(eventFromMessage({ event: 'response.output_text.delta', data: buf.toString('utf8', pos + head.length, lineEnd), id: undefined }));
              taken++;
              return lineEnd + 2;
            },
          }),
        seed * 13,
      );
      expect({ seed, got }).toEqual({ seed, got: expected });
    }
    expect(taken).toBeGreaterThan(20);
  });

  it('skips the events it does not want without parsing them, and parses the ones it does', () => {
    const got: string[] = [];
    const framer = new SseByteEvents({ event: (e) => got.push(e.type), wants: (n) => n !== 'response.output_text.delta' });
    framer.feed(Buffer.from('event: response.output_text.delta\ndata: {not json\n\nevent: response.completed\ndata: {"type":"response.completed"}\n\n'));
    expect(got).toEqual(['response.completed']);
  });

  it('an invalid event it wants is thrown (or goes to invalid())', () => {
    const framer = new SseByteEvents({ event: () => undefined, wants: () => true });
    expect(() => framer.feed(Buffer.from('event: x\ndata: {oops\n\n'))).toThrow(/not valid JSON/);
  });

  it('end(): a last event without its blank line, or without its line end, is still dispatched (as eventsource-parser does)', () => {
    for (const tail of ['data: {"type":"x","n":1}\n', 'data: {"type":"x","n":1}', 'data: {"type":"x","n":1}\r']) {
      const got: unknown[] = [];
      const expected: unknown[] = [];
      const bytes = Buffer.from(`event: a\ndata: {"type":"a"}\n\n${tail}`);
      const byteFramer = new SseByteEvents({ event: (e) => got.push(e), wants: () => true });
      const textFramer = new SseEvents((e) => expected.push(e));
      for (let i = 0; i < bytes.length; i += 5) {
        byteFramer.feed(bytes.subarray(i, i + 5));
        textFramer.feed(bytes.subarray(i, i + 5));
      }
      byteFramer.end();
      textFramer.end();
      expect(got).toEqual([{ type: 'a' }, { type: 'x', n: 1 }]);
      expect(got).toEqual(expected);
    }
  });

  it('raw: offered the one-line data of wanted events before parsing; true takes the event, false has it parsed', () => {
    const parsed: string[] = [];
    const offered: string[] = [];
    const framer = new SseByteEvents({
      event: (e) => parsed.push(e.type),
      wants: () => true,
      raw: (name, data) => {
        offered.push(`${name}=${data.toString()}`);
        return name === 'taken';
      },
    });
    framer.feed(Buffer.from('event: taken\ndata: not json at all\n\nevent: kept\ndata: {"type":"kept"}\n\ndata: {"type":"two",\ndata: "lines":1}\n\n'));
    expect(offered).toEqual(['taken=not json at all', 'kept={"type":"kept"}']);
    expect(parsed).toEqual(['kept', 'two']);
  });
});
