import type { EventSourceMessage } from 'eventsource-parser';
import { sameBytes, viewOf } from './byte-ranges.js';
import { eventFromMessage } from './sse.js';
import type { ResponsesEvent } from './types.js';
import { UpstreamFailure } from './types.js';

/** What SseByteEvents hands the events to. */
export interface SseConsumer {
  /** Whether an event of this `event:` name (undefined: none yet) is wanted; declined events are skipped undecoded. */
  wants(eventName: string | undefined): boolean;
  /** A wanted event, parsed. */
  event(event: ResponsesEvent): void;
  /**
   * Offered every wanted event whose data is one line, before it is decoded: returns true
   * when it took the event from the raw bytes (the chat translator's text deltas), false to
   * have it parsed and handed to event() as usual.
   */
  raw?(eventName: string | undefined, data: Buffer): boolean;
  /** An event that is not a JSON object with a type (thrown from feed() when absent). */
  invalid?(failure: UpstreamFailure): void;
  /**
   * Offered at every event boundary (no field of the next event read yet): the consumer may take
   * the whole event that starts at buf[pos] straight from the bytes, framing and all, and returns
   * the index just after its blank line; or -1 to have it framed and handed over as usual. Taking
   * it must have the effect handing it over would have had (the chat text deltas, matched against
   * a template: TextDeltaTemplate). An event cut by the chunk's end (or begun in the last chunk) is
   * never offered whole; it takes the ordinary path. `words` is `buf` as a DataView, to compare
   * four bytes at a time (made once per chunk; not to be kept: it would pin the chunk's memory).
   */
  matchEvent?(buf: Buffer, pos: number, words: DataView): number;
}

/**
 * SSE framing straight on the bytes: the request path's one SSE parser (the streaming
 * translators, the /v1/responses pass-through, the non-streaming collector). Line ends are found
 * with Buffer.indexOf (native memchr) and data lines are kept as views of the chunks, decoded
 * only when the event is parsed. Nothing is decoded or copied for an event `wants` declines by
 * its `event:` name (the pass-through skips the deltas this way; one written the usual way, whole
 * in the chunk, is jumped over at once: skipDeclined), and `raw` may take an event
 * from its bytes without any parse (the chat text deltas). The events it hands over are exactly
 * what SseEvents (eventsource-parser) gives: same framing rules (LF, CRLF or CR line ends,
 * comments, multi-line data, `event:` before or after `data:`, a last event without its blank
 * line at end()), same JSON parsing (eventFromMessage); see the property test.
 * eventsource-parser itself needs decoded text and materialises every data line, which is the
 * work this avoids. (One difference: in an event with two `event:` lines whose first name is
 * declined, the data read meanwhile is gone; the backend never sends two.)
 */
export class SseByteEvents {
  /** The end of a line that did not end in the last chunk. */
  private partial: Buffer | undefined;
  /** The last chunk ended in CR: an LF starting the next one belongs to that line end. */
  private skipLf = false;
  private name: string | undefined;
  /** The current event's data lines, as views of the chunks they came in (decoded at dispatch only). */
  private readonly data: Buffer[] = [];
  private hasData = false;
  /** Data lines of the current event were skipped (its name was known and declined). */
  private skipped = false;
  /** No line of the next event was read yet (matchEvent may be offered). */
  private boundary = true;
  private readonly matches: boolean;

  /** `consumer` is usually the translator itself (its methods, no closures per stream). */
  constructor(private readonly consumer: SseConsumer) {
    this.matches = consumer.matchEvent !== undefined;
  }

  feed(chunk: Buffer): void {
    const buf = chunk;
    let pos = 0;
    if (this.skipLf) {
      this.skipLf = false;
      if (buf.length > 0 && buf[0] === LF) pos = 1;
    }
    const hasCr = buf.indexOf(CR, pos) !== -1;
    if (this.partial) {
      // the line the last chunk cut: only it is joined (not the whole chunk, which may be 64 KiB)
      const eol = lineEnd(buf, pos, hasCr);
      if (eol === -1) {
        this.partial = ownCopy(this.partial, buf.subarray(pos));
        return;
      }
      // its data may be kept until the event's blank line: in memory of its own too
      const line = ownCopy(this.partial, buf.subarray(pos, eol));
      this.partial = undefined;
      this.line(line, 0, line.length);
      pos = this.pastLineEnd(buf, eol);
    }
    /** The chunk as 32-bit words, for matchEvent (made when first needed; never kept past this call: it would pin the chunk's memory). */
    let words: DataView | undefined;
    while (pos < buf.length) {
      if (this.boundary) {
        if (this.matches) {
          words ??= viewOf(buf);
          const next = this.consumer.matchEvent!(buf, pos, words);
          if (next > pos) {
            pos = next;
            continue;
          }
        }
        if (!hasCr && this.head.length > 0 && !this.consumer.wants(this.lastName)) {
          const next = this.skipDeclined(buf, pos);
          if (next !== -1) {
            pos = next;
            continue;
          }
        }
      }
      const eol = lineEnd(buf, pos, hasCr);
      if (eol === -1) {
        this.partial = ownCopy(buf.subarray(pos));
        return;
      }
      this.line(buf, pos, eol);
      pos = this.pastLineEnd(buf, eol);
    }
  }

  /** Where the next line starts after the line end at buf[eol] (CRLF is one line end); a CR that ends the chunk may have its LF in the next one (skipLf). */
  private pastLineEnd(buf: Buffer, eol: number): number {
    if (buf[eol] === CR) {
      if (eol + 1 === buf.length) {
        this.skipLf = true;
        return buf.length;
      }
      if (buf[eol + 1] === LF) return eol + 2;
    }
    return eol + 1;
  }

  /**
   * The end of the event at buf[pos] (the consumer declines the last name read) when it is
   * written the way the backend writes its deltas: a first line
   * `event: <that name>`, at most one more line (its `data:`), the blank line; LF line ends (the
   * caller checked the chunk has no CR); whole in the chunk. Framed line by line such an event has
   * no effect: its name is declined, so a data line is dropped, and a second line that renames it
   * (`event:`) leaves it without data. So it is jumped over with one comparison and one indexOf.
   * The comparison is a byte loop: the line is ~35 bytes, and a DataView of the chunk (for four
   * bytes at a time) costs more to make than that loop (~90 against ~35 ns here; the
   * pass-through's framing, one event per chunk, 50 -> 38 µs per 200-token answer). -1: framed
   * line by line.
   */
  private skipDeclined(buf: Buffer, pos: number): number {
    const head = this.head;
    const second = pos + head.length;
    if (second > buf.length) return -1;
    if (!sameBytes(buf, pos, head)) return -1;
    const eol = buf.indexOf(LF, second);
    if (eol === second) return second + 1; // no second line: that was the blank line
    return eol !== -1 && buf[eol + 1] === LF ? eol + 2 : -1;
  }

  /** The body ended: a last line without its line end counts as a line, and a last event without its blank line is dispatched. */
  end(): void {
    const partial = this.partial;
    this.partial = undefined;
    this.skipLf = false;
    if (partial) this.line(partial, 0, partial.length);
    this.dispatch();
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    this.boundary = false;
    if (buf[start] === COLON) return; // a comment
    let colon = buf.indexOf(COLON, start);
    if (colon === -1 || colon > end) colon = end;
    let valueStart = colon + 1;
    if (valueStart < end && buf[valueStart] === SPACE) valueStart++;
    if (isField(buf, start, colon, DATA)) {
      this.hasData = true;
      if (this.name !== undefined && !this.consumer.wants(this.name)) {
        this.skipped = true;
        return;
      }
      this.data.push(valueStart >= end ? EMPTY : buf.subarray(valueStart, end));
    } else if (isField(buf, start, colon, EVENT)) {
      this.name = valueStart >= end ? undefined : this.eventName(buf, valueStart, end);
    }
    // id, retry and unknown fields carry nothing the pass-through needs
  }

  /** The last event name: consecutive events of one type (the deltas) decode their name once. */
  private lastName = '';
  /** Its line, `event: <name>\n`, in memory of its own (a Buffer this small would be a slice of Node's shared pool, which it would keep alive); empty before the first name. */
  private head: Uint8Array = EMPTY;

  private eventName(buf: Buffer, start: number, end: number): string {
    const head = this.head;
    const at = EVENT_PREFIX.length;
    if (end - start === head.length - at - 1 && head.length > 0 && sameBytes(buf, start, head, at, end - start)) return this.lastName;
    this.lastName = buf.toString('utf8', start, end);
    const line = new Uint8Array(at + (end - start) + 1);
    line.set(EVENT_PREFIX);
    line.set(buf.subarray(start, end), at);
    line[line.length - 1] = LF;
    this.head = line;
    return this.lastName;
  }

  private dispatch(): void {
    const { name, data, hasData, skipped } = this;
    this.boundary = true;
    this.name = undefined;
    this.hasData = false;
    this.skipped = false;
    // the array is reused, emptied here (a new one per event would outlive it, see UpstreamPump.flush)
    if (!hasData || skipped) {
      data.length = 0;
      return;
    }
    const consumer = this.consumer;
    if (!consumer.wants(name)) {
      data.length = 0;
      return;
    }
    const first = data[0]!;
    const text = data.length === 1 ? undefined : data.map((d) => d.toString('utf8')).join('\n');
    data.length = 0;
    if (text === undefined && consumer.raw?.(name, first)) return;
    const message: EventSourceMessage = { event: name, data: text ?? first.toString('utf8'), id: undefined };
    const parsed = eventFromMessage(message);
    if (parsed instanceof UpstreamFailure) {
      if (!consumer.invalid) throw parsed;
      consumer.invalid(parsed);
    } else if (parsed) consumer.event(parsed);
  }
}

/** The first line end (LF, or CR when the chunk has one) in buf from `pos`, or -1. */
function lineEnd(buf: Buffer, pos: number, hasCr: boolean): number {
  const lf = buf.indexOf(LF, pos);
  if (!hasCr) return lf;
  const cr = buf.indexOf(CR, pos);
  return cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
}

/** `parts` joined, in memory of its own: a slice of Node's shared pool (what Buffer.from and concat give for small sizes) would keep its whole 8 KiB block alive while a slow stream waits for the rest of the line. */
function ownCopy(...parts: Buffer[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const copy = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const p of parts) at += p.copy(copy, at);
  return copy;
}

/** Whether buf[start, end) is the field name `name` (given as bytes). */
function isField(buf: Buffer, start: number, end: number, name: Uint8Array): boolean {
  return end - start === name.length && sameBytes(buf, start, name);
}

const EVENT_PREFIX = Buffer.from('event: ', 'latin1');
const DATA = Buffer.from('data', 'latin1');
const EVENT = Buffer.from('event', 'latin1');
const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
