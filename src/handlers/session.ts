import { headerSafe } from '../upstream/header-value.js';

/** Affinity key and upstream session id for a request: explicit cache key, then user, then a session header. */
export function affinityKeyOf(fields: { promptCacheKey?: unknown; user?: unknown }, sessionHeader: string | undefined): string | undefined {
  if (typeof fields.promptCacheKey === 'string' && fields.promptCacheKey) return fields.promptCacheKey;
  if (typeof fields.user === 'string' && fields.user) return fields.user;
  return sessionHeader || undefined;
}

/** Longest header value forwarded for a Codex client (x-codex-turn-metadata is a few KB of JSON). */
const MAX_FORWARDED_HEADER_BYTES = 16 * 1024;
const FORWARDED_HEADERS = new Set(['session-id', 'thread-id', 'x-client-request-id']);

/**
 * The Codex CLI's own request headers (`session-id`, `thread-id`, `x-client-request-id`,
 * `x-codex-*`), to forward unchanged on /v1/responses so a Codex client behind the proxy looks
 * like itself upstream. Credentials and everything else stay behind.
 */
export function codexClientHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (typeof value !== 'string' || value.length > MAX_FORWARDED_HEADER_BYTES) continue;
    if (!FORWARDED_HEADERS.has(key) && !key.startsWith('x-codex-')) continue;
    (out ??= {})[key] = value;
  }
  return out;
}

/** The session id header a client sent (Codex sends `session-id`; older clients `session_id`), if any. */
export function sessionHeaderOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of ['session_id', 'session-id', 'x-session-id']) {
    const v = headers[name];
    if (typeof v === 'string' && v.trim()) return v.trim().slice(0, 200);
  }
  return undefined;
}

/**
 * The session id sent upstream, equal to the body's `prompt_cache_key` when it has one (the
 * key is then replaced by its header-safe form in `body`, so the two stay equal), else the
 * client's session header; always header-safe (see headerSafe).
 */
export function upstreamSessionId(body: Record<string, unknown>, sessionHeader: string | undefined): string | undefined {
  const key = body['prompt_cache_key'];
  if (typeof key === 'string' && key !== '') {
    const safe = headerSafe(key);
    body['prompt_cache_key'] = safe;
    return safe;
  }
  return sessionHeader === undefined ? undefined : headerSafe(sessionHeader);
}
