import type { Credential } from './credential.js';
import type { StoredAccount } from './store.js';
import type { UsageSnapshot, UsageWindow } from '../upstream/types.js';

/**
 * Runtime state the pool keeps per account (counters, cooldown, last usage headers) next to
 * the stored credential. Plain data plus small, clock-free helpers: every function takes `now`.
 */

export type AccountStateName = 'ready' | 'cooling' | 'refreshing' | 'expired' | 'needs-login' | 'disabled';

export interface AccountCounters {
  requests: number;
  successes: number;
  failures: number;
  inputTokens: number;
  outputTokens: number;
  lastUsed: number | null;
}

export function emptyCounters(): AccountCounters {
  return { requests: 0, successes: 0, failures: 0, inputTokens: 0, outputTokens: 0, lastUsed: null };
}

/** What `cliproxy status`, metrics and the management route see about one account. No secrets. */
export interface AccountStatus extends AccountCounters {
  accountId: string;
  email: string;
  planType: string;
  /** File path (file store) or row key. */
  location: string;
  authMethod: Credential['authMethod'];
  state: AccountStateName;
  disabled: boolean;
  needsLogin: { reason: string; at: number } | null;
  /** Access-token expiry, ms since epoch. */
  expiresAt: number | null;
  lastRefresh: number | null;
  cooldownUntil: number | null;
  cooldownReason: string | null;
  /** The last x-codex-* usage headers seen for this account. */
  usage: UsageSnapshot | null;
}

/**
 * A token within this many ms of its expiry is not handed out before a refresh; for a token
 * whose whole lifetime is short, a quarter of that lifetime (a 20-second token is not "always
 * about to expire").
 */
export const HANDOUT_EXPIRY_MARGIN_MS = 30_000;
/** Two refreshes of one account (proactive or before a request) are never closer than this. */
export const MIN_REFRESH_INTERVAL_MS = 5_000;
/** Codex also refreshes when the last refresh is older than 8 days. */
export const MAX_REFRESH_AGE_MS = 8 * 24 * 3600 * 1000;

/**
 * Whose tokens to keep when the store holds other ones for an account (see AccountEntry.mergeStored):
 * 'same' (equal tokens), 'ours' (ours are newer, or unsaved and not older), 'stored'.
 */
export type TokenWinner = 'same' | 'ours' | 'stored';

/** Cooldowns about the current token: they end when other tokens are put in use. */
const TOKEN_COOLDOWNS: ReadonlySet<string> = new Set(['refresh_failed', 'unauthorized', 'store_unavailable']);

/**
 * One account's runtime state. Every change goes through a method here (the pool, the
 * refresher and the attempts call them); the fields are read-only from outside.
 */
export class AccountEntry {
  private cred: Credential;
  private loc: string;
  /** Stable position among loaded accounts (first seen first); strategies use it as the order. */
  readonly order: number;
  private readonly count: AccountCounters = emptyCounters();
  private coolUntil: number | null = null;
  private coolReason: string | null = null;
  private pickCount = 0;
  private backoff = 0;
  private refreshBackoff = 0;
  private lastUsage: UsageSnapshot | null = null;
  private unsavedTokens: { accessToken: string; refreshToken: string } | null = null;
  private saveRetries = 0;
  /** When this process last refreshed the account's tokens (ms since epoch; 0 = never; the refresher's slot). */
  lastRefreshedAt = 0;
  /**
   * No proactive or before-a-request refresh until then (ms since epoch; the refresher's slot):
   * set after a refresh returned a token that was already about to expire, so refreshing backs off instead of looping.
   */
  refreshNotBefore = 0;
  /** The refresh-lock problem last warned about for this account (each is warned about once). */
  lockProblemLogged: string | null = null;
  /** The save problem last logged for this account (repeats go to debug until a save works). */
  saveProblemLogged: string | null = null;
  /** setAt of the last shared cooldown applied or published for this account (each is applied once). */
  private sharedAt = 0;
  /** Set while a refresh for this account is in flight (single-flight; the refresher's slot). */
  refreshing: Promise<void> | null = null;
  /** Cancels the scheduled proactive refresh (the refresher's slot). */
  cancelScheduledRefresh: (() => void) | null = null;
  /** Cancels the scheduled retry of a failed save (the refresher's slot). */
  cancelSaveRetry: (() => void) | null = null;

  constructor(stored: StoredAccount, order: number) {
    this.cred = stored.credential;
    this.loc = stored.location;
    this.order = order;
  }

  get accountId(): string {
    return this.cred.accountId;
  }
  get credential(): Credential {
    return this.cred;
  }
  /** File path (file store) or row key. */
  get location(): string {
    return this.loc;
  }
  get counters(): Readonly<AccountCounters> {
    return this.count;
  }
  get cooldownUntil(): number | null {
    return this.coolUntil;
  }
  get cooldownReason(): string | null {
    return this.coolReason;
  }
  /** Times the selector handed this account out (counted at pick time, so concurrent picks see each other). */
  get picks(): number {
    return this.pickCount;
  }
  /** Consecutive failures without a known reset time; drives the exponential backoff. */
  get backoffLevel(): number {
    return this.backoff;
  }
  get usage(): UsageSnapshot | null {
    return this.lastUsage;
  }

  // ---- tokens and flags -------------------------------------------------------------------------

  /** True while the tokens in use are the ones a failed save left unsaved. */
  hasUnsavedTokens(): boolean {
    const u = this.unsavedTokens;
    return u !== null && u.accessToken === this.cred.accessToken && u.refreshToken === this.cred.refreshToken;
  }

  /** True when the entry had unsaved tokens (saved or not by now): a successful save is then worth a log line. */
  hadUnsavedTokens(): boolean {
    return this.unsavedTokens !== null;
  }

  /** Disabled in its file, or marked as needing a new login: never handed out. */
  isUsable(): boolean {
    return isUsableCredential(this.cred);
  }

  /**
   * Whose tokens to keep when the store holds `stored` for this account: 'same' when the
   * tokens are equal; else 'ours' when ours were refreshed later, or when a failed save left
   * ours unsaved (the stored refresh token is then spent) and the stored ones are not newer;
   * else 'stored'.
   */
  tokenWinner(stored: Credential): TokenWinner {
    const mem = this.cred;
    if (stored.refreshToken === mem.refreshToken && stored.accessToken === mem.accessToken) return 'same';
    const ours = mem.lastRefresh ?? 0;
    const theirs = stored.lastRefresh ?? 0;
    return ours > theirs || (this.hasUnsavedTokens() && ours >= theirs) ? 'ours' : 'stored';
  }

  /**
   * The one rule for what the store holds for this account (the watcher's reload and the
   * re-read before a refresh both use it):
   * - tokens: the winner's (tokenWinner); stored tokens that win also end a refresh backoff and
   *   a cooldown that was about the old tokens (refresh_failed, unauthorized);
   * - flags (disabled, email, plan, extra) and the location always follow the store;
   * - a needs-login mark follows the stored tokens when they win, and is kept when the tokens
   *   are ours or the same (the store cannot revive tokens we know are dead; it can mark them).
   */
  mergeStored(stored: StoredAccount): TokenWinner {
    const s = stored.credential;
    const winner = this.tokenWinner(s);
    this.loc = stored.location;
    if (winner === 'stored') {
      this.cred = s;
      this.refreshBackoff = 0;
      if (this.coolReason !== null && TOKEN_COOLDOWNS.has(this.coolReason)) this.clearCooldown();
      return winner;
    }
    const tokens = winner === 'same' ? s : this.cred;
    const needsLogin = s.needsLogin ?? this.cred.needsLogin;
    const { needsLogin: _drop, ...rest } = tokens;
    void _drop;
    this.cred = {
      ...rest,
      disabled: s.disabled,
      email: s.email,
      planType: s.planType,
      extra: s.extra,
      ...(needsLogin ? { needsLogin } : {}),
    };
    return winner;
  }

  /**
   * Puts refreshed (or re-saved) tokens in use. `savedAt` is the location the store wrote them
   * to; undefined when the save failed: they are kept as unsaved (the old refresh token is spent).
   */
  useTokens(next: Credential, savedAt: string | undefined): void {
    this.cred = next;
    if (savedAt === undefined) {
      this.unsavedTokens = { accessToken: next.accessToken, refreshToken: next.refreshToken };
      return;
    }
    this.loc = savedAt;
    this.unsavedTokens = null;
    this.saveRetries = 0;
  }

  /** A refresh worked: its backoff ends, and a cooldown that was about the old token too. */
  refreshSucceeded(): void {
    this.refreshBackoff = 0;
    if (this.coolReason !== null && TOKEN_COOLDOWNS.has(this.coolReason)) this.clearCooldown();
  }

  /** The store is reachable again: an account set aside for it returns (true), its refresh backoff reset. */
  storeBack(): boolean {
    if (this.coolReason !== 'store_unavailable') return false;
    this.clearCooldown();
    this.refreshBackoff = 0;
    return true;
  }

  /**
   * A shared cooldown published at `setAt` (by this process or another): true the first time
   * it is seen, false when it (or a later one) was already applied or published here.
   */
  firstSightOfShared(setAt: number): boolean {
    if (setAt <= this.sharedAt) return false;
    this.sharedAt = setAt;
    return true;
  }

  /** A transient refresh failure: returns the backoff level to wait for and raises it. */
  refreshFailed(): number {
    return this.refreshBackoff++;
  }

  /** A failed save of unsaved tokens: returns the backoff level to wait for and raises it. */
  saveFailed(): number {
    return this.saveRetries++;
  }

  /** The refresh token was refused for good: the account waits for a new login (no cooldown meanwhile). */
  markNeedsLogin(reason: string, at: number): Credential {
    this.cred = { ...this.cred, needsLogin: { reason, at } };
    this.clearCooldown();
    return this.cred;
  }

  /** The store wrote the account here. */
  savedAt(location: string): void {
    this.loc = location;
  }

  // ---- selection and cooldown -------------------------------------------------------------------

  picked(): void {
    this.pickCount++;
  }

  isCooling(now: number): boolean {
    return this.coolUntil !== null && this.coolUntil > now;
  }

  /** Rests the account until `until`; `escalate` raises the backoff level for the next failure. */
  coolDown(until: number, reason: string, escalate = false): void {
    if (escalate) this.backoff++;
    // a longer cooldown already in place wins (e.g. a usage limit over a transient blip)
    if (this.coolUntil !== null && this.coolUntil > until) return;
    this.coolUntil = until;
    this.coolReason = reason;
  }

  clearCooldown(): void {
    this.coolUntil = null;
    this.coolReason = null;
  }

  // ---- counters (one request per client request; see pool.ts Attempt) ---------------------------

  recordRequest(now: number): void {
    this.count.requests++;
    this.count.lastUsed = now;
  }

  recordSuccess(): void {
    this.count.successes++;
    this.backoff = 0;
  }

  recordFailure(): void {
    this.count.failures++;
  }

  recordTokens(inputTokens = 0, outputTokens = 0): void {
    this.count.inputTokens += inputTokens;
    this.count.outputTokens += outputTokens;
  }

  recordUsage(usage: UsageSnapshot | undefined): void {
    if (!usage || (!usage.primary && !usage.secondary)) return;
    const next: UsageSnapshot = { ...this.lastUsage };
    if (usage.primary) next.primary = usage.primary;
    if (usage.secondary) next.secondary = usage.secondary;
    this.lastUsage = next;
  }

  state(now: number): AccountStateName {
    return stateOf(this.cred, now, { cooling: this.isCooling(now), refreshing: this.refreshing !== null });
  }

  status(now: number): AccountStatus {
    const cooling = this.isCooling(now);
    return {
      ...baseStatus(this.cred, this.loc),
      state: this.state(now),
      cooldownUntil: cooling ? this.coolUntil : null,
      cooldownReason: cooling ? this.coolReason : null,
      ...this.count,
      usage: this.lastUsage,
    };
  }
}

/** An account the pool may hand out: not disabled, not waiting for a new login (an expired access token is refreshable). */
export function isUsableCredential(c: Credential): boolean {
  return !c.disabled && !c.needsLogin;
}

/** The state of an account; `runtime` is what only a running pool knows (all false without one). */
export function stateOf(c: Credential, now: number, runtime: { cooling: boolean; refreshing: boolean } = { cooling: false, refreshing: false }): AccountStateName {
  if (c.disabled) return 'disabled';
  if (c.needsLogin) return 'needs-login';
  if (runtime.refreshing) return 'refreshing';
  if (runtime.cooling) return 'cooling';
  if (c.expiresAt !== null && c.expiresAt <= now) return 'expired';
  return 'ready';
}

function baseStatus(c: Credential, location: string): Omit<AccountStatus, 'state' | 'cooldownUntil' | 'cooldownReason' | keyof AccountCounters | 'usage'> {
  return {
    accountId: c.accountId,
    email: c.email,
    planType: c.planType,
    location,
    authMethod: c.authMethod,
    disabled: c.disabled,
    needsLogin: c.needsLogin ? { reason: c.needsLogin.reason, at: c.needsLogin.at } : null,
    expiresAt: c.expiresAt,
    lastRefresh: c.lastRefresh,
  };
}

/** Status of an account read straight from the store, with no running pool (e.g. `cliproxy status` without a server). */
export function statusFromStored(stored: StoredAccount, now: number): AccountStatus {
  return {
    ...baseStatus(stored.credential, stored.location),
    state: stateOf(stored.credential, now),
    cooldownUntil: null,
    cooldownReason: null,
    ...emptyCounters(),
    usage: null,
  };
}

/** How long the access token lives from its refresh to its expiry, when both are known. */
export function tokenLifetimeMs(c: Credential): number | undefined {
  if (c.expiresAt === null || c.lastRefresh === null || c.expiresAt <= c.lastRefresh) return undefined;
  return c.expiresAt - c.lastRefresh;
}

/** The margin before expiry within which a token is refreshed before use: min(30 s, lifetime / 4). */
export function handoutMarginMs(c: Credential): number {
  const lifetime = tokenLifetimeMs(c);
  return lifetime === undefined ? HANDOUT_EXPIRY_MARGIN_MS : Math.min(HANDOUT_EXPIRY_MARGIN_MS, lifetime / 4);
}

/** True when the access token has expired (it cannot be used at all). */
export function tokenExpired(c: Credential, now: number): boolean {
  return c.expiresAt !== null && c.expiresAt <= now;
}

/** True when the access token must be refreshed before it is handed out. */
export function tokenNeedsRefresh(c: Credential, now: number): boolean {
  if (c.expiresAt !== null && c.expiresAt - now <= handoutMarginMs(c)) return true;
  if (c.lastRefresh !== null && now - c.lastRefresh >= MAX_REFRESH_AGE_MS) return true;
  return false;
}

/** Used percent of a window, treating a window whose reset time has passed as empty. */
export function windowUsedPercent(w: UsageWindow | undefined, now: number): number {
  if (!w || w.usedPercent === undefined) return 0;
  if (w.resetAt !== undefined && w.resetAt <= now) return 0;
  return w.usedPercent;
}

/** The highest used percent across the primary (5 h) and secondary (weekly) windows. */
export function usedPercent(usage: UsageSnapshot | null, now: number): number {
  if (!usage) return 0;
  return Math.max(windowUsedPercent(usage.primary, now), windowUsedPercent(usage.secondary, now));
}
