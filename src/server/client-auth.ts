/**
 * Client authentication against config `api-keys`: `Authorization: Bearer <key>` or
 * `x-api-key: <key>`. Keys are compared as SHA-256 digests with timingSafeEqual, so neither the
 * key's content nor its length leaks through timing. No keys configured = no check (the server
 * then only binds loopback, see host-policy.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthenticationError } from '../errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Returns a predicate that tells whether a presented key is one of `keys`, in constant time per key. */
export function apiKeyMatcher(keys: readonly string[]): (presented: string) => boolean {
  const digests = keys.map(digest);
  return (presented) => {
    const d = digest(presented);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  };
}

/** The key a request presents, if any. */
export function presentedKey(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1].trim();
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return x.trim();
  return undefined;
}

/**
 * Adds an onRequest hook to `app` (an encapsulated scope) that rejects requests without a valid
 * key. `keys` is asked on every request (a config reload may change them; the matcher is rebuilt
 * only when the list changes). No keys: no check.
 */
export function registerClientAuth(app: FastifyInstance, keys: () => readonly string[]): void {
  let current: readonly string[] | undefined;
  let matches: (presented: string) => boolean = () => false;
  app.addHook('onRequest', (req, _reply, done) => {
    const list = keys();
    if (list.length === 0) return done();
    if (list !== current) {
      current = list;
      matches = apiKeyMatcher(list);
    }
    const key = presentedKey(req);
    if (key === undefined) {
      return done(new AuthenticationError('Missing API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".'));
    }
    done(matches(key) ? undefined : new AuthenticationError());
  });
}
