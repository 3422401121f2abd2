import type { Config } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import type { Credential, TokenSet } from './credential.js';
import { RefreshLockUnavailableError, type AccountStore } from './store.js';
import { readClaims } from '../auth/id-token-claims.js';
import { TokenEndpointError } from '../auth/token-errors.js';
import {
  MAX_REFRESH_AGE_MS,
  MIN_REFRESH_INTERVAL_MS,
  tokenExpired,
  tokenLifetimeMs,
  tokenNeedsRefresh,
  type AccountEntry,
} from './account-state.js';
import { backoffMs } from './cooldowns.js';
import { expiresAtFrom } from '../auth/credential-from-tokens.js';
import type { Logger } from './logger.js';
import { scrubText } from '../util/redact.js';

/**
 * Token refresh for pool accounts. Refresh tokens are single-use, so:
 * - one refresh per account at a time in this process (concurrent callers share one promise);
 * - across processes, the store's refresh lock, and inside it the account is re-read first:
 *   when another process already rotated the tokens they are adopted without calling the issuer;
 * - new tokens are saved to the store before they are handed to anyone.
 */

export interface TokenRefreshClient {
  refresh(refreshToken: string, signal?: AbortSignal): Promise<TokenSet>;
}

/**
 * Why a refresh was asked for.
 * - expiry: a request is about to use a token that is expired or about to be.
 * - proactive: the scheduled refresh (lead time before expiry, or the 8-day age limit).
 * - unauthorized: the upstream answered 401 with `staleAccessToken`.
 * - forced: an explicit request (management, tests).
 * - save-retry: refreshed tokens could not be saved earlier; save them now (refreshes only if due anyway).
 */
export type RefreshTrigger = 'expiry' | 'proactive' | 'unauthorized' | 'forced' | 'save-retry';

export interface RefresherDeps {
  store: AccountStore;
  tokens: TokenRefreshClient;
  clock: Clock;
  config: Config;
  log: Logger;
  /** Source of jitter in [0, 1). */
  random: () => number;
}

/** Upper bound of the random jitter subtracted from the proactive refresh time. */
const MAX_JITTER_MS = 60_000;

export class Refresher {
  private active = true;

  constructor(private deps: RefresherDeps) {}

  /** A reloaded config (the cooldown backoff cap applies to the next retry scheduled). */
  updateConfig(config: Config): void {
    this.deps = { ...this.deps, config };
  }

  /** While inactive (the pool is stopped) nothing is scheduled. */
  setActive(on: boolean): void {
    this.active = on;
  }

  /**
   * Makes sure the account's token is fresh. Joins the refresh already in flight for this
   * account, if any. Rejects when the refresh failed (the entry then says why: needs-login or
   * cooling); a caller that was only waiting should check the entry rather than the error.
   */
  refresh(entry: AccountEntry, opts: { trigger: RefreshTrigger; staleAccessToken: string }): Promise<void> {
    if (entry.refreshing) return entry.refreshing;
    const flight = this.run(entry, opts).finally(() => {
      entry.refreshing = null;
    });
    entry.refreshing = flight;
    // the scheduler and waiters handle the outcome; never leave an unhandled rejection behind
    flight.catch(() => undefined);
    return flight;
  }

  /** (Re)schedules the proactive refresh: `leadSeconds` (minus jitter) before expiry, or at the 8-day age limit. */
  schedule(entry: AccountEntry, delayOverrideMs?: number): void {
    this.cancel(entry);
    if (!this.active || !entry.isUsable()) return;
    const now = this.deps.clock.now();
    let delay: number;
    if (delayOverrideMs !== undefined) {
      delay = delayOverrideMs;
    } else {
      const dueAt = this.dueAt(entry);
      if (!Number.isFinite(dueAt)) return;
      delay = Math.max(0, dueAt - now);
    }
    entry.cancelScheduledRefresh = this.deps.clock.schedule(delay, () => {
      entry.cancelScheduledRefresh = null;
      void this.refresh(entry, { trigger: 'proactive', staleAccessToken: entry.credential.accessToken }).catch(() => undefined);
    });
  }

  /**
   * When the proactive refresh is due: `lead-seconds` before expiry, but at most half the
   * token's lifetime (a token that lives less than the lead is not refreshed the moment it
   * arrives, which looped), minus jitter; at the latest at the 8-day age limit; never sooner
   * than MIN_REFRESH_INTERVAL_MS after the last refresh, nor before a backoff set by a refresh
   * that returned an already-expiring token.
   */
  private dueAt(entry: AccountEntry): number {
    const c = entry.credential;
    const lifetime = tokenLifetimeMs(c);
    const leadMs = Math.min(this.deps.config.refresh.leadSeconds * 1000, lifetime === undefined ? Infinity : lifetime / 2);
    const jitterMs = this.deps.random() * Math.min(MAX_JITTER_MS, leadMs * 0.2);
    let dueAt = Infinity;
    if (c.expiresAt !== null) dueAt = c.expiresAt - leadMs - jitterMs;
    if (c.lastRefresh !== null) dueAt = Math.min(dueAt, c.lastRefresh + MAX_REFRESH_AGE_MS);
    if (!Number.isFinite(dueAt)) return dueAt;
    return Math.max(dueAt, this.notBefore(entry));
  }

  /** The earliest time an automatic (proactive / before-a-request) refresh may call the issuer. */
  private notBefore(entry: AccountEntry): number {
    return Math.max(entry.refreshNotBefore, entry.lastRefreshedAt === 0 ? 0 : entry.lastRefreshedAt + MIN_REFRESH_INTERVAL_MS);
  }

  cancel(entry: AccountEntry): void {
    entry.cancelScheduledRefresh?.();
    entry.cancelScheduledRefresh = null;
  }

  /** Cancels everything scheduled for the entry (the proactive refresh and a save retry). */
  forget(entry: AccountEntry): void {
    this.cancel(entry);
    entry.cancelSaveRetry?.();
    entry.cancelSaveRetry = null;
  }

  /**
   * One last attempt to save tokens a failed save left in memory (the pool calls it when
   * stopping, after the flights in progress ended). Logs when it fails again.
   */
  async saveUnsaved(entry: AccountEntry): Promise<void> {
    if (!entry.hasUnsavedTokens()) return;
    await this.underLock(entry, async () => {
      await this.adoptStored(entry);
      if (entry.hasUnsavedTokens()) await this.saveOrKeep(entry, entry.credential, false);
    });
  }

  /**
   * Runs `fn` under the store's refresh lock. When the lock cannot be taken at all because the
   * auth dir cannot be written (read-only, wrong owner, full disk), `fn` runs without it: the
   * caller's in-process single flight still allows one refresh per account at a time, the tokens
   * are kept in memory (saveOrKeep), and the real reason is warned about once per account.
   */
  private async underLock(entry: AccountEntry, fn: () => Promise<void>): Promise<void> {
    let ran = false;
    try {
      await this.deps.store.withRefreshLock(entry.accountId, () => {
        ran = true;
        return fn();
      });
    } catch (err) {
      if (ran || !(err instanceof RefreshLockUnavailableError)) throw err;
      this.warnLockProblem(
        entry,
        errorText(err, secretsOf(entry.credential)),
        'The refresh lock cannot be taken (the auth dir is not writable): refreshing in memory, one refresh at a time in this process; other processes sharing the auth dir are not coordinated',
      );
      await fn();
    }
  }

  /** Logs a lock problem at warn the first time it is seen for the account, at debug after that. */
  private warnLockProblem(entry: AccountEntry, reason: string, message: string): void {
    const obj = { accountId: entry.accountId, email: entry.credential.email, reason };
    if (entry.lockProblemLogged === reason) {
      this.deps.log.debug(obj, message);
      return;
    }
    entry.lockProblemLogged = reason;
    this.deps.log.warn(obj, message);
  }

  private async run(entry: AccountEntry, opts: { trigger: RefreshTrigger; staleAccessToken: string }): Promise<void> {
    const { log } = this.deps;
    let retryInMs: number | undefined;
    /** Set when the failure was already dealt with (a permanent refresh failure: needs-login). */
    let handled = false;
    try {
      await this.underLock(entry, async () => {
        await this.adoptStored(entry);
        const cur = entry.credential;
        if (!entry.isUsable()) return;
        const now = this.deps.clock.now();
        const needed =
          cur.accessToken === opts.staleAccessToken && opts.trigger !== 'save-retry'
            ? opts.trigger !== 'expiry' || tokenNeedsRefresh(cur, now)
            : tokenNeedsRefresh(cur, now);
        if (!needed) {
          if (entry.hasUnsavedTokens()) await this.saveOrKeep(entry, cur, true);
          return;
        }
        // automatic refreshes keep their distance (the floor, a backoff): schedule() in `finally` picks the time
        if ((opts.trigger === 'proactive' || opts.trigger === 'expiry') && now < this.notBefore(entry)) return;

        let tokens: TokenSet;
        try {
          tokens = await this.deps.tokens.refresh(cur.refreshToken);
        } catch (err) {
          if (err instanceof TokenEndpointError && err.permanent) {
            await this.markNeedsLogin(entry, refreshFailureReason(err));
            handled = true;
          }
          throw err;
        }
        const after = this.deps.clock.now();
        entry.lastRefreshedAt = after;
        const next = withRefreshedTokens(cur, tokens, after);
        await this.saveOrKeep(entry, next, true);
        log.info({ accountId: cur.accountId, email: cur.email, trigger: opts.trigger, expiresAt: next.expiresAt }, 'Refreshed Codex tokens');
        // a token that expires before the next refresh may run keeps the refresh backoff growing
        if (expiresBeforeNextRefresh(next, after)) this.onExpiringToken(entry, next, after);
        else {
          entry.refreshSucceeded();
          entry.refreshNotBefore = 0;
        }
      });
    } catch (err) {
      // a transient issuer failure, or the lock itself failed (lock dir, database): back off, never spin
      if (!handled) retryInMs = this.onTransientFailure(entry, err);
      throw err;
    } finally {
      this.schedule(entry, retryInMs);
    }
  }

  /**
   * Saves `next` and then puts it in use. When the save fails the tokens are put in use anyway
   * (after a refresh the old refresh token is spent: dropping the new pair would lose the
   * account), marked unsaved, and the save is retried with backoff (1 s, 2 s, 4 s … up to
   * cooldown.maxBackoffSeconds) and at every later refresh check. Called under the refresh lock.
   */
  private async saveOrKeep(entry: AccountEntry, next: Credential, retry: boolean): Promise<void> {
    const { store, log } = this.deps;
    try {
      const location = await store.save(next);
      const wasUnsaved = entry.hadUnsavedTokens();
      entry.useTokens(next, location);
      entry.saveProblemLogged = null;
      if (wasUnsaved) log.info({ accountId: next.accountId, email: next.email }, 'Saved the refreshed tokens that were kept in memory');
      entry.cancelSaveRetry?.();
      entry.cancelSaveRetry = null;
    } catch (err) {
      entry.useTokens(next, undefined);
      const retryInMs = retry && this.active ? this.scheduleSaveRetry(entry) : undefined;
      const reason = errorText(err, secretsOf(next));
      const message =
        retryInMs === undefined
          ? 'Refreshed tokens could not be saved; they are lost when this process ends (run `cliproxy login` if the account then needs a new login)'
          : 'Refreshed tokens could not be saved; keeping them in memory and retrying the save';
      // the same reason again (a read-only auth dir stays read-only) is not an error line per retry
      const obj = { accountId: next.accountId, email: next.email, err: reason, retryInMs };
      if (entry.saveProblemLogged === reason && retryInMs !== undefined) log.debug(obj, message);
      else {
        if (retryInMs !== undefined) entry.saveProblemLogged = reason;
        log.error(obj, message);
      }
    }
  }

  private scheduleSaveRetry(entry: AccountEntry): number {
    entry.cancelSaveRetry?.();
    const delay = backoffMs(entry.saveFailed(), this.deps.config.cooldown.maxBackoffSeconds);
    entry.cancelSaveRetry = this.deps.clock.schedule(delay, () => {
      entry.cancelSaveRetry = null;
      if (!this.active || !entry.hasUnsavedTokens()) return;
      void this.refresh(entry, { trigger: 'save-retry', staleAccessToken: entry.credential.accessToken }).catch(() => undefined);
    });
    return delay;
  }

  /**
   * Re-reads the account inside the lock. Tokens another process (or a new login) wrote are
   * adopted unless ours are newer; a needs-login mark another process persisted is adopted too.
   */
  private async adoptStored(entry: AccountEntry): Promise<void> {
    let stored;
    try {
      stored = await this.deps.store.load(entry.accountId);
    } catch (err) {
      this.deps.log.warn({ accountId: entry.accountId, err: errorText(err, secretsOf(entry.credential)) }, 'Could not re-read the account before refreshing');
      return;
    }
    if (!stored) return;
    if (entry.mergeStored(stored) === 'stored') {
      this.deps.log.info({ accountId: entry.accountId, email: entry.credential.email }, 'Adopted tokens refreshed by another process');
    }
  }

  private async markNeedsLogin(entry: AccountEntry, reason: string): Promise<void> {
    const next = entry.markNeedsLogin(reason, this.deps.clock.now());
    this.cancel(entry);
    this.deps.log.warn({ accountId: next.accountId, email: next.email, reason }, 'Codex account needs a new login (run `cliproxy login`)');
    try {
      entry.savedAt(await this.deps.store.save(next));
    } catch (err) {
      this.deps.log.error({ accountId: next.accountId, err: errorText(err, secretsOf(next)) }, 'Could not persist the needs-login mark');
    }
  }

  /**
   * The issuer answered with a token that is already about to expire (a skewed clock here or
   * there, or a lifetime shorter than the floor): the next automatic refresh backs off
   * exponentially (5 s, 10 s, 20 s … up to cooldown.max-backoff-seconds) instead of
   * running again at once; a token that is already expired cools the account down meanwhile.
   */
  private onExpiringToken(entry: AccountEntry, next: Credential, now: number): void {
    const capMs = Math.max(MIN_REFRESH_INTERVAL_MS, this.deps.config.cooldown.maxBackoffSeconds * 1000);
    const delay = Math.min(MIN_REFRESH_INTERVAL_MS * 2 ** Math.min(entry.refreshFailed(), 30), capMs);
    entry.refreshNotBefore = now + delay;
    if (tokenExpired(next, now)) entry.coolDown(now + delay, 'refresh_failed');
    this.deps.log.warn(
      { accountId: next.accountId, email: next.email, expiresInMs: next.expiresAt === null ? null : next.expiresAt - now, retryInMs: delay },
      "The issuer returned a token that is already about to expire (check this machine's clock); backing off before the next refresh",
    );
  }

  /** Backs off; the account cools down meanwhile if its current token cannot be used. Returns the retry delay. */
  private onTransientFailure(entry: AccountEntry, err: unknown): number {
    const now = this.deps.clock.now();
    const delay = backoffMs(entry.refreshFailed(), this.deps.config.cooldown.maxBackoffSeconds);
    // the store's lock could not be taken: the account waits (never refreshed without the lock) and comes back with the store
    const reason = this.deps.store.isAvailable?.() === false ? 'store_unavailable' : 'refresh_failed';
    if (tokenNeedsRefresh(entry.credential, now)) entry.coolDown(now + delay, reason);
    // a store outage is logged once by the store itself
    this.deps.log[reason === 'store_unavailable' ? 'debug' : 'warn'](
      { accountId: entry.accountId, email: entry.credential.email, err: errorText(err, secretsOf(entry.credential)), retryInMs: delay },
      'Token refresh failed; retrying later',
    );
    return delay;
  }
}

/** True when a just-refreshed token expires before the next refresh may even run (MIN_REFRESH_INTERVAL_MS). */
function expiresBeforeNextRefresh(c: Credential, now: number): boolean {
  return c.expiresAt !== null && c.expiresAt - now < MIN_REFRESH_INTERVAL_MS;
}

/** The credential with a refreshed token set applied (the refresh token is kept when the issuer did not rotate it). */
export function withRefreshedTokens(cur: Credential, t: TokenSet, now: number): Credential {
  const id = t.idToken ? readClaims(t.idToken) : {};
  const expiresAt = expiresAtFrom(t, now);
  const { needsLogin: _cleared, ...rest } = cur;
  void _cleared;
  return {
    ...rest,
    idToken: t.idToken || cur.idToken,
    accessToken: t.accessToken,
    refreshToken: t.refreshToken || cur.refreshToken,
    tokenType: t.tokenType || cur.tokenType,
    expiresAt,
    lastRefresh: now,
    email: id.email ?? cur.email,
    planType: id.planType ?? cur.planType,
  };
}

/** The reason stored in `needsLogin`: the issuer's code (refresh_token_reused, …), else the status. */
export function refreshFailureReason(err: TokenEndpointError): string {
  if (err.code) return err.code;
  if (err.status !== undefined) return `http_${err.status}`;
  return 'refresh_failed';
}

/** The tokens of a credential, to scrub from error texts. */
function secretsOf(c: Credential): string[] {
  return [c.accessToken, c.refreshToken, c.idToken].filter((t) => t.length > 0);
}

function errorText(err: unknown, secrets: readonly string[] = []): string {
  if (err instanceof TokenEndpointError) {
    const head = `${err.name}${err.status !== undefined ? ` ${err.status}` : ''}${err.code ? ` ${err.code}` : ''}`;
    return scrubText(`${head}: ${err.message}`, secrets);
  }
  if (err instanceof Error) return scrubText(`${err.name}: ${err.message}`, secrets);
  return scrubText(String(err), secrets);
}
