/**
 * Usage per account and model: requests, tokens in/out and errors in 5-minute buckets over the
 * last 24 hours, so "the last hour" and "the last day" are sums of buckets and the dashboard's
 * hourly chart is a regrouping. The buckets are persisted (see UsagePersistence) so a restart
 * keeps the history: loaded at start, flushed a few seconds after a change and on close.
 */
import type { Clock } from '../../util/clock.js';

export const BUCKET_MS = 5 * 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
const FLUSH_DELAY_MS = 5_000;

export interface UsageCounts {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  errors: number;
}

/** One bucket of one account and model. `start` is ms since epoch, a multiple of BUCKET_MS. */
export interface UsageBucket extends UsageCounts {
  start: number;
  accountId: string;
  model: string;
}

/** Where buckets are kept between runs (a file in the auth dir, or a table). */
export interface UsagePersistence {
  readonly description: string;
  load(): Promise<UsageBucket[]>;
  /** Replaces what is stored by `buckets` (the file) or adds these increments (a table shared by instances). */
  save(all: UsageBucket[], increments: UsageBucket[]): Promise<void>;
  /** Releases connections (the table). */
  close?(): Promise<void>;
}

export interface UsageRecord {
  accountId: string;
  model: string;
  inputTokens?: number;
  outputTokens?: number;
  error: boolean;
}

export interface UsageLogger {
  warn(obj: object, msg?: string): void;
}

function zero(): UsageCounts {
  return { requests: 0, inputTokens: 0, outputTokens: 0, errors: 0 };
}

function add(into: UsageCounts, from: UsageCounts): void {
  into.requests += from.requests;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.errors += from.errors;
}

function key(start: number, accountId: string, model: string): string {
  return `${start}\u0000${accountId}\u0000${model}`;
}

export interface WindowSummary {
  totals: UsageCounts;
  byAccount: Array<UsageCounts & { accountId: string }>;
  byModel: Array<UsageCounts & { model: string }>;
  byAccountAndModel: Array<UsageCounts & { accountId: string; model: string }>;
}

export class UsageTracker {
  private readonly buckets = new Map<string, UsageBucket>();
  /** Increments not yet saved (for a persistence that adds them up). */
  private pending = new Map<string, UsageBucket>();
  private cancelFlush: (() => void) | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly persistence: UsagePersistence | null,
    private readonly log: UsageLogger,
  ) {}

  /** Loads the stored history (a missing or unreadable store starts empty, with a warning for the latter). */
  async start(): Promise<void> {
    if (!this.persistence) return;
    let loaded: UsageBucket[];
    try {
      loaded = await this.persistence.load();
    } catch (err) {
      this.log.warn({ store: this.persistence.description, reason: (err as Error).message }, 'could not read the usage history; starting empty');
      return;
    }
    const oldest = this.oldestKept();
    for (const b of loaded) {
      if (b.start < oldest) continue;
      const k = key(b.start, b.accountId, b.model);
      const existing = this.buckets.get(k);
      if (existing) add(existing, b);
      else this.buckets.set(k, { ...b });
    }
  }

  record(r: UsageRecord): void {
    const start = Math.floor(this.clock.now() / BUCKET_MS) * BUCKET_MS;
    const k = key(start, r.accountId, r.model);
    const delta: UsageCounts = { requests: 1, inputTokens: r.inputTokens ?? 0, outputTokens: r.outputTokens ?? 0, errors: r.error ? 1 : 0 };
    for (const map of [this.buckets, this.pending]) {
      let b = map.get(k);
      if (!b) {
        b = { start, accountId: r.accountId, model: r.model, ...zero() };
        map.set(k, b);
      }
      add(b, delta);
    }
    this.scheduleFlush();
  }

  /** Sums over the last `windowMs` (buckets that started within it). */
  summary(windowMs: number): WindowSummary {
    const from = this.clock.now() - windowMs;
    const totals = zero();
    const byAccount = new Map<string, UsageCounts & { accountId: string }>();
    const byModel = new Map<string, UsageCounts & { model: string }>();
    const byBoth = new Map<string, UsageCounts & { accountId: string; model: string }>();
    for (const b of this.buckets.values()) {
      if (b.start + BUCKET_MS <= from) continue;
      add(totals, b);
      const a = byAccount.get(b.accountId) ?? { accountId: b.accountId, ...zero() };
      add(a, b);
      byAccount.set(b.accountId, a);
      const m = byModel.get(b.model) ?? { model: b.model, ...zero() };
      add(m, b);
      byModel.set(b.model, m);
      const bk = `${b.accountId}\u0000${b.model}`;
      const am = byBoth.get(bk) ?? { accountId: b.accountId, model: b.model, ...zero() };
      add(am, b);
      byBoth.set(bk, am);
    }
    const byRequests = <T extends UsageCounts>(x: T, y: T) => y.requests - x.requests;
    return {
      totals,
      byAccount: [...byAccount.values()].sort(byRequests),
      byModel: [...byModel.values()].sort(byRequests),
      byAccountAndModel: [...byBoth.values()].sort(byRequests),
    };
  }

  /** The last 24 hours, one entry per clock hour (oldest first, the current hour last). */
  hourly(): Array<UsageCounts & { start: number }> {
    const current = Math.floor(this.clock.now() / HOUR_MS) * HOUR_MS;
    const hours: Array<UsageCounts & { start: number }> = [];
    for (let i = 23; i >= 0; i--) hours.push({ start: current - i * HOUR_MS, ...zero() });
    for (const b of this.buckets.values()) {
      const index = 23 - Math.floor((current - Math.floor(b.start / HOUR_MS) * HOUR_MS) / HOUR_MS);
      if (index >= 0 && index < 24) add(hours[index]!, b);
    }
    return hours;
  }

  /** Writes what is pending now (and waits for a write in progress). */
  async flush(): Promise<void> {
    this.cancelFlush?.();
    this.cancelFlush = null;
    const run = async () => {
      if (!this.persistence || this.pending.size === 0) return;
      this.prune();
      const increments = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.persistence.save([...this.buckets.values()], increments);
      } catch (err) {
        // keep the increments for the next try
        for (const inc of increments) {
          const k = key(inc.start, inc.accountId, inc.model);
          const p = this.pending.get(k);
          if (p) add(p, inc);
          else this.pending.set(k, inc);
        }
        this.log.warn({ store: this.persistence.description, reason: (err as Error).message }, 'could not save the usage history; will retry');
      }
    };
    this.saving = this.saving.then(run, run);
    await this.saving;
  }

  /** Flushes, stops the timer and closes the persistence. */
  async close(): Promise<void> {
    await this.flush();
    await this.persistence?.close?.();
  }

  private scheduleFlush(): void {
    if (!this.persistence || this.cancelFlush) return;
    this.cancelFlush = this.clock.schedule(FLUSH_DELAY_MS, () => {
      this.cancelFlush = null;
      void this.flush();
    });
  }

  private oldestKept(): number {
    return Math.floor((this.clock.now() - DAY_MS) / BUCKET_MS) * BUCKET_MS;
  }

  private prune(): void {
    const oldest = this.oldestKept();
    for (const [k, b] of this.buckets) if (b.start < oldest) this.buckets.delete(k);
  }
}
