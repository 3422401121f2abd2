import type { Output } from './upstream-pump.js';

const EMPTY = Buffer.alloc(0);
/**
 * The first buffer of a turn's output; it doubles as needed (a turn of a fast upstream can carry
 * a whole answer). Small: a slow stream's turn is one chunk of ~200 bytes, and buffers under
 * 4 KiB come from Node's shared pool, whose 8 KiB blocks live as long as any slice of them.
 */
const FIRST_CAPACITY = 512;

/**
 * The output of one event-loop turn of a stream, built as the translator produces it: text (the
 * translated events), whole byte arrays (the pass-through's chunks, a chunk's fixed parts) and
 * byte ranges copied out of the upstream's chunks (the chat text deltas), in order, handed over
 * as one Output for one socket write. No array of parts per event and no join per event:
 * - text alone stays a string (the socket encodes it as it writes);
 * - whole arrays alone are kept by reference and joined once, at take (one copy; none for one);
 * - anything else goes into one buffer as it comes, allocated for the turn and handed over with
 *   it, so an open stream keeps no buffer between turns.
 */
export class OutputBuilder {
  /** Text that came before anything else (it moves into `buf` once bytes follow). */
  private text = '';
  /** Whole arrays that came before anything else, by reference (they move into `buf` once text or a range follows). */
  private readonly arrays: Uint8Array[] = [];
  private arraysLength = 0;
  private buf: Buffer = EMPTY;
  private used = 0;

  get isEmpty(): boolean {
    return this.used === 0 && this.arrays.length === 0 && this.text.length === 0;
  }

  /** Any output: text or bytes. */
  add(o: Output): void {
    if (typeof o === 'string') this.addText(o);
    else this.addBytes(o);
  }

  addText(s: string): void {
    if (s.length === 0) return;
    if (this.used === 0 && this.arrays.length === 0) {
      this.text += s;
      return;
    }
    this.reserve(s.length * 3);
    this.used += this.buf.write(s, this.used, 'utf8');
  }

  /** All of `b` (referenced until take while only whole arrays came, else copied). */
  addBytes(b: Uint8Array): void {
    if (b.length === 0) return;
    if (this.used === 0 && this.text.length === 0) {
      this.arrays.push(b);
      this.arraysLength += b.length;
      return;
    }
    this.reserve(b.length);
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  /** `b[start, end)`, copied (it is usually a few bytes of a larger chunk: no view is made). */
  addRange(b: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.reserve(n);
    const buf = this.buf;
    let at = this.used;
    for (let i = start; i < end; i++) buf[at++] = b[i]!;
    this.used = at;
  }

  /** Everything added since the last take, as one; the builder is empty afterwards and holds nothing. */
  take(): Output {
    if (this.used > 0) {
      const out = this.buf.subarray(0, this.used);
      this.buf = EMPTY;
      this.used = 0;
      return out;
    }
    const arrays = this.arrays;
    if (arrays.length > 0) {
      const out = arrays.length === 1 ? arrays[0]! : Buffer.concat(arrays, this.arraysLength);
      // emptied, not replaced: the builder lives as long as the stream (see UpstreamPump.flush)
      arrays.length = 0;
      this.arraysLength = 0;
      return out;
    }
    const text = this.text;
    this.text = '';
    return text;
  }

  /** Room for `n` more bytes in `buf`; what was kept as text or as arrays moves into it first. */
  private reserve(n: number): void {
    if (this.used === 0) {
      const text = this.text;
      const arrays = this.arrays;
      const kept = text.length > 0 ? text.length * 3 : this.arraysLength;
      this.buf = Buffer.allocUnsafe(Math.max(2 * (kept + n), FIRST_CAPACITY));
      if (text.length > 0) {
        this.used = this.buf.write(text, 0, 'utf8');
        this.text = '';
      } else if (arrays.length > 0) {
        for (const a of arrays) {
          this.buf.set(a, this.used);
          this.used += a.length;
        }
        arrays.length = 0;
        this.arraysLength = 0;
      }
      return;
    }
    if (this.used + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * (this.used + n), FIRST_CAPACITY));
    next.set(this.buf.subarray(0, this.used), 0);
    this.buf = next;
  }
}
