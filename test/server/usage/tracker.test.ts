/**
 * UsageTracker with a ManualClock: windows (last hour / last day), the hourly series, pruning
 * of old buckets, and both persistences (the file in the auth dir, the PostgreSQL table that
 * instances add to).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { FileUsagePersistence } from '../../../src/server/usage/file-persistence.js';
import { PostgresUsagePersistence } from '../../../src/server/usage/postgres-persistence.js';
import { HOUR_MS, UsageTracker, type UsagePersistence } from '../../../src/server/usage/tracker.js';
import { ManualClock } from '../../../src/util/clock.js';
import { testPostgresUrl } from '../../support/postgres-url.js';

const quiet = { warn: () => undefined };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'cliproxy-usage-unit-'));
  dirs.push(d);
  return d;
}

describe('UsageTracker', () => {
  it('sums the last hour and the last day per account and model; 24 hourly entries; old buckets drop out', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 30));
    const t = new UsageTracker(clock, null, quiet);
    t.record({ accountId: 'a', model: 'gpt-5', inputTokens: 10, outputTokens: 2, error: false });
    await clock.advance(2 * HOUR_MS);
    t.record({ accountId: 'a', model: 'gpt-5', inputTokens: 5, outputTokens: 1, error: true });
    t.record({ accountId: 'b', model: 'gpt-5-codex', inputTokens: 7, outputTokens: 3, error: false });
    expect(t.summary(HOUR_MS).totals).toEqual({ requests: 2, inputTokens: 12, outputTokens: 4, errors: 1 });
    expect(t.summary(24 * HOUR_MS).byAccountAndModel).toEqual([
      { accountId: 'a', model: 'gpt-5', requests: 2, inputTokens: 15, outputTokens: 3, errors: 1 },
      { accountId: 'b', model: 'gpt-5-codex', requests: 1, inputTokens: 7, outputTokens: 3, errors: 0 },
    ]);
    const hourly = t.hourly();
    expect(hourly).toHaveLength(24);
    expect(hourly.at(-1)).toMatchObject({ start: Date.UTC(2026, 5, 1, 14), requests: 2 });
    expect(hourly.at(-3)).toMatchObject({ start: Date.UTC(2026, 5, 1, 12), requests: 1 });
    await clock.advance(23 * HOUR_MS);
    expect(t.summary(24 * HOUR_MS).totals.requests).toBe(2);
    expect(t.hourly().reduce((n, h) => n + h.requests, 0)).toBe(2);
  });

  it('file: saved a few seconds after a change (0600), loaded by the next tracker; a broken file starts empty with a warning', async () => {
    const dir = tempDir();
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const file = new FileUsagePersistence(dir);
    const first = new UsageTracker(clock, file, quiet);
    await first.start();
    first.record({ accountId: 'a', model: 'gpt-5', inputTokens: 3, outputTokens: 4, error: false });
    await clock.advance(5_000);
    await first.flush();
    const second = new UsageTracker(clock, new FileUsagePersistence(dir), quiet);
    await second.start();
    expect(second.summary(HOUR_MS).totals).toEqual({ requests: 1, inputTokens: 3, outputTokens: 4, errors: 0 });

    writeFileSync(file.file, '{not json');
    const warnings: string[] = [];
    const third = new UsageTracker(clock, new FileUsagePersistence(dir), { warn: (_o, m) => warnings.push(m ?? '') });
    await third.start();
    expect(third.summary(HOUR_MS).totals.requests).toBe(0);
    expect(warnings).toEqual(['could not read the usage history; starting empty']);
  });

  it('a failed save keeps the increments for the next one', async () => {
    const clock = new ManualClock();
    const saved: number[] = [];
    let fail = true;
    const flaky: UsagePersistence = {
      description: 'flaky',
      load: async () => [],
      save: async (_all, inc) => {
        if (fail) throw new Error('disk full');
        saved.push(inc.reduce((n, b) => n + b.requests, 0));
      },
    };
    const t = new UsageTracker(clock, flaky, quiet);
    t.record({ accountId: 'a', model: 'm', error: false });
    await t.flush();
    fail = false;
    t.record({ accountId: 'a', model: 'm', error: false });
    await t.flush();
    expect(saved).toEqual([2]);
  });
});

describe('PostgresUsagePersistence', () => {
  const table = `usage_unit_${process.pid}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: testPostgresUrl() });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}_usage`);
    await client.end();
  });

  it('two instances add their increments to the same rows; a restart loads the sum', async () => {
    const clock = new ManualClock(Date.now());
    const make = () => new PostgresUsagePersistence({ connectionString: testPostgresUrl(), accountsTable: table, clock });
    const a = new UsageTracker(clock, make(), quiet);
    const b = new UsageTracker(clock, make(), quiet);
    await Promise.all([a.start(), b.start()]);
    a.record({ accountId: 'x', model: 'gpt-5', inputTokens: 1, outputTokens: 1, error: false });
    b.record({ accountId: 'x', model: 'gpt-5', inputTokens: 2, outputTokens: 2, error: true });
    await Promise.all([a.close(), b.close()]);
    const c = new UsageTracker(clock, make(), quiet);
    await c.start();
    expect(c.summary(HOUR_MS).totals).toEqual({ requests: 2, inputTokens: 3, outputTokens: 3, errors: 1 });
    await c.close();
  });
});
