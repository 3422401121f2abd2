/**
 * GET /v0/management/usage: requests, tokens in/out and errors per account and per model over
 * the last hour and the last day, and the last 24 hours hour by hour (the dashboard's chart).
 * GET /v0/management/logs?tail=N: the last N request-log lines kept in memory.
 */
import type { FastifyInstance } from 'fastify';
import type { AccountPool } from '../../accounts/pool.js';
import { InvalidRequestError } from '../../errors.js';
import { maskEmail } from '../../util/redact.js';
import { accountLabel } from '../metrics.js';
import type { RequestLogBuffer } from '../request-log.js';
import { DAY_MS, HOUR_MS, type UsageCounts, type UsageTracker, type WindowSummary } from '../usage/tracker.js';

export interface UsageRoutesOptions {
  pool: AccountPool;
  usage: UsageTracker;
  requestLog: RequestLogBuffer;
}

const DEFAULT_TAIL = 100;

export async function usageRoutes(app: FastifyInstance, opts: UsageRoutesOptions): Promise<void> {
  const describeWindow = (w: WindowSummary) => {
    const emails = new Map(opts.pool.snapshot().map((a) => [a.accountId, maskEmail(a.email)]));
    const who = (accountId: string) => ({ id: accountLabel(accountId), accountId, email: emails.get(accountId) ?? null });
    return {
      totals: w.totals,
      byAccount: w.byAccount.map(({ accountId, ...counts }) => ({ ...who(accountId), ...counts })),
      byModel: w.byModel,
      byAccountAndModel: w.byAccountAndModel.map(({ accountId, ...rest }) => ({ ...who(accountId), ...rest })),
    };
  };

  app.get('/v0/management/usage', async () => ({
    hour: describeWindow(opts.usage.summary(HOUR_MS)),
    day: describeWindow(opts.usage.summary(DAY_MS)),
    hourly: opts.usage.hourly().map((h: UsageCounts & { start: number }) => ({ ...h, start: new Date(h.start).toISOString() })),
  }));

  app.get<{ Querystring: { tail?: string } }>('/v0/management/logs', async (req) => {
    const raw = req.query.tail;
    let tail = DEFAULT_TAIL;
    if (raw !== undefined) {
      tail = Number(raw);
      if (!Number.isInteger(tail) || tail < 0) throw new InvalidRequestError('tail must be a whole number ≥ 0.', { param: 'tail', code: 'invalid_value' });
    }
    const lines = opts.requestLog.tail(Math.min(tail, opts.requestLog.capacity));
    return { lines, capacity: opts.requestLog.capacity };
  });
}
