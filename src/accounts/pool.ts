import type { Config } from '../config/schema.js';
import { ServiceUnavailableError } from '../errors.js';
import { UpstreamFailure } from '../upstream/types.js';
import { abortError, type Clock } from '../util/clock.js';
import { scrubText } from '../util/redact.js';
import { AccountEntry, tokenExpired, tokenNeedsRefresh, type AccountStatus } from './account-state.js';
import { Attempt, type AttemptHost, type PoolAccount } from './attempt.js';
import { coolingAccountsError } from './cooling-error.js';
import { cooldownFor, isClientFault } from './cooldowns.js';
import { silentLogger, type Logger } from './logger.js';
import { Refresher, type TokenRefreshClient } from './refresher.js';
import { SessionAffinity, createSelector, type Selector } from './selector.js';
import { StoreLockedError, type AccountStore, type SharedCooldown, type StoredAccount } from './store.js';
import type { Credential } from './credential.js';

export type { AccountStatus, AccountStateName } from './account-state.js';

/** Upper bound of how long an account is set aside while the store is down (it returns as soon as the store does). */
const STORE_SET_ASIDE_MS = 60_000;
export type { Logger } from './logger.js';
export { Attempt, type AttemptResult, type AttemptState, type PoolAccount } from './attempt.js';

/**
 * The account pool: many ChatGPT accounts behaving as one larger, reliable account.
 * It loads accounts from the store (and follows it), picks one per request (strategy +
 * session affinity), keeps tokens fresh (single-flight, cross-process lock), cools accounts
 * down after limits and failures, and retries a failed attempt on the next account.
 */

export interface AttemptInfo {
  /** 1-based attempt number within this request. */
  attempt: number;
  account: PoolAccount;
}

/** What a request may restrict its accounts by (no secrets, no tokens). */
export type AccountFilter = (account: { accountId: string; email: string; planType: string }) => boolean;

export interface AccountRequest {
  /** Session key: requests with the same key stick to one account (when session affinity is on). */
  affinityKey?: string;
  signal?: AbortSignal;
  /** Only accounts this returns true for are picked (and retried on); errors then describe only those. */
  where?: AccountFilter;
  /**
   * False for the proxy's own calls (the model catalog's /models fetches): they get the same
   * selection, retries and cooldowns, but no request, success or failure is counted. Default true.
   */
  counted?: boolean;
}

export interface PoolOptions {
  store: AccountStore;
  tokens: TokenRefreshClient;
  clock: Clock;
  config: Config;
  log?: Logger;
  /** Jitter source in [0, 1) for proactive refresh times (default Math.random). */
  random?: () => number;
}

export class AccountPool {
  private readonly store: AccountStore;
  private readonly clock: Clock;
  private config: Config;
  private readonly log: Logger;
  private readonly entries = new Map<string, AccountEntry>();
  private selector: Selector;
  private readonly affinity: SessionAffinity;
  private readonly refresher: Refresher;
  private nextOrder = 0;
  private unwatch: (() => void) | null = null;
  private unwatchAvailability: (() => void) | null = null;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private loggedProblems = new Map<string, string>();
  private stopped = false;

  constructor(opts: PoolOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.config = opts.config;
    this.log = opts.log ?? silentLogger;
    this.selector = createSelector(opts.config.routing.strategy);
    this.affinity = new SessionAffinity(opts.config.routing.sessionAffinityTtlSeconds * 1000);
    this.refresher = new Refresher({
      store: opts.store,
      tokens: opts.tokens,
      clock: opts.clock,
      config: opts.config,
      log: this.log,
      random: opts.random ?? Math.random,
    });
  }

  /** Loads every account, starts following the store, schedules proactive refreshes. */
  async start(): Promise<void> {
    this.stopped = false;
    this.refresher.setActive(true);
    await this.applyListing(true);
    this.unwatch = this.store.watch(
      () => {
        void this.reload();
      },
      (c) => this.applySharedCooldown(c),
    );
    this.unwatchAvailability = this.store.onAvailability?.((available) => {
      if (available) this.onStoreBack();
    }) ?? null;
  }

  /** False while the store cannot be reached (the pool keeps serving with the tokens it holds). */
  storeAvailable(): boolean {
    return this.store.isAvailable?.() ?? true;
  }

  /** Stops watching and scheduling; waits for refreshes in flight so no write happens after it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.refresher.setActive(false);
    this.unwatch?.();
    this.unwatch = null;
    this.unwatchAvailability?.();
    this.unwatchAvailability = null;
    for (const e of this.entries.values()) this.refresher.forget(e);
    await this.reloading?.catch(() => undefined);
    await Promise.allSettled([...this.entries.values()].map((e) => e.refreshing ?? Promise.resolve()));
    // refreshed tokens a failed save left in memory get one last chance before they are lost
    await Promise.allSettled([...this.entries.values()].map((e) => this.refresher.saveUnsaved(e)));
    for (const e of this.entries.values()) this.refresher.forget(e);
  }

  /** Re-lists the store now (the watcher calls this; concurrent calls coalesce). */
  reload(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    const run = async (): Promise<void> => {
      do {
        this.reloadAgain = false;
        await this.applyListing(false);
      } while (this.reloadAgain && !this.stopped);
    };
    this.reloading = run().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  size(): { total: number; usable: number } {
    let usable = 0;
    for (const e of this.entries.values()) if (e.isUsable()) usable++;
    return { total: this.entries.size, usable };
  }

  snapshot(): AccountStatus[] {
    const now = this.clock.now();
    return this.sortedEntries().map((e) => e.status(now));
  }

  /**
   * The distinct plan types of the usable accounts (cooling ones included), in pool order
   * (the plan of the first-loaded account first). With `withAccount({ where })` a caller can
   * ask something once per plan (e.g. the model list).
   */
  plans(): string[] {
    const plans: string[] = [];
    for (const e of this.sortedEntries()) {
      if (e.isUsable() && !plans.includes(e.credential.planType)) plans.push(e.credential.planType);
    }
    return plans;
  }

  /**
   * Applies a reloaded config: `request-retry`, `cooldown` and `routing` (strategy, session
   * affinity and its lifetime) take effect for the requests that start after it; requests in
   * flight keep the values they started with.
   */
  updateConfig(config: Config): void {
    const before = this.config;
    this.config = config;
    if (config.routing.strategy !== before.routing.strategy) this.selector = createSelector(config.routing.strategy);
    this.affinity.setTtl(config.routing.sessionAffinityTtlSeconds * 1000);
    this.refresher.updateConfig(config);
  }

  /** Why no account can serve, or null when at least one is usable (readiness). */
  unusableReason(): string | null {
    if (this.size().usable > 0) return null;
    return this.noUsableAccountError(this.sortedEntries()).message;
  }

  /**
   * Disables or enables an account in the store (so every process and every restart sees it),
   * under its refresh lock so no refresh writes over the flag; the pool follows at once.
   * Null when the store has no such account.
   */
  async setDisabled(accountId: string, disabled: boolean): Promise<AccountStatus | null> {
    const found = await this.store.withRefreshLock(accountId, async () => {
      const stored = await this.store.load(accountId);
      if (!stored) return false;
      if (stored.credential.disabled !== disabled) await this.store.save({ ...stored.credential, disabled });
      return true;
    });
    if (!found) return null;
    await this.reload();
    return this.entries.get(accountId)?.status(this.clock.now()) ?? null;
  }

  /** Saves a newly signed-in account and loads it at once (it serves from the next request). */
  async addAccount(credential: Credential): Promise<AccountStatus | null> {
    await this.store.save(credential);
    await this.reload();
    return this.entries.get(credential.accountId)?.status(this.clock.now()) ?? null;
  }

  /** Removes an account from the store and the pool; returns what was stored (to revoke its tokens), or null. */
  async removeAccount(accountId: string): Promise<StoredAccount | null> {
    const stored = await this.store.withRefreshLock(accountId, async () => {
      const s = await this.store.load(accountId);
      if (s) await this.store.remove(accountId);
      return s;
    });
    await this.reload();
    return stored;
  }

  /** Forces a refresh of one account (single-flight, under the store lock). Resolves false when the account is unknown or the refresh failed. */
  async refreshAccount(accountId: string): Promise<boolean> {
    const e = this.entries.get(accountId);
    if (!e || !e.isUsable()) return false;
    try {
      await this.refresher.refresh(e, { trigger: 'forced', staleAccessToken: e.credential.accessToken });
      return e.isUsable();
    } catch {
      return false;
    }
  }

  /**
   * Hands out an account for one request: `open` starts the upstream call on it and reads it
   * far enough to know it works, and the resulting Attempt (account + what `open` returned) is
   * the caller's to commit and settle (see attempt.ts). An UpstreamFailure thrown by `open`
   * (nothing has reached the client yet) cools the account down and `open` runs again on the
   * next eligible account, up to `request-retry` more times (an account out of quota, 429
   * usage_limit / rate_limited, does not use up a retry: every account is asked before the
   * client sees a 429); a 401 refreshes the token once and retries on the same account. When every usable account is cooling it throws
   * RateLimitError (429, all_accounts_rate_limited) if they all rest for usage/rate limits, else
   * the error the other reason maps to (503 account_unauthorized after a refresh did not help,
   * 503 overloaded, 502/504 …; see cooling-error.ts), with Retry-After = the soonest return.
   * ServiceUnavailableError (503) when no account is usable, and the failure itself for kinds
   * that are the request's fault (bad_request, not_found, response_failed). With `req.where`,
   * only the accounts it accepts take part (selection, retries and those errors alike).
   *
   * Counting (unless `req.counted` is false): one request per account this request was tried
   * on; a failure for each account it left because of a failure; the outcome of the account
   * that served is counted when the Attempt is settled.
   */
  async open<T>(req: AccountRequest, open: (a: AttemptInfo) => Promise<T>): Promise<Attempt<T>> {
    const { signal } = req;
    const counted = req.counted !== false;
    const tried = new Set<string>();
    const maxAccounts = 1 + this.config.requestRetry;
    let accountsAttempted = 0;
    let attempts = 0;
    let lastFailure: unknown;

    while (accountsAttempted < maxAccounts) {
      if (signal?.aborted) throw abortError(signal);
      const entry = this.pick(req.affinityKey, tried, req.where);
      if (!entry) break;
      tried.add(entry.accountId);
      if (!(await this.ensureFresh(entry, signal))) continue;
      accountsAttempted++;
      if (counted) entry.recordRequest(this.clock.now());

      let refreshedAfter401 = false;
      for (;;) {
        attempts++;
        const account = toPoolAccount(entry);
        try {
          const upstream = await open({ attempt: attempts, account });
          const affinityKey = req.affinityKey && this.config.routing.sessionAffinity ? req.affinityKey : undefined;
          return new Attempt(this.attemptHost, entry, account, attempts, upstream, { counted, affinityKey });
        } catch (err) {
          if (signal?.aborted) throw err;
          if (err instanceof UpstreamFailure) entry.recordUsage(err.usage);
          // the request's own fault: the client's 4xx, never retried elsewhere, counted or cooled
          if (isClientFault(err)) throw err;
          if (err instanceof UpstreamFailure && err.kind === 'unauthorized' && !refreshedAfter401) {
            refreshedAfter401 = true;
            lastFailure = err;
            if (await this.refreshAfterUnauthorized(entry, err, account.auth.accessToken, signal)) continue; // same account, once
            if (counted) entry.recordFailure();
            break;
          }
          if (counted) entry.recordFailure();
          if (!(err instanceof UpstreamFailure)) throw err;
          lastFailure = err;
          if (!this.applyFailure(entry, err)) throw err;
          // an account out of quota answers at once and now rests until its reset: trying the
          // next one costs no time, so it does not use up request-retry (which bounds how long a
          // client waits on failing accounts); a 429 reaches the client only when all are out
          if (QUOTA_KINDS.has(err.kind)) accountsAttempted--;
          break;
        }
      }
    }
    throw this.exhaustedError(lastFailure, req.where);
  }

  /**
   * `open` for a call whose answer is complete when `run` resolves (non-streaming use, the
   * model catalog): the attempt is committed and finished right away.
   */
  async withAccount<T>(req: AccountRequest, run: (a: AttemptInfo) => Promise<T>): Promise<T> {
    const attempt = await this.open(req, run);
    attempt.finish();
    return attempt.upstream;
  }

  private readonly attemptHost: AttemptHost = {
    coolDownFor: (entry, failure) => {
      this.applyFailure(entry, failure);
    },
    bindAffinity: (affinityKey, accountId) => {
      if (this.entries.get(accountId)) this.affinity.bind(affinityKey, accountId, this.clock.now());
    },
  };

  // ---- selection -------------------------------------------------------------------------

  /** The entries in pool order: the map is filled in increasing `order` (a re-added account goes last), so no sort is needed. */
  private sortedEntries(): AccountEntry[] {
    return [...this.entries.values()];
  }

  private sortedEntriesWhere(where: AccountFilter | undefined): AccountEntry[] {
    const all = this.sortedEntries();
    return where ? all.filter((e) => matches(e, where)) : all;
  }

  private pick(affinityKey: string | undefined, exclude: ReadonlySet<string>, where: AccountFilter | undefined): AccountEntry | undefined {
    const now = this.clock.now();
    const eligible: AccountEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.isUsable() && !e.isCooling(now) && !exclude.has(e.accountId) && (!where || matches(e, where))) eligible.push(e);
    }
    if (eligible.length === 0) return undefined;
    const useAffinity = affinityKey !== undefined && affinityKey !== '' && this.config.routing.sessionAffinity;
    if (useAffinity) {
      const boundId = this.affinity.get(affinityKey, now);
      const bound = boundId === undefined ? undefined : eligible.find((e) => e.accountId === boundId);
      if (bound) {
        bound.picked();
        this.affinity.bind(affinityKey, bound.accountId, now);
        return bound;
      }
    }
    const entry = this.selector.pick(eligible, now);
    entry.picked();
    if (useAffinity) this.affinity.bind(affinityKey, entry.accountId, now);
    return entry;
  }

  /** Refreshes first when the token is expired or about to be (the request waits). False when the account cannot be used now. */
  private async ensureFresh(entry: AccountEntry, signal: AbortSignal | undefined): Promise<boolean> {
    if (!tokenNeedsRefresh(entry.credential, this.clock.now())) return true;
    try {
      await raceAbort(this.refresher.refresh(entry, { trigger: 'expiry', staleAccessToken: entry.credential.accessToken }), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
    }
    // a refresh that was put off (floor, backoff) leaves a token that is close to expiry but still valid: use it
    const now = this.clock.now();
    return entry.isUsable() && !entry.isCooling(now) && !tokenExpired(entry.credential, now);
  }

  /** After a 401: refresh once (or adopt what another process stored). True when a different token is now in place. */
  private async refreshAfterUnauthorized(
    entry: AccountEntry,
    failure: UpstreamFailure,
    failedAccessToken: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    try {
      await raceAbort(this.refresher.refresh(entry, { trigger: 'unauthorized', staleAccessToken: failedAccessToken }), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
    }
    if (entry.isUsable() && entry.credential.accessToken !== failedAccessToken) return true;
    if (entry.isUsable()) {
      // the store's lock could not be taken (the store is down): set aside until it is back, never refreshed without the lock
      if (!this.storeAvailable()) this.setAsideForStore(entry);
      else this.applyFailure(entry, failure);
    }
    return false;
  }

  /** An account whose token needs the store's lock while the store is down: out until the store is back (onStoreBack). */
  private setAsideForStore(entry: AccountEntry): void {
    entry.coolDown(this.clock.now() + STORE_SET_ASIDE_MS, 'store_unavailable');
    this.log.info({ accountId: entry.accountId, email: entry.credential.email }, 'Codex account set aside until the account store is reachable (its token needs a refresh)');
  }

  /** Cools the account down for a failure. False when the failure is the request's fault (not retried). */
  private applyFailure(entry: AccountEntry, failure: UpstreamFailure): boolean {
    const now = this.clock.now();
    const d = cooldownFor(failure, now, entry.backoffLevel, this.config.cooldown);
    if (!d) return false;
    this.coolDown(entry, d.until, d.reason, d.escalate);
    return true;
  }

  /** Cools the account down here and, with a shared store, in every instance (the store notifies them). */
  private coolDown(entry: AccountEntry, until: number, reason: string, escalate: boolean): void {
    entry.coolDown(until, reason, escalate);
    this.log.warn(
      { accountId: entry.accountId, email: entry.credential.email, reason, cooldownUntil: new Date(until).toISOString() },
      'Codex account cooling down',
    );
    if (!this.store.publishCooldown) return;
    const shared: SharedCooldown = { accountId: entry.accountId, until, reason, setAt: this.clock.now() };
    entry.firstSightOfShared(shared.setAt);
    this.store.publishCooldown(shared).catch((err: unknown) => {
      this.log.debug({ accountId: entry.accountId, err: scrubText(err instanceof Error ? err.message : String(err)) }, 'Could not share the cooldown with the other instances');
    });
  }

  /** A cooldown another instance shared (or one found in the store at load): applied once per publication. */
  private applySharedCooldown(c: SharedCooldown): void {
    const entry = this.entries.get(c.accountId);
    if (!entry || !entry.firstSightOfShared(c.setAt)) return;
    if (c.until <= this.clock.now() || (entry.cooldownUntil !== null && entry.cooldownUntil >= c.until)) return;
    entry.coolDown(c.until, c.reason);
    this.log.info(
      { accountId: entry.accountId, email: entry.credential.email, reason: c.reason, cooldownUntil: new Date(c.until).toISOString() },
      'Codex account cooling down (shared by another instance)',
    );
  }

  /**
   * The store is reachable again: accounts set aside because their refresh could not take the
   * store's lock come back (their refresh runs now), tokens a failed save kept in memory are
   * saved, and the accounts are re-read.
   */
  private onStoreBack(): void {
    if (this.stopped) return;
    for (const e of this.entries.values()) {
      if (e.storeBack()) {
        this.refresher.schedule(e, 0);
      } else if (e.hasUnsavedTokens()) {
        void this.refresher.refresh(e, { trigger: 'save-retry', staleAccessToken: e.credential.accessToken }).catch(() => undefined);
      }
    }
    void this.reload();
  }

  private exhaustedError(lastFailure: unknown, where: AccountFilter | undefined): Error {
    const now = this.clock.now();
    const all = this.sortedEntriesWhere(where);
    if (where && all.length === 0 && this.entries.size > 0) {
      return new ServiceUnavailableError(`None of the ${this.entries.size} loaded Codex accounts fits this request.`);
    }
    const usable = all.filter((e) => e.isUsable());
    if (usable.length === 0) return this.noUsableAccountError(all);
    const cooling = usable.filter((e) => e.isCooling(now));
    if (cooling.length === usable.length) {
      return coolingAccountsError({ cooling: cooling.map((e) => ({ reason: e.cooldownReason ?? 'cooling', until: e.cooldownUntil! })), lastFailure, now });
    }
    if (lastFailure) return lastFailure instanceof Error ? lastFailure : new Error(scrubText(String(lastFailure)));
    return new ServiceUnavailableError('No Codex account could serve the request; try again shortly.');
  }

  private noUsableAccountError(all: AccountEntry[]): ServiceUnavailableError {
    if (all.length === 0) {
      return new ServiceUnavailableError(`No Codex accounts are loaded from ${this.store.description}. Run \`cliproxy login\` to add one.`);
    }
    const needLogin = all.filter((e) => e.credential.needsLogin && !e.credential.disabled);
    const disabled = all.filter((e) => e.credential.disabled);
    const parts: string[] = [];
    if (needLogin.length > 0) {
      const reasons = [...new Set(needLogin.map((e) => e.credential.needsLogin!.reason))].join(', ');
      parts.push(`${needLogin.length} ${needLogin.length === 1 ? 'needs' : 'need'} a new login (${reasons})`);
    }
    if (disabled.length > 0) parts.push(`${disabled.length} ${disabled.length === 1 ? 'is' : 'are'} disabled`);
    return new ServiceUnavailableError(
      `No usable Codex account: of ${all.length}, ${parts.join(' and ')}. Run \`cliproxy login\` to sign in again (\`cliproxy status\` lists the accounts).`,
    );
  }

  // ---- discovery ---------------------------------------------------------------------------

  private async applyListing(initial: boolean): Promise<void> {
    let listing;
    try {
      listing = await this.store.list();
    } catch (err) {
      this.log.error({ store: this.store.description, err: err instanceof Error ? scrubText(err.message) : String(err) }, 'Could not list Codex accounts');
      if (initial) throw err;
      return;
    }
    if (this.stopped && !initial) return;
    const locked = listing.problems.filter((p) => p.kind === 'locked');
    if (initial && locked.length > 0) throw new StoreLockedError(locked, this.store.description);

    const problems = new Map<string, string>();
    for (const p of listing.problems) {
      problems.set(p.location, p.reason);
      if (this.loggedProblems.get(p.location) !== p.reason) {
        const reason = scrubText(p.reason);
        this.log.error({ location: p.location, reason }, `Skipping account file ${p.location}: ${reason}`);
      }
    }
    this.loggedProblems = problems;

    const seen = new Set<string>();
    for (const stored of listing.accounts) {
      const id = stored.credential.accountId;
      if (seen.has(id)) continue;
      seen.add(id);
      const existing = this.entries.get(id);
      if (existing) {
        this.mergeStored(existing, stored);
        continue;
      }
      const entry = new AccountEntry(stored, this.nextOrder++);
      this.entries.set(id, entry);
      this.refresher.schedule(entry);
      if (!initial) this.log.info({ accountId: id, email: stored.credential.email, location: stored.location }, 'Codex account added');
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      this.refresher.forget(entry);
      this.affinity.forget(id);
      this.entries.delete(id);
      this.log.info({ accountId: id, email: entry.credential.email }, 'Codex account removed');
    }

    if (this.store.listCooldowns) {
      try {
        for (const c of await this.store.listCooldowns(this.clock.now())) this.applySharedCooldown(c);
      } catch (err) {
        this.log.debug({ err: scrubText(err instanceof Error ? err.message : String(err)) }, 'Could not read the shared cooldowns');
      }
    }

    if (initial) {
      const { total, usable } = this.size();
      const extra = total === usable ? '' : ` (${usable} usable)`;
      this.log.info({ store: this.store.description, total, usable }, `Loaded ${total} Codex accounts${extra}`);
    }
  }

  /** A changed entry: AccountEntry.mergeStored's rule, then logs and reschedules what changed. */
  private mergeStored(entry: AccountEntry, stored: StoredAccount): void {
    const s = stored.credential;
    const wasUsable = entry.isUsable();
    const winner = entry.mergeStored(stored);
    const usable = entry.isUsable();
    if (usable !== wasUsable) {
      this.log.info({ accountId: s.accountId, email: s.email, state: entry.state(this.clock.now()) }, usable ? 'Codex account usable again' : 'Codex account no longer usable');
    }
    if (usable !== wasUsable || winner === 'stored') this.refresher.schedule(entry);
  }
}

/** Failures that mean "this account is out of quota for now" (see open). */
const QUOTA_KINDS: ReadonlySet<string> = new Set(['usage_limit', 'rate_limited']);

function matches(e: AccountEntry, where: AccountFilter): boolean {
  return where({ accountId: e.accountId, email: e.credential.email, planType: e.credential.planType });
}

function toPoolAccount(e: AccountEntry): PoolAccount {
  const c = e.credential;
  return { accountId: c.accountId, email: c.email, planType: c.planType, auth: { accessToken: c.accessToken, accountId: c.accountId } };
}

/** Waits for `p`, or rejects as soon as `signal` aborts (the shared work `p` stands for goes on). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
