import { isUtf8 } from 'node:buffer';
import { equalRanges, viewOf } from './byte-ranges.js';
import { QUOTE } from './json-bytes.js';
import { DELTA_SPAN, NUMBER_SPAN, numberEnd, stringEnd, type DeltaSpans } from './text-delta-bytes.js';

/** The SSE framing of a text delta as the backend writes it: the event line, then the data line's field name. */
const EVENT_HEAD = new TextEncoder().encode('event: response.output_text.delta\ndata: ');
const EVENT_HEAD_WORDS = viewOf(EVENT_HEAD);
const LF = 0x0a;
const HIGH = 0x80;

/**
 * One text delta event that readTextDelta accepted, kept as a template for the deltas that follow
 * it: the backend writes every delta of a part the same way, byte for byte, except the delta
 * itself and the counters (sequence_number, obfuscation, …). A later event matches when its bytes
 * are the template's with only those values changed, each still a valid JSON string or number;
 * then it says what the template's event says (same type, item id, indexes: the same part) with
 * its own delta, and no key needs reading, nothing needs decoding and no object is made.
 *
 * A match is exactly as strict as readTextDelta: the fixed bytes are those of an event it
 * accepted, each changed value is checked against JSON's grammar (stringEnd, numberEnd), and the
 * delta must be UTF-8. Anything else (another part, another key order, a changed literal) does not
 * match, and the caller reads the event the ordinary way.
 */
export class TextDeltaTemplate {
  /** The template event's data, and the same as a DataView (equalRanges). */
  private readonly json: Uint8Array;
  private readonly jsonWords: DataView;
  /** `[start, end, kind]` in `json` of each value that may change (DeltaSpans). */
  private readonly spans: Int32Array;
  /** Where the last match's delta literal (with its quotes) is, in the matched bytes. */
  literalStart = 0;
  literalEnd = 0;

  /**
   * `data` is the accepted event's data (copied: the chunk it is in is not kept), `spans` what
   * readTextDelta found in it; `key` is the part it belongs to (what every match belongs to).
   */
  constructor(
    data: Buffer,
    spans: DeltaSpans,
    readonly key: string,
  ) {
    // a copy in its own memory: a small Buffer.from() is a slice of Node's shared 8 KiB pool, and a
    // template living as long as its stream would keep that whole pool block alive
    this.json = new Uint8Array(data);
    this.jsonWords = viewOf(this.json);
    this.spans = Int32Array.from(spans.spans);
  }

  /** A template can be made from the spans of an event readTextDelta accepted (so its one string delta is among them): no key it reads came twice. */
  static usable(spans: DeltaSpans): boolean {
    return !spans.duplicateKey;
  }

  /** The last match's delta is the empty string. */
  get empty(): boolean {
    return this.literalEnd - this.literalStart === 2;
  }

  /**
   * The whole SSE event at b[pos], framing included (`event: response.output_text.delta`, a
   * `data: ` line with this template's data, a blank line, LF line ends): the index just after
   * it, or -1. A JSON string or number holds no line break, so a match is one data line. `words`
   * is `b` as a DataView (the SSE framer makes one per chunk; never kept).
   */
  matchEvent(b: Buffer, pos: number, words: DataView): number {
    const end = b.length;
    if (pos + EVENT_HEAD.length > end) return -1;
    if (!equalRanges(b, words, pos, EVENT_HEAD, EVENT_HEAD_WORDS, 0, EVENT_HEAD.length)) return -1;
    const p = this.matchJson(b, words, pos + EVENT_HEAD.length, end);
    return p >= 0 && p + 2 <= end && b[p] === LF && b[p + 1] === LF ? p + 2 : -1;
  }

  /** Whether `data` (one event's whole data) is this template's event with other values. */
  matchData(data: Buffer): boolean {
    return this.matchJson(data, viewOf(data), 0, data.length) === data.length;
  }

  /** Matches the template's data at b[p] (ending by `end`): the index after it, or -1. */
  private matchJson(b: Buffer, words: DataView, p: number, end: number): number {
    const t = this.json;
    const tWords = this.jsonWords;
    const spans = this.spans;
    let at = 0;
    for (let s = 0; s < spans.length; s += 3) {
      const from = spans[s]!;
      const n = from - at;
      if (p + n > end || !equalRanges(b, words, p, t, tWords, at, n)) return -1;
      p += n;
      at = spans[s + 1]!;
      const kind = spans[s + 2]!;
      if (kind === NUMBER_SPAN) {
        p = numberEnd(b, p, end);
      } else {
        if (b[p] !== QUOTE) return -1;
        const v0 = p;
        p = stringEnd(b, p, end);
        if (kind === DELTA_SPAN) {
          this.literalStart = v0;
          this.literalEnd = p;
        }
      }
      if (p < 0) return -1;
    }
    const n = t.length - at;
    if (p + n > end || !equalRanges(b, words, p, t, tWords, at, n)) return -1;
    // the literal goes to the client as it is: it must be UTF-8 (the ordinary path would replace bad bytes)
    for (let k = this.literalStart; k < this.literalEnd; k++) {
      if (b[k]! >= HIGH) return isUtf8(b.subarray(this.literalStart, this.literalEnd)) ? p + n : -1;
    }
    return p + n;
  }
}
