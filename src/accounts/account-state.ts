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

/** A token within this many ms of its expiry is not handed out before a refresh. */
export const HANDOUT_EXPIRY_MARGIN_MS = 30_000;
/** Codex also refreshes when the last refresh is older than 8 days. */
export const MAX_REFRESH_AGE_MS = 8 * 24 * 3600 * 1000;

export class AccountEntry {
  credential: Credential;
  location: string;
  /** Stable position among loaded accounts (first seen first); strategies use it as the order. */
  readonly order: number;
  readonly counters: AccountCounters = emptyCounters();
  cooldownUntil: number | null = null;
  cooldownReason: string | null = null;
  /** Times the selector handed this account out (counted at pick time, so concurrent picks see each other). */
  picks = 0;
  /** Consecutive failures without a known reset time; drives the exponential backoff. */
  backoffLevel = 0;
  /** Consecutive transient refresh failures; drives the refresh retry backoff. */
  refreshBackoffLevel = 0;
  usage: UsageSnapshot | null = null;
  /** Set while a refresh for this account is in flight (single-flight). */
  refreshing: Promise<void> | null = null;
  /** Cancels the scheduled proactive refresh. */
  cancelScheduledRefresh: (() => void) | null = null;
  /**
   * Tokens in use that the store has not accepted yet (a save failed after a refresh: the old
   * refresh token is already spent, so they are kept and the save is retried). Null when saved.
   */
  unsaved: { accessToken: string; refreshToken: string } | null = null;
  /** Consecutive failed saves of `unsaved`; drives the save retry backoff. */
  saveRetryLevel = 0;
  /** Cancels the scheduled retry of the save. */
  cancelSaveRetry: (() => void) | null = null;

  constructor(stored: StoredAccount, order: number) {
    this.credential = stored.credential;
    this.location = stored.location;
    this.order = order;
  }

  get accountId(): string {
    return this.credential.accountId;
  }

  /** True while the tokens in use are the ones a failed save left unsaved. */
  hasUnsavedTokens(): boolean {
    const u = this.unsaved;
    return u !== null && u.accessToken === this.credential.accessToken && u.refreshToken === this.credential.refreshToken;
  }

  /** Disabled in its file, or marked as needing a new login: never handed out. */
  isUsable(): boolean {
    return isUsableCredential(this.credential);
  }

  /**
   * Whose tokens to keep when the store holds `stored` for this account: 'same' when the
   * tokens are equal; else 'ours' when ours were refreshed later, or when a failed save left
   * ours unsaved (the stored refresh token is then spent) and the stored ones are not newer;
   * else 'stored'.
   */
  tokenWinner(stored: Credential): 'same' | 'ours' | 'stored' {
    const mem = this.credential;
    if (stored.refreshToken === mem.refreshToken && stored.accessToken === mem.accessToken) return 'same';
    const ours = mem.lastRefresh ?? 0;
    const theirs = stored.lastRefresh ?? 0;
    return ours > theirs || (this.hasUnsavedTokens() && ours >= theirs) ? 'ours' : 'stored';
  }

  isCooling(now: number): boolean {
    return this.cooldownUntil !== null && this.cooldownUntil > now;
  }

  coolDown(until: number, reason: string): void {
    // a longer cooldown already in place wins (e.g. a usage limit over a transient blip)
    if (this.cooldownUntil !== null && this.cooldownUntil > until) return;
    this.cooldownUntil = until;
    this.cooldownReason = reason;
  }

  clearCooldown(): void {
    this.cooldownUntil = null;
    this.cooldownReason = null;
  }

  recordAttempt(now: number): void {
    this.counters.requests++;
    this.counters.lastUsed = now;
  }

  recordSuccess(): void {
    this.counters.successes++;
    this.backoffLevel = 0;
  }

  recordFailure(): void {
    this.counters.failures++;
  }

  recordTokens(inputTokens = 0, outputTokens = 0): void {
    this.counters.inputTokens += inputTokens;
    this.counters.outputTokens += outputTokens;
  }

  recordUsage(usage: UsageSnapshot | undefined): void {
    if (!usage || (!usage.primary && !usage.secondary)) return;
    const next: UsageSnapshot = { ...this.usage };
    if (usage.primary) next.primary = usage.primary;
    if (usage.secondary) next.secondary = usage.secondary;
    this.usage = next;
  }

  state(now: number): AccountStateName {
    return stateOf(this.credential, now, { cooling: this.isCooling(now), refreshing: this.refreshing !== null });
  }

  status(now: number): AccountStatus {
    const cooling = this.isCooling(now);
    return {
      ...baseStatus(this.credential, this.location),
      state: this.state(now),
      cooldownUntil: cooling ? this.cooldownUntil : null,
      cooldownReason: cooling ? this.cooldownReason : null,
      ...this.counters,
      usage: this.usage,
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

/** True when the access token must be refreshed before it is handed out. */
export function tokenNeedsRefresh(c: Credential, now: number): boolean {
  if (c.expiresAt !== null && c.expiresAt - now <= HANDOUT_EXPIRY_MARGIN_MS) return true;
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
