import path from 'node:path';
import { Option, type Command } from 'commander';
import { isUsableCredential, statusFromStored, usedPercent, type AccountStateName, type AccountStatus } from '../accounts/account-state.js';
import type { Credential } from '../accounts/credential.js';
import { openAccountStore } from '../auth/store-for-config.js';
import type { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';
import { withCommonOptions } from './common-options.js';
import { fetchLiveStatus, type LiveStatusOptions, type LiveStatusResult } from './status-live.js';

/**
 * `cliproxy status`: one row per account. With a server running on the configured port the
 * rows are the server's view (the pool's state and counters), merged with what only the store
 * knows (corrupt or duplicate files, accounts the server has not loaded); else the files
 * alone. Rows carry no secrets.
 */
export type AccountState = AccountStateName | 'corrupt' | 'duplicate' | 'locked';

/** What a running server counts for an account (only in the live view). */
export interface LiveAccountStats {
  requests: number;
  successes: number;
  failures: number;
  inputTokens: number;
  outputTokens: number;
  /** Last request (RFC3339), null if none since the server started. */
  lastUsed: string | null;
  /** End of the cooldown (RFC3339) while the account cools down, else null. */
  cooldownUntil: string | null;
  cooldownReason: string | null;
  /** Highest used percent of the 5 h and weekly windows from the last usage headers; null before any. */
  usedPercent: number | null;
}

export interface StatusRow {
  email: string | null;
  plan: string | null;
  accountId: string | null;
  /** Full path of the file. */
  file: string;
  /** Access-token expiry (RFC3339), null if unknown. */
  expiresAt: string | null;
  state: AccountState;
  /** Why: needs-login reason, corrupt/duplicate reason, "refreshable" for expired. */
  detail: string | null;
  /** Last refresh (RFC3339), null if unknown. */
  lastRefresh: string | null;
  /** Live numbers from a running server (absent in the file view). */
  stats?: LiveAccountStats;
  /** Extra columns (e.g. live stats from a running server): rendered as `key=value`. */
  live?: Record<string, string | number>;
}

/** How many of `credentials` the pool can use (an expired access token is refreshable). */
export function countUsable(credentials: Credential[]): number {
  return credentials.filter(isUsableCredential).length;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export async function collectStatusRows(store: AccountStore, now: number): Promise<StatusRow[]> {
  const { accounts, problems } = await store.list();
  const rows: StatusRow[] = accounts.map((stored) => rowFromStatus(statusFromStored(stored, now)));
  for (const p of problems) {
    rows.push({
      email: p.meta?.email ?? null,
      plan: p.meta?.planType ?? null,
      accountId: p.meta?.accountId ?? null,
      file: p.location,
      expiresAt: iso(p.meta?.expiresAt),
      state: p.kind,
      detail: p.reason,
      lastRefresh: null,
    });
  }
  return sortRows(rows);
}

function sortRows(rows: StatusRow[]): StatusRow[] {
  return rows.sort((a, b) => (a.email ?? '\uffff').localeCompare(b.email ?? '\uffff') || a.file.localeCompare(b.file));
}

/** The row of an account's status (from the store alone, or from a running pool), without live numbers. */
function rowFromStatus(a: AccountStatus): StatusRow {
  let detail: string | null = null;
  if (a.state === 'needs-login') detail = a.needsLogin?.reason ?? null;
  else if (a.state === 'expired') detail = 'refreshable';
  else if (a.state === 'cooling') detail = `${a.cooldownReason ?? 'cooldown'} until ${iso(a.cooldownUntil)?.replace(/\.\d{3}Z$/, 'Z') ?? '?'}`;
  return {
    email: a.email,
    plan: a.planType,
    accountId: a.accountId,
    file: a.location,
    expiresAt: iso(a.expiresAt),
    state: a.state,
    detail,
    lastRefresh: iso(a.lastRefresh),
  };
}

/** A row for an account as the running server reports it. */
export function rowFromLive(a: AccountStatus, now: number): StatusRow {
  return {
    ...rowFromStatus(a),
    stats: {
      requests: a.requests,
      successes: a.successes,
      failures: a.failures,
      inputTokens: a.inputTokens,
      outputTokens: a.outputTokens,
      lastUsed: iso(a.lastUsed),
      cooldownUntil: iso(a.cooldownUntil),
      cooldownReason: a.cooldownReason,
      usedPercent: a.usage ? Math.round(usedPercent(a.usage, now)) : null,
    },
  };
}

/**
 * The server's accounts, plus the store rows the server does not report: corrupt and
 * duplicate files, and accounts it has not loaded (yet). Sorted like the file view.
 */
export function mergeLiveRows(fileRows: StatusRow[], live: AccountStatus[], now: number): StatusRow[] {
  // the server masks emails and file names: the store's row has them in full
  const rows = live.map((a) => {
    const row = rowFromLive(a, now);
    const stored = fileRows.find((r) => r.accountId === a.accountId);
    return stored ? { ...row, email: stored.email, file: stored.file } : row;
  });
  const known = new Set(live.map((a) => a.accountId));
  for (const r of fileRows) if (r.accountId === null || !known.has(r.accountId)) rows.push(r);
  return sortRows(rows);
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

/** The LIVE column of a row: short `key=value` cells (req, ok, fail, tok=in/out, used, last). */
export function liveCells(stats: LiveAccountStats, now: number): Record<string, string | number> {
  const cells: Record<string, string | number> = {
    req: stats.requests,
    ok: stats.successes,
    fail: stats.failures,
    tok: `${stats.inputTokens}/${stats.outputTokens}`,
  };
  if (stats.usedPercent !== null) cells.used = `${stats.usedPercent}%`;
  cells.last = stats.lastUsed === null ? 'never' : ago(now - Date.parse(stats.lastUsed));
  return cells;
}

function stateText(r: StatusRow): string {
  return r.detail ? `${r.state} (${r.detail})` : r.state;
}

/** A plain-text table (header + one line per row); columns padded to their widest cell. */
export function renderStatusTable(rows: StatusRow[]): string {
  const header = ['EMAIL', 'PLAN', 'STATE', 'EXPIRES', 'LAST REFRESH', 'FILE'];
  const hasLive = rows.some((r) => r.live && Object.keys(r.live).length > 0);
  if (hasLive) header.push('LIVE');
  const table = rows.map((r) => {
    const cells = [r.email ?? '-', r.plan ?? '-', stateText(r), r.expiresAt ?? '-', r.lastRefresh ?? '-', path.basename(r.file)];
    if (hasLive) cells.push(Object.entries(r.live ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || '-');
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((c) => (c[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...table.map(line)].join('\n');
}

/** The rows to show: the running server's view when one answers (unless `offline`), else the files. */
export async function gatherStatus(
  config: Config,
  ctx: Pick<CliContext, 'clock' | 'stderr'>,
  opts: { offline?: boolean; live?: LiveStatusOptions } = {},
): Promise<{ where: string; rows: StatusRow[]; server: string | null; note: string | null }> {
  const opened = await openAccountStore(config, ctx.clock, { warn: (message: string) => writeLine(ctx.stderr, `Warning: ${message}`) });
  let fileRows: StatusRow[];
  let live: LiveStatusResult | null;
  try {
    [fileRows, live] = await Promise.all([collectStatusRows(opened.store, ctx.clock.now()), opts.offline ? null : fetchLiveStatus(config, opts.live)]);
  } finally {
    await opened.close();
  }
  const where = opened.store.description;
  if (live?.kind === 'live') {
    return { where, rows: mergeLiveRows(fileRows, live.accounts, ctx.clock.now()), server: live.url, note: `(live from the server at ${live.url})` };
  }
  const note = live?.kind === 'unusable' ? `(the server at ${live.url} did not give its account state: ${live.reason}; showing the files)` : null;
  return { where, rows: fileRows, server: null, note };
}

export function registerStatus(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('status')
    .description('list accounts: email, plan, state, token expiry, last refresh, file; live counters from a running server')
    .addOption(new Option('--json', 'print JSON instead of a table'))
    .addOption(new Option('--offline', 'read the account files only, even when a server is running'));
  withCommonOptions(cmd);
  cmd.action(async (opts: CommonOptions & { json?: boolean; offline?: boolean }) => {
    const config = configFrom(ctx, opts);
    const { where, rows, server, note } = await gatherStatus(config, ctx, { offline: opts.offline });
    if (note) writeLine(ctx.stderr, note);
    if (opts.json) {
      writeLine(ctx.stdout, JSON.stringify({ authDir: where, source: server ? 'server' : 'files', server, accounts: rows }, null, 2));
      return;
    }
    if (rows.length === 0) {
      writeLine(ctx.stdout, `No accounts in ${where}. Sign in with: cliproxy login (or cliproxy login --device-auth)`);
      return;
    }
    const now = ctx.clock.now();
    writeLine(ctx.stdout, `Auth dir: ${where}`);
    writeLine(ctx.stdout, renderStatusTable(rows.map((r) => (r.stats ? { ...r, live: liveCells(r.stats, now) } : r))));
  });
  return cmd;
}
