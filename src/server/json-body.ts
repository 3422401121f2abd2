/**
 * The one request-body parser: `application/json` only (every other media type is a 415), in
 * UTF-8 or UTF-16 as the `charset` parameter says (any other charset is a 415), nested at most
 * MAX_JSON_DEPTH levels. The depth is checked on the text before JSON.parse runs, so a deeply
 * nested body costs one linear scan and is refused with a 400 naming the field, instead of
 * reaching code that recurses (JSON.stringify of the upstream body overflowed the stack).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, InvalidRequestError } from '../errors.js';
import { INVALID_JSON_MESSAGE, unsupportedMediaType } from './error-mapping.js';
import { quoteInput } from '../util/quote.js';

/** Deepest nesting of objects and arrays a request body may have (the body itself is level 1). */
export const MAX_JSON_DEPTH = 64;


/** The `charset` parameter of a Content-Type header, lower-cased, if any. */
function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  return m?.[1]?.toLowerCase();
}

/** The body's text, decoded as its charset says. Throws 415 for a charset other than UTF-8/UTF-16, 400 for bytes that are not valid in it. */
export function decodeBody(bytes: Buffer, contentType: string | undefined): string {
  const charset = charsetOf(contentType);
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
  let body = bytes;
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') encoding = 'utf-8';
  else if (charset === 'utf-16le') encoding = 'utf-16le';
  else if (charset === 'utf-16be') encoding = 'utf-16be';
  else if (charset === 'utf-16') {
    // RFC 2781: a byte order mark says which; without one, big-endian
    if (bytes[0] === 0xff && bytes[1] === 0xfe) {
      encoding = 'utf-16le';
      body = bytes.subarray(2);
    } else {
      encoding = 'utf-16be';
      if (bytes[0] === 0xfe && bytes[1] === 0xff) body = bytes.subarray(2);
    }
  } else {
    throw unsupportedMediaType(`Unsupported charset ${quoteInput(charset)}; send the JSON body as UTF-8 (or UTF-16) with "Content-Type: application/json".`);
  }
  try {
    // ignoreBOM:false strips a leading byte order mark
    return new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch {
    throw new InvalidRequestError(`Request body is not valid ${encoding.toUpperCase()} text.`, { code: 'invalid_encoding' });
  }
}

interface Frame {
  kind: 'object' | 'array';
  /** The last key read in an object (raw, as written). */
  key: string | undefined;
  /** The current element in an array. */
  index: number;
  expectingKey: boolean;
}

function pathOf(frames: readonly Frame[]): string {
  let out = '';
  for (const f of frames) {
    if (f.kind === 'array') out += `[${f.index}]`;
    else if (f.key !== undefined) out += out === '' ? f.key : `.${f.key}`;
  }
  return out;
}

/**
 * Throws a 400 when the JSON text nests objects/arrays deeper than `maxDepth`, naming where.
 * One pass over the characters; strings (and their escapes) are skipped. Does not validate the
 * rest of the syntax: JSON.parse does that afterwards.
 */
export function assertJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): void {
  const frames: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      const top = frames[frames.length - 1];
      if (top?.kind === 'object' && top.expectingKey) top.key = text.slice(start, Math.min(i, start + 64));
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (frames.length >= maxDepth) {
        const where = pathOf(frames);
        const field = frames[0]?.key;
        throw new InvalidRequestError(
          `Request body is nested more than ${maxDepth} levels deep${where ? ` at ${quoteInput(where)}` : ''}; flatten it.`,
          { param: field ?? null, code: 'nesting_too_deep' },
        );
      }
      frames.push({ kind: c === 0x7b ? 'object' : 'array', key: undefined, index: 0, expectingKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top?.kind === 'array') top.index++;
      else if (top) top.expectingKey = true;
    } else if (c === 0x3a /* : */) {
      const top = frames[frames.length - 1];
      if (top) top.expectingKey = false;
    }
  }
}

/** Parses a request body: charset, depth, then JSON (with fastify's prototype-poisoning rule: `__proto__` keys are refused). */
export function parseJsonBody(bytes: Buffer, contentType: string | undefined): unknown {
  const text = decodeBody(bytes, contentType);
  if (text.trim() === '') throw new InvalidRequestError('Request body is empty; send a JSON object.', { code: 'invalid_json' });
  assertJsonDepth(text);
  let value: unknown;
  try {
    // the reviver (slower) only when a `__proto__` key could be there, written plainly or escaped
    value = text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, refuseProtoKey) : JSON.parse(text);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // never the parser's message: it may quote part of the body (which can hold a secret)
    throw new InvalidRequestError(INVALID_JSON_MESSAGE, { code: 'invalid_json' });
  }
  return value;
}

function refuseProtoKey(key: string, v: unknown): unknown {
  if (key === '__proto__') throw new InvalidRequestError('Request body has a forbidden "__proto__" key.', { code: 'invalid_json' });
  return v;
}

/** Replaces fastify's parsers (JSON and text/plain) with parseJsonBody for application/json only. */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req: FastifyRequest, body: Buffer, done) => {
    try {
      done(null, parseJsonBody(body, req.headers['content-type']));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
