/** Counters a test can read: per account and totals. */
import type { SandboxStats } from './types.js';

export type StatName = keyof SandboxStats;

function zero(): SandboxStats {
  return { requests: 0, refreshes: 0, refreshReuses: 0, rateLimited: 0, failures: 0 };
}

export class StatsBook {
  private totals = zero();
  private perAccount = new Map<string, SandboxStats>();

  bump(name: StatName, accountId?: string): void {
    this.totals[name] += 1;
    if (accountId === undefined) return;
    let s = this.perAccount.get(accountId);
    if (!s) {
      s = zero();
      this.perAccount.set(accountId, s);
    }
    s[name] += 1;
  }

  get(accountId?: string): SandboxStats {
    if (accountId === undefined) return { ...this.totals };
    return { ...(this.perAccount.get(accountId) ?? zero()) };
  }

  reset(): void {
    this.totals = zero();
    this.perAccount = new Map();
  }
}
