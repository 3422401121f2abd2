/**
 * Who may call the management API: `Authorization: Bearer <management key>` (checked against
 * the stored hash, constant time), from a loopback address unless `allow-remote` is on. Five
 * failed attempts from one address lock that address out for a minute (429 + Retry-After).
 * The client API keys open nothing here.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, AuthenticationError, RateLimitError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { isLoopbackHost } from '../host-policy.js';
import type { ManagementKeyVerifier } from './key.js';

export const MAX_FAILED_ATTEMPTS = 5;
export const LOCKOUT_MS = 60_000;
/** Failures older than this no longer count towards the lockout. */
const FAILURE_WINDOW_MS = 10 * 60_000;
const MAX_TRACKED_ADDRESSES = 10_000;

interface FailureRecord {
  count: number;
  lastAt: number;
  lockedUntil: number;
}

/** Failed attempts per address, and the addresses locked out because of them. */
export class FailedAttempts {
  private readonly byAddress = new Map<string, FailureRecord>();

  constructor(private readonly clock: Clock) {}

  /** Ms until the address may try again, or 0. */
  lockedFor(address: string): number {
    const r = this.byAddress.get(address);
    if (!r) return 0;
    return Math.max(0, r.lockedUntil - this.clock.now());
  }

  fail(address: string): void {
    const now = this.clock.now();
    let r = this.byAddress.get(address);
    if (!r || now - r.lastAt > FAILURE_WINDOW_MS || (r.lockedUntil !== 0 && r.lockedUntil <= now)) {
      if (this.byAddress.size >= MAX_TRACKED_ADDRESSES) this.byAddress.clear();
      r = { count: 0, lastAt: now, lockedUntil: 0 };
      this.byAddress.set(address, r);
    }
    r.count++;
    r.lastAt = now;
    if (r.count >= MAX_FAILED_ATTEMPTS) r.lockedUntil = now + LOCKOUT_MS;
  }

  succeed(address: string): void {
    this.byAddress.delete(address);
  }
}

/** The bearer token of a request, if any (the management API takes no x-api-key). */
function bearer(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  return m?.[1]?.trim() || undefined;
}

export interface ManagementAuthOptions {
  verifier: ManagementKeyVerifier;
  allowRemote: boolean;
  failures: FailedAttempts;
}

/** Adds the management checks to an encapsulated scope as an onRequest hook. */
export function registerManagementAuth(scope: FastifyInstance, opts: ManagementAuthOptions): void {
  scope.addHook('onRequest', async (req) => {
    const address = req.socket.remoteAddress ?? req.ip;
    if (!opts.allowRemote && !isLoopbackHost(address)) {
      throw new ApiError(403, 'permission_error', 'The management API only answers on loopback; set remote-management.allow-remote: true to open it to other addresses.', {
        code: 'management_remote_disabled',
      });
    }
    const locked = opts.failures.lockedFor(address);
    if (locked > 0) {
      throw new RateLimitError(`Too many failed management key attempts from this address; try again in ${Math.ceil(locked / 1000)} s.`, {
        code: 'management_locked_out',
        retryAfterSeconds: Math.ceil(locked / 1000),
      });
    }
    const key = bearer(req);
    // only a wrong key counts as a failed attempt: a probe without one (cliproxy status) does not lock anyone out
    if (key === undefined) throw new AuthenticationError('Missing management key. Send it as "Authorization: Bearer <key>".', { code: 'invalid_management_key' });
    if (!(await opts.verifier.verify(key))) {
      opts.failures.fail(address);
      throw new AuthenticationError('Invalid management key.', { code: 'invalid_management_key' });
    }
    opts.failures.succeed(address);
  });
}
