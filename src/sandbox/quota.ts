/**
 * Per-account usage: a request quota per window (setQuota) that yields 429
 * usage_limit_reached, and the numbers behind the x-codex-* usage headers.
 */
import type { Clock } from '../util/clock.js';

const DEFAULT_PRIMARY_WINDOW_SECONDS = 5 * 60 * 60;
const SECONDARY_WINDOW_SECONDS = 7 * 24 * 60 * 60;

interface Window {
  limit: number | null;
  windowMs: number;
  startedAt: number;
  used: number;
}

export interface UsageView {
  primaryUsedPercent: number;
  primaryWindowMinutes: number;
  primaryResetAt: number; // unix s
  primaryResetAfterSeconds: number;
  secondaryUsedPercent: number;
  secondaryWindowMinutes: number;
  secondaryResetAt: number;
  secondaryResetAfterSeconds: number;
}

export type QuotaDecision = { ok: true } | { ok: false; resetsAt: number /* unix s */; resetsInSeconds: number };

export class QuotaBook {
  private readonly primary = new Map<string, Window>();
  private readonly secondary = new Map<string, Window>();

  constructor(private readonly clock: Clock) {}

  setQuota(accountId: string, limit: number, resetsInSeconds: number): void {
    this.primary.set(accountId, { limit, windowMs: resetsInSeconds * 1000, startedAt: this.clock.now(), used: 0 });
  }

  private window(map: Map<string, Window>, accountId: string, defaultMs: number): Window {
    const now = this.clock.now();
    let w = map.get(accountId);
    if (!w) {
      w = { limit: null, windowMs: defaultMs, startedAt: now, used: 0 };
      map.set(accountId, w);
    }
    if (now >= w.startedAt + w.windowMs) {
      // A new window starts at the most recent boundary.
      const elapsed = Math.floor((now - w.startedAt) / w.windowMs);
      w.startedAt += elapsed * w.windowMs;
      w.used = 0;
    }
    return w;
  }

  /** Whether the account may make one more request in its current window. */
  check(accountId: string): QuotaDecision {
    const p = this.window(this.primary, accountId, DEFAULT_PRIMARY_WINDOW_SECONDS * 1000);
    if (p.limit !== null && p.used >= p.limit) {
      const resetMs = p.startedAt + p.windowMs;
      return { ok: false, resetsAt: Math.ceil(resetMs / 1000), resetsInSeconds: Math.max(1, Math.ceil((resetMs - this.clock.now()) / 1000)) };
    }
    return { ok: true };
  }

  /** Counts a request that was served. */
  record(accountId: string): void {
    this.window(this.primary, accountId, DEFAULT_PRIMARY_WINDOW_SECONDS * 1000).used += 1;
    this.window(this.secondary, accountId, SECONDARY_WINDOW_SECONDS * 1000).used += 1;
  }

  view(accountId: string): UsageView {
    const now = this.clock.now();
    const p = this.window(this.primary, accountId, DEFAULT_PRIMARY_WINDOW_SECONDS * 1000);
    const s = this.window(this.secondary, accountId, SECONDARY_WINDOW_SECONDS * 1000);
    const pReset = p.startedAt + p.windowMs;
    const sReset = s.startedAt + s.windowMs;
    // Without a quota the account reports 0% used. The weekly window holds seven primary windows' worth.
    const pPct = p.limit !== null ? percent(p.used, p.limit) : 0;
    const sPct = p.limit !== null ? percent(s.used, p.limit * 7) : 0;
    return {
      primaryUsedPercent: pPct,
      primaryWindowMinutes: Math.max(1, Math.round(p.windowMs / 60000)),
      primaryResetAt: Math.ceil(pReset / 1000),
      primaryResetAfterSeconds: Math.max(0, Math.ceil((pReset - now) / 1000)),
      secondaryUsedPercent: sPct,
      secondaryWindowMinutes: Math.round(s.windowMs / 60000),
      secondaryResetAt: Math.ceil(sReset / 1000),
      secondaryResetAfterSeconds: Math.max(0, Math.ceil((sReset - now) / 1000)),
    };
  }
}

function percent(used: number, limit: number): number {
  if (limit <= 0) return 100;
  return Math.min(100, Math.round((used * 100) / limit));
}

export function usageHeaders(v: UsageView): Record<string, string> {
  return {
    'x-codex-primary-used-percent': String(v.primaryUsedPercent),
    'x-codex-primary-window-minutes': String(v.primaryWindowMinutes),
    'x-codex-primary-reset-at': String(v.primaryResetAt),
    'x-codex-primary-reset-after-seconds': String(v.primaryResetAfterSeconds),
    'x-codex-secondary-used-percent': String(v.secondaryUsedPercent),
    'x-codex-secondary-window-minutes': String(v.secondaryWindowMinutes),
    'x-codex-secondary-reset-at': String(v.secondaryResetAt),
    'x-codex-secondary-reset-after-seconds': String(v.secondaryResetAfterSeconds),
  };
}
