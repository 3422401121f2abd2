import { isUtf8 } from 'node:buffer';
import { sameBytes } from './byte-ranges.js';
import { BACKSLASH, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, WS } from './json-bytes.js';

/**
 * A `response.output_text.delta` event read straight from its data bytes, without JSON.parse:
 * the chat translator's fast path for the events that make up nearly all of a streamed answer
 * (about a third of the cost of decoding and parsing them, and no garbage). The delta comes back
 * as the upstream's own JSON string literal (quotes and escapes as they were), so the chat chunk
 * carries it unchanged: no decoding, no re-encoding.
 *
 * Strict: it takes only what JSON.parse would take and reads it the same way (the last of
 * duplicate keys wins; every string, escape and number is checked against JSON's grammar).
 * Whatever it does not fully handle gives undefined, and the caller parses the event the
 * ordinary way: nested arrays or objects that are not empty, an escaped key, a `type` other than
 * the text delta's (or written with escapes), a missing or non-string delta, a delta that is not
 * UTF-8. The property test holds it to JSON.parse.
 */
export interface RawTextDelta {
  /** The delta as a JSON string literal (with its quotes), a view of the data bytes. */
  literal: Buffer;
  /** The delta is the empty string. */
  empty: boolean;
  /** Where item_id's characters are in the data (between its quotes); -1 when absent or not a string. */
  itemIdStart: number;
  itemIdEnd: number;
  /** undefined when absent or not a finite number (as the event readers treat it). */
  outputIndex: number | undefined;
  contentIndex: number | undefined;
}

/** Bytes that stand for themselves inside a JSON string: not a control character, quote or backslash. */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 0x20 && c !== QUOTE && c !== BACKSLASH ? 1 : 0));
const HEX = new Uint8Array(256).map((_, c) => ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) ? 1 : 0));
/** The characters after a backslash other than `u`: \" \\ \/ \b \f \n \r \t */
const ESC = new Uint8Array(256).map((_, c) => ('"\\/bfnrt'.includes(String.fromCharCode(c)) ? 1 : 0));
const TYPE_VALUE = Buffer.from('"response.output_text.delta"', 'latin1');
const KEY_TYPE = Buffer.from('type', 'latin1');
const KEY_DELTA = Buffer.from('delta', 'latin1');
const KEY_ITEM_ID = Buffer.from('item_id', 'latin1');
const KEY_OUTPUT_INDEX = Buffer.from('output_index', 'latin1');
const KEY_CONTENT_INDEX = Buffer.from('content_index', 'latin1');
const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');
const NULL = Buffer.from('null', 'latin1');
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;

/** The index after the closing quote of the JSON string that starts at b[i], or -1 when it is not a valid one. */
export function stringEnd(b: Buffer, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i]!;
    if (PLAIN[c] === 1) i++;
    else if (c === QUOTE) return i + 1;
    else if (c !== BACKSLASH || i + 1 >= end) return -1;
    else if (ESC[b[i + 1]!] === 1) i += 2;
    // \uXXXX
    else if (b[i + 1] === 0x75 && i + 5 < end && (HEX[b[i + 2]!]! & HEX[b[i + 3]!]! & HEX[b[i + 4]!]! & HEX[b[i + 5]!]!) === 1) i += 6;
    else return -1;
  }
  return -1;
}

/**
 * Where, in an accepted event's data, the values are that may differ from one delta event of a
 * part to the next (TextDeltaTemplate): `[start, end, kind]` per value, in order. The delta
 * (DELTA_SPAN), and each string or number value of a key the reader does not read
 * (sequence_number, obfuscation, …); everything else (type, item_id, the indexes, other literals,
 * the punctuation and whitespace) must stay byte for byte the same.
 */
export interface DeltaSpans {
  spans: number[];
  /** One of the keys the reader reads came twice: no template (which one counts is not a position). */
  duplicateKey: boolean;
}
export const NUMBER_SPAN = 0;
export const STRING_SPAN = 1;
export const DELTA_SPAN = 2;

/** Like stringEnd, for a string without escapes; -1 at a backslash. */
function plainStringEnd(b: Buffer, i: number, end: number): number {
  i++;
  while (i < end && PLAIN[b[i]!] === 1) i++;
  return i < end && b[i] === QUOTE ? i + 1 : -1;
}

export function readTextDelta(b: Buffer, spans?: DeltaSpans): RawTextDelta | undefined {
  const end = b.length;
  let i = skipWs(b, 0, end);
  if (b[i] !== LBRACE) return undefined;
  i++;
  let deltaStart = -1;
  let deltaEnd = -1;
  let itemStart = -1;
  let itemEnd = -1;
  let itemEscaped = false;
  let typeOk = true;
  let outputIndex: number | undefined;
  let contentIndex: number | undefined;
  /** The keys read so far (a bit each), to notice a duplicate. */
  let seen = 0;
  for (;;) {
    // "key"
    i = skipWs(b, i, end);
    if (b[i] !== QUOTE) return undefined;
    const k0 = i + 1;
    // a key written with escapes (`"t\u0079pe"`) is another spelling of a key it reads: the ordinary path
    i = plainStringEnd(b, i, end);
    if (i < 0) return undefined;
    const keyLength = i - 1 - k0;
    i = skipWs(b, i, end);
    if (b[i] !== COLON) return undefined;
    // value
    const v0 = skipWs(b, i + 1, end);
    const c = b[v0];
    let number: number | undefined;
    let v1: number;
    /** What the value is as a span (a string or a number may change from one delta to the next); -1 for the other literals. */
    let kind = -1;
    if (c === QUOTE) {
      v1 = stringEnd(b, v0, end);
      kind = STRING_SPAN;
    } else if (c === LBRACKET || c === LBRACE) v1 = emptyEnd(b, v0, end);
    else if (c === 0x74 /* t */) v1 = wordEnd(b, v0, end, TRUE);
    else if (c === 0x66 /* f */) v1 = wordEnd(b, v0, end, FALSE);
    else if (c === 0x6e /* n */) v1 = wordEnd(b, v0, end, NULL);
    else {
      v1 = numberEnd(b, v0, end);
      if (v1 >= 0) number = numberValue(b, v0, v1);
      kind = NUMBER_SPAN;
    }
    if (v1 < 0) return undefined;
    // the keys it reads (the last of duplicates counts); any other key's value was only checked
    let bit = 0;
    if (keyLength === 4 && sameBytes(b, k0, KEY_TYPE)) {
      typeOk = v1 - v0 === TYPE_VALUE.length && sameBytes(b, v0, TYPE_VALUE);
      bit = 1;
    } else if (keyLength === 5 && sameBytes(b, k0, KEY_DELTA)) {
      deltaStart = c === QUOTE ? v0 : -1;
      deltaEnd = v1;
      bit = 2;
      if (spans && c === QUOTE) spans.spans.push(v0, v1, DELTA_SPAN);
    } else if (keyLength === 7 && sameBytes(b, k0, KEY_ITEM_ID)) {
      itemStart = c === QUOTE ? v0 + 1 : -1;
      itemEnd = c === QUOTE ? v1 - 1 : -1;
      const backslash = itemStart < 0 ? -1 : b.indexOf(BACKSLASH, itemStart);
      itemEscaped = backslash !== -1 && backslash < itemEnd;
      bit = 4;
    } else if (keyLength === 12 && sameBytes(b, k0, KEY_OUTPUT_INDEX)) {
      outputIndex = number;
      bit = 8;
    } else if (keyLength === 13 && sameBytes(b, k0, KEY_CONTENT_INDEX)) {
      contentIndex = number;
      bit = 16;
    } else if (spans && kind >= 0) {
      // a value nobody reads: a string or a number there may differ next time
      spans.spans.push(v0, v1, kind);
    }
    if (bit !== 0) {
      if (spans && (seen & bit) !== 0) spans.duplicateKey = true;
      seen |= bit;
    }
    i = skipWs(b, v1, end);
    if (b[i] === COMMA) {
      i++;
      continue;
    }
    if (b[i] !== RBRACE || skipWs(b, i + 1, end) !== end) return undefined;
    break;
  }
  // a type other than the text delta's (or written with escapes), no string delta, an escaped item id: the ordinary path
  if (deltaStart < 0 || !typeOk || itemEscaped) return undefined;
  const literal = b.subarray(deltaStart, deltaEnd);
  // the literal goes to the client as it is: it must be UTF-8 (the ordinary path would have replaced bad bytes)
  if (!isUtf8(literal)) return undefined;
  return { literal, empty: deltaEnd - deltaStart === 2, itemIdStart: itemStart, itemIdEnd: itemEnd, outputIndex, contentIndex };
}

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && WS[b[i]!] === 1) i++;
  return i;
}

/** The end of an empty array or object at b[i]; -1 for one with content (left to JSON.parse: `logprobs` is `[]` in practice). */
function emptyEnd(b: Buffer, i: number, end: number): number {
  const close = b[i] === LBRACKET ? RBRACKET : RBRACE;
  const j = skipWs(b, i + 1, end);
  return b[j] === close ? j + 1 : -1;
}

function wordEnd(b: Buffer, i: number, end: number, word: Buffer): number {
  return i + word.length <= end && sameBytes(b, i, word) ? i + word.length : -1;
}

/** The end of the JSON number at b[i] (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`), or -1. */
export function numberEnd(b: Buffer, i: number, end: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) i = digitsEnd(b, i, end);
  else return -1;
  if (b[i] === DOT) {
    if (!isDigit(b[i + 1])) return -1;
    i = digitsEnd(b, i + 1, end);
  }
  if (b[i] === 0x65 || b[i] === 0x45 /* e E */) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    i = digitsEnd(b, i, end);
  }
  return i;
}

function digitsEnd(b: Buffer, i: number, end: number): number {
  while (i < end && isDigit(b[i])) i++;
  return i;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** The value of the JSON number b[v0, v1) when finite (as the event readers take it); small integers (the indexes) without a string. */
function numberValue(b: Buffer, v0: number, v1: number): number | undefined {
  if (v1 - v0 <= 15) {
    let n = 0;
    let k = v0;
    for (; k < v1 && isDigit(b[k]); k++) n = n * 10 + (b[k]! - 0x30);
    if (k === v1) return n;
  }
  const n = Number(b.toString('latin1', v0, v1));
  return Number.isFinite(n) ? n : undefined;
}
