/**
 * Whether a[p, p+n) and b[q, q+n) (both in range; `aw`, `bw` the same memory as DataViews) hold
 * the same bytes: four at a time, then the last few. A byte loop costs ~1-3 ns a byte (the AMD and
 * the Intel machine), a 32-bit word about as much. For the chat template, which compares ~150
 * fixed bytes per text delta; the caller makes the DataViews once (per chunk, per template), as
 * making one costs about what it saves on ~100 bytes (the SSE framer's ~35-byte event line is a
 * plain byte loop for that reason).
 */
export function equalRanges(a: Uint8Array, aw: DataView, p: number, b: Uint8Array, bw: DataView, q: number, n: number): boolean {
  let k = 0;
  for (const last = n - 4; k <= last; k += 4) if (aw.getUint32(p + k, true) !== bw.getUint32(q + k, true)) return false;
  for (; k < n; k++) if (a[p + k] !== b[q + k]) return false;
  return true;
}

/**
 * Whether a[p, p+n) holds the bytes b[q, q+n) (by default all of b), one byte at a time: for the
 * short runs (keys, field names, an SSE event line), where making DataViews for equalRanges would
 * cost more than the loop. Bytes of `a` past its end read as undefined: no match.
 */
export function sameBytes(a: Uint8Array, p: number, b: Uint8Array, q = 0, n = b.length - q): boolean {
  for (let k = 0; k < n; k++) if (a[p + k] !== b[q + k]) return false;
  return true;
}

/** `b` as a DataView over the same memory (for equalRanges). */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
