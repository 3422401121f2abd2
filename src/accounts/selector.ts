import type { Config } from '../config/schema.js';
import type { UsageSnapshot } from '../upstream/types.js';
import { usedPercent } from './account-state.js';

/**
 * Picking one account among the eligible ones. Strategies are small classes behind one
 * interface; session affinity sits in front of them and is independent of the strategy.
 */

export interface Candidate {
  accountId: string;
  /** Stable order of the account in the pool (first loaded first). */
  order: number;
  /** How often the account was picked so far (includes requests still in flight). */
  picks: number;
  usage: UsageSnapshot | null;
}

export interface Selector {
  readonly name: Config['routing']['strategy'];
  /** Picks one of `candidates` (non-empty, sorted by `order`); returns that very object. */
  pick<C extends Candidate>(candidates: readonly C[], now: number): C;
}

/** Each account in turn: the next one after the last pick, in pool order, wrapping around. */
export class RoundRobinSelector implements Selector {
  readonly name = 'round-robin' as const;
  private lastOrder = -1;

  pick<C extends Candidate>(candidates: readonly C[]): C {
    const next = candidates.find((c) => c.order > this.lastOrder) ?? first(candidates);
    this.lastOrder = next.order;
    return next;
  }
}

/** Always the first eligible account: one account is used until it is limited, the others keep their windows fresh. */
export class FillFirstSelector implements Selector {
  readonly name = 'fill-first' as const;

  pick<C extends Candidate>(candidates: readonly C[]): C {
    return first(candidates);
  }
}

/**
 * Most headroom first, from the last x-codex-*-used-percent headers (the higher of the primary
 * and secondary windows; a window whose reset time has passed counts as empty). Ties go to the
 * account picked less often, then pool order.
 */
export class LeastUsedSelector implements Selector {
  readonly name = 'least-used' as const;

  pick<C extends Candidate>(candidates: readonly C[], now: number): C {
    let best = first(candidates);
    let bestUsed = usedPercent(best.usage, now);
    for (const c of candidates) {
      const used = usedPercent(c.usage, now);
      if (used < bestUsed || (used === bestUsed && c.picks < best.picks)) {
        best = c;
        bestUsed = used;
      }
    }
    return best;
  }
}

export function createSelector(strategy: Config['routing']['strategy']): Selector {
  switch (strategy) {
    case 'round-robin':
      return new RoundRobinSelector();
    case 'fill-first':
      return new FillFirstSelector();
    case 'least-used':
      return new LeastUsedSelector();
  }
}

function first<C extends Candidate>(candidates: readonly C[]): C {
  const c = candidates[0];
  if (!c) throw new Error('selector called without candidates');
  return c;
}

/**
 * Session affinity: requests with the same key (prompt_cache_key / session id) go to the same
 * account while the binding is fresh, so the backend's prompt cache keeps hitting. A binding
 * lasts `ttlMs` after its last use.
 */
export class SessionAffinity {
  private readonly bindings = new Map<string, { accountId: string; expiresAt: number }>();
  private nextSweepAt = 0;

  constructor(private ttlMs: number) {}

  /** A new lifetime for bindings made from now on (config reload). */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
  }

  /** The bound account, when the binding has not expired. */
  get(key: string, now: number): string | undefined {
    const b = this.bindings.get(key);
    if (!b) return undefined;
    if (b.expiresAt <= now) {
      this.bindings.delete(key);
      return undefined;
    }
    return b.accountId;
  }

  bind(key: string, accountId: string, now: number): void {
    this.bindings.set(key, { accountId, expiresAt: now + this.ttlMs });
    if (now >= this.nextSweepAt) this.sweep(now);
  }

  /** Drops every binding to an account (it was removed from the pool). */
  forget(accountId: string): void {
    for (const [key, b] of this.bindings) if (b.accountId === accountId) this.bindings.delete(key);
  }

  size(): number {
    return this.bindings.size;
  }

  private sweep(now: number): void {
    for (const [key, b] of this.bindings) if (b.expiresAt <= now) this.bindings.delete(key);
    this.nextSweepAt = now + Math.min(this.ttlMs, 60_000);
  }
}
