/** Affinity key and upstream session id for a request: explicit cache key, then user, then a session header. */
export function affinityKeyOf(fields: { promptCacheKey?: unknown; user?: unknown }, sessionHeader: string | undefined): string | undefined {
  if (typeof fields.promptCacheKey === 'string' && fields.promptCacheKey) return fields.promptCacheKey;
  if (typeof fields.user === 'string' && fields.user) return fields.user;
  return sessionHeader || undefined;
}

/** The session id header a client sent (Codex sends `session_id`), if any. */
export function sessionHeaderOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of ['session_id', 'session-id', 'x-session-id']) {
    const v = headers[name];
    if (typeof v === 'string' && v.trim()) return v.trim().slice(0, 200);
  }
  return undefined;
}
