import { createHash } from 'node:crypto';

/**
 * Values a client chooses that travel upstream in a header (the session id, which is the
 * `prompt_cache_key` or `user` of the body or a client's session header). HTTP header values
 * are visible ASCII; anything else (non-Latin-1 names such as "张三", CR/LF, NUL, lone
 * surrogates, more than 200 characters) is replaced by a stable hash of it, so the same input
 * still gives the same id (prompt caching and session affinity keep working) and undici never
 * refuses the request (which used to be blamed on the account).
 */
const SAFE_HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

export function headerSafe(value: string): string {
  if (SAFE_HEADER_VALUE.test(value)) return value;
  return `h${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 32)}`;
}
