import type { EventSourceMessage } from 'eventsource-parser';
import { eventFromMessage } from './sse.js';
import type { ResponsesEvent } from './types.js';
import { UpstreamFailure } from './types.js';

/**
 * SSE framing straight on the bytes, for the /v1/responses pass-through, which forwards the
 * bytes unchanged and only needs a few events (the prelude, the first content event, the
 * terminal one). Line ends are found with Buffer.indexOf (native memchr); nothing is decoded or
 * copied for an event `wants` declines by its `event:` name, which is nearly every event of a
 * stream once content started (the deltas). The events it keeps are handed over exactly as
 * SseEvents (eventsource-parser) would: same framing rules (LF, CRLF or CR line ends, comments,
 * multi-line data, `event:` before or after `data:`), same JSON parsing (eventFromMessage).
 * eventsource-parser itself needs decoded text and materialises every data line, which is the
 * work this avoids; for everything that is parsed, the two agree (see the property test).
 * (One difference: in an event with two `event:` lines whose first name is declined, the data
 * read meanwhile is gone; the backend never sends two.)
 */
export class SseByteEvents {
  /** The end of a line that did not end in the last chunk. */
  private partial: Buffer | undefined;
  /** The last chunk ended in CR: an LF starting the next one belongs to that line end. */
  private skipLf = false;
  private name: string | undefined;
  private data: string[] = [];
  private hasData = false;
  /** Data lines of the current event were skipped (its name was known and declined). */
  private skipped = false;

  constructor(
    private readonly onEvent: (event: ResponsesEvent) => void,
    private readonly opts: { wants: (eventName: string | undefined) => boolean; onInvalid?: (failure: UpstreamFailure) => void },
  ) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.skipLf) {
      this.skipLf = false;
      if (buf.length > 0 && buf[0] === LF) pos = 1;
    }
    if (this.partial) {
      buf = Buffer.concat([this.partial, buf.subarray(pos)]);
      pos = 0;
      this.partial = undefined;
    }
    const hasCr = buf.indexOf(CR, pos) !== -1;
    while (pos < buf.length) {
      let eol = buf.indexOf(LF, pos);
      if (hasCr) {
        const cr = buf.indexOf(CR, pos);
        if (cr !== -1 && (eol === -1 || cr < eol)) eol = cr;
      }
      if (eol === -1) {
        this.partial = Buffer.from(buf.subarray(pos));
        return;
      }
      this.line(buf, pos, eol);
      if (buf[eol] === CR) {
        if (eol + 1 === buf.length) {
          this.skipLf = true;
          return;
        }
        if (buf[eol + 1] === LF) eol++;
      }
      pos = eol + 1;
    }
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    if (buf[start] === COLON) return; // a comment
    let colon = buf.indexOf(COLON, start);
    if (colon === -1 || colon > end) colon = end;
    const field = buf.toString('latin1', start, colon);
    let valueStart = colon + 1;
    if (valueStart < end && buf[valueStart] === SPACE) valueStart++;
    if (field === 'data') {
      this.hasData = true;
      if (this.name !== undefined && !this.opts.wants(this.name)) {
        this.skipped = true;
        return;
      }
      this.data.push(valueStart >= end ? '' : buf.toString('utf8', valueStart, end));
    } else if (field === 'event') {
      this.name = valueStart >= end ? undefined : buf.toString('utf8', valueStart, end);
    }
    // id, retry and unknown fields carry nothing the pass-through needs
  }

  private dispatch(): void {
    const { name, data, hasData, skipped } = this;
    this.name = undefined;
    this.data = [];
    this.hasData = false;
    this.skipped = false;
    if (!hasData || skipped) return;
    if (!this.opts.wants(name)) return;
    const message: EventSourceMessage = { event: name, data: data.join('\n'), id: undefined };
    const parsed = eventFromMessage(message);
    if (parsed instanceof UpstreamFailure) {
      if (!this.opts.onInvalid) throw parsed;
      this.opts.onInvalid(parsed);
    } else if (parsed) this.onEvent(parsed);
  }
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
