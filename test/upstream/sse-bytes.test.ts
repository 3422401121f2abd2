import { afterEach, describe, expect, it, vi } from 'vitest';
import { SseEvents, eventFromMessage } from '../../src/upstream/sse.js';
import { SseByteEvents } from '../../src/upstream/sse-bytes.js';
import { rng } from '../support/rng.js';

// with near misses of the deltas' name (one byte changed to `!`: wanted, see `framed`)
const NAMES = ['response.created', 'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delt!', 'respon!e.output_text.delta', 'response.completed', 'response.failed', 'error', undefined];

/**
 * A body of random events: LF / CRLF / CR line ends, comments, ids, multi-line data, data before
 * event, unnamed events, [DONE], non-ASCII text; with `renames`, some events get a second
 * `event:` line (before or after their data), where the byte framer differs from
 * eventsource-parser on purpose (see SseByteEvents).
 */
function body(random: () => number, renames = false): string {
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
    if (renames && random() < 0.3) lines.splice(Math.floor(random() * (lines.length + 1)), 0, `event: ${NAMES[Math.floor(random() * (NAMES.length - 1))]}`);
    if (random() < 0.05) lines.splice(0, lines.length, 'data: [DONE]');
    out += lines.join(eol) + eol + eol;
  }
  return out;
}

/**
 * A run of delta events as the backend writes them (LF line ends), some bent: a longer name, a
 * first line with one byte changed, an extra line
 * (an id, a comment, a second `event:` line naming a wanted event, another data line, an empty
 * data line, a line with a CR in it) at a random place, an event without data, a blank line too many.
 */
function deltaRun(random: () => number): string {
  const extras = ['id: 7', ': note', 'event: response.completed', 'event: error', 'data: {"type":"response.completed","late":1}', 'data:', 'retry: 5', 'data: {"type":"error"}', 'event: response.completed\rdata: {"type":"response.completed","cr":1}'];
  let out = `event: response.created\ndata: {"type":"response.created"}\n\n`;
  const n = 5 + Math.floor(random() * 20);
  for (let i = 0; i < n; i++) {
    let first = 'event: response.output_text.delta';
    // now and then a name that only starts like the deltas' one, or the line with one byte changed to `!` (see `framed`: such names are wanted)
    const bend = random();
    if (bend < 0.1) first += ['s', '_x', '.done'][Math.floor(random() * 3)];
    else if (bend < 0.2) {
      const at = Math.floor(random() * first.length);
      first = `${first.slice(0, at)}!${first.slice(at + 1)}`;
    }
    const lines = [first];
    if (random() < 0.9) lines.push(`data: {"type":"response.output_text.delta","delta":"d${i} é"}`);
    if (random() < 0.25) lines.splice(1 + Math.floor(random() * lines.length), 0, extras[Math.floor(random() * extras.length)]!);
    out += `${lines.join('\n')}\n\n${random() < 0.05 ? '\n' : ''}`;
  }
  return `${out}event: response.completed\ndata: {"type":"response.completed"}\n\n`;
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

type Framer = { feed(b: Buffer): void; end?(): void };
type MakeFramer = (onEvent: (e: unknown) => void, wants: (n: string | undefined) => boolean) => Framer;

/**
 * The events a framer hands over for `bytes` cut into `pieces`, wanted like the pass-through
 * wants them: every event until two arrived, then only terminal or unnamed ones (and, for
 * deltaRun's near misses, names with a `!`).
 */
function framed(make: MakeFramer, pieces: Buffer[]): unknown[] {
  const out: unknown[] = [];
  const wants = (name: string | undefined) => out.length < 2 || name === undefined || name === 'response.completed' || name === 'error' || name.includes('!');
  const framer = make((e) => out.push(e), wants);
  for (const c of pieces) framer.feed(c);
  // eventsource-parser holds a final CR back (an LF may follow); the byte framer does not need to
  framer.end?.();
  return out;
}

const byteFramer: MakeFramer = (onEvent, wants) => new SseByteEvents({ event: onEvent, wants, invalid: (f) => onEvent(`invalid: ${f.message}`) });
const textFramer: MakeFramer = (onEvent, wants) => new SseEvents(onEvent, { wants, onInvalid: (f) => onEvent(`invalid: ${f.message}`) });

/** How often SseByteEvents jumped over a declined event whole (skipDeclined). */
function countSkips(): () => number {
  const spy = vi.spyOn(SseByteEvents.prototype as unknown as { skipDeclined(b: Buffer, p: number): number }, 'skipDeclined');
  return () => spy.mock.results.filter((r) => r.type === 'return' && r.value !== -1).length;
}

/** The byte framer with every event framed line by line (its skipDeclined never takes one). */
const lineByLineFramer: MakeFramer = (onEvent, wants) => Object.assign(byteFramer(onEvent, wants), { skipDeclined: () => -1 });

describe('SseByteEvents', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('hands over the same events as eventsource-parser, for any body and any chunking (300 random cases)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const bytes = Buffer.from(body(rng(seed)), 'utf8');
      const expected = framed(textFramer, chunks(bytes, rng(seed * 7)));
      const got = framed(byteFramer, chunks(bytes, rng(seed * 13)));
      expect(expected.length).toBeGreaterThan(0);
      expect({ seed, got }).toEqual({ seed, got: expected });
    }
  });

  it('declined events whole in a chunk are jumped over (skipDeclined), with the same events handed over as eventsource-parser\'s (300 random cases)', () => {
    const skips = countSkips();
    for (let seed = 1; seed <= 300; seed++) {
      const bytes = Buffer.from(body(rng(seed)), 'utf8');
      const expected = framed(textFramer, chunks(bytes, rng(seed * 7)));
      // pieces long enough to hold whole events, and the body in one piece
      expect({ seed, got: framed(byteFramer, chunks(bytes, rng(seed * 13), 600)) }).toEqual({ seed, got: expected });
      expect({ seed, got: framed(byteFramer, [bytes]) }).toEqual({ seed, got: expected });
    }
    expect(skips()).toBeGreaterThan(30);
  });

  it('jumping over a declined event changes nothing, even where an event is renamed by a second event: line (300 random cases, against the same framing line by line)', () => {
    const skips = countSkips();
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const bytes = Buffer.from(random() < 0.5 ? body(random, true) : deltaRun(random), 'utf8');
      const lineByLine = framed(lineByLineFramer, [bytes]);
      expect({ seed, got: framed(byteFramer, [bytes]) }).toEqual({ seed, got: lineByLine });
      expect({ seed, got: framed(byteFramer, chunks(bytes, rng(seed * 3), 300)) }).toEqual({ seed, got: lineByLine });
    }
    expect(skips()).toBeGreaterThan(1000);
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
