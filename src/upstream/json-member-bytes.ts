/**
 * One member of a JSON document, read from its bytes without parsing the rest: the pass-through
 * needs `response.usage` (and `response.id`) from events whose `response` also carries the whole
 * answer, the instructions and the tools. JSON.parse of such an event built all of that just to
 * read four numbers; this walks the structure, jumping over each string with indexOf, and
 * returns the bytes of the one value, for JSON.parse.
 *
 * On well-formed JSON it agrees with JSON.parse (a property test holds it to it:
 * test/upstream/json-member-bytes.test.ts). What it cannot walk gives undefined, and the caller
 * parses the event instead: a missing step or one that is not an object, a key that appears
 * twice (JSON.parse keeps the last one), unbalanced brackets, a string
 * that does not end, anything but spaces after the document. It checks the structure, not every
 * byte: a document that is malformed inside a string or a number may be read where JSON.parse
 * would refuse it (the upstream's events come from a JSON serializer; the pass-through sends the
 * bytes on unchanged either way).
 */
import { BACKSLASH, COLON, COMMA, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, WS } from './json-bytes.js';

function isSpace(b: number): boolean {
  return WS[b] === 1;
}

function skipSpace(data: Uint8Array, i: number): number {
  while (i < data.length && isSpace(data[i]!)) i++;
  return i;
}

/** Index just past the string that starts at `i` (a quote), or -1 when it does not end. */
function skipString(data: Buffer, i: number): number {
  let at = i + 1;
  for (;;) {
    const q = data.indexOf(QUOTE, at);
    if (q === -1) return -1;
    // escaped when an odd number of backslashes precede it
    let backslashes = 0;
    for (let k = q - 1; k > i && data[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    at = q + 1;
  }
}

/** Index just past the value that starts at `i` (after spaces), or -1 when it is malformed or cut off. */
function skipValue(data: Buffer, i: number): number {
  i = skipSpace(data, i);
  if (i >= data.length) return -1;
  const b = data[i]!;
  if (b === QUOTE) return skipString(data, i);
  if (b !== LBRACE && b !== LBRACKET) {
    // a number, true, false, null: up to the next delimiter
    let j = i;
    while (j < data.length) {
      const c = data[j]!;
      if (c === COMMA || c === RBRACE || c === RBRACKET || isSpace(c)) break;
      j++;
    }
    return j > i ? j : -1;
  }
  // an object or an array: brackets counted, strings jumped over
  let depth = 0;
  for (let j = i; j < data.length; ) {
    const c = data[j]!;
    if (c === QUOTE) {
      j = skipString(data, j);
      if (j === -1) return -1;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return -1;
}

/**
 * Whether the key string at data[start..end) (quotes included) reads as `key` (plain ASCII).
 * Everything it reads is within the key: an escaped spelling is looked for between its quotes
 * only (searching the rest of the document for a backslash, as it once did, cost a scan to the
 * end of the data for every member).
 */
function keyIs(data: Buffer, start: number, end: number, key: string): boolean {
  const n = end - start - 2;
  if (n === key.length) {
    // as long as the key: it is the key when its bytes are (an escape would make it longer)
    for (let k = 0; k < n; k++) if (data[start + 1 + k] !== key.charCodeAt(k)) return false;
    return true;
  }
  if (n < key.length) return false;
  // longer: only a spelling with escapes can read as the key (rare; \u0075sage is usage too)
  for (let i = start + 1; i < end - 1; i++) {
    if (data[i] !== BACKSLASH) continue;
    try {
      return JSON.parse(data.toString('utf8', start, end)) === key;
    } catch {
      return false;
    }
  }
  return false;
}

/** The index in `keys` of the key string at data[start..end), or -1. */
function whichKey(data: Buffer, start: number, end: number, keys: readonly string[]): number {
  for (let w = 0; w < keys.length; w++) if (keyIs(data, start, end, keys[w]!)) return w;
  return -1;
}

/**
 * The bytes of the given members of the object `data` holds, in one pass (undefined for a member
 * it does not have); undefined as a whole when `data` is not one well-formed object, or has one
 * of the keys twice.
 */
export function jsonObjectMembers(data: Buffer, keys: readonly string[]): (Buffer | undefined)[] | undefined {
  const found: (Buffer | undefined)[] = keys.map(() => undefined);
  let i = skipSpace(data, 0);
  if (data[i] !== LBRACE) return undefined;
  i = skipSpace(data, i + 1);
  // one walk: each member's value is skipped (or kept) once, up to the closing brace
  if (data[i] !== RBRACE) {
    for (;;) {
      if (data[i] !== QUOTE) return undefined;
      const keyEnd = skipString(data, i);
      if (keyEnd === -1) return undefined;
      const which = whichKey(data, i, keyEnd, keys);
      i = skipSpace(data, keyEnd);
      if (data[i] !== COLON) return undefined;
      const valueStart = skipSpace(data, i + 1);
      const valueEnd = skipValue(data, valueStart);
      if (valueEnd === -1) return undefined;
      if (which !== -1) {
        if (found[which]) return undefined;
        found[which] = data.subarray(valueStart, valueEnd);
      }
      i = skipSpace(data, valueEnd);
      if (data[i] === COMMA) {
        i = skipSpace(data, i + 1);
        continue;
      }
      if (data[i] === RBRACE) break;
      return undefined;
    }
  }
  // nothing but spaces after the object
  return skipSpace(data, i + 1) === data.length ? found : undefined;
}
