import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Credential } from '../accounts/credential.js';
import { openAccountStore } from '../auth/store-for-config.js';
import type { AccountStore } from '../accounts/store.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';
import { withCommonOptions } from './common-options.js';

/**
 * `cliproxy status`: one row per account file. Rows carry no secrets. The lead can merge
 * live per-account numbers from a running server into `live` before rendering.
 */
export type AccountState = 'ready' | 'expired' | 'needs-login' | 'disabled' | 'corrupt' | 'duplicate';

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
  /** Extra columns (e.g. live stats from a running server): rendered as `key=value`. */
  live?: Record<string, string | number>;
}

/** Accounts the pool can use: not disabled, not waiting for a new login (an expired access token is refreshable). */
export function isUsable(c: Credential): boolean {
  return !c.disabled && !c.needsLogin;
}

export function countUsable(credentials: Credential[]): number {
  return credentials.filter(isUsable).length;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

export function stateOf(c: Credential, now: number): { state: AccountState; detail: string | null } {
  if (c.disabled) return { state: 'disabled', detail: null };
  if (c.needsLogin) return { state: 'needs-login', detail: c.needsLogin.reason };
  if (c.expiresAt !== null && c.expiresAt <= now) return { state: 'expired', detail: 'refreshable' };
  return { state: 'ready', detail: null };
}

export async function collectStatusRows(store: AccountStore, now: number): Promise<StatusRow[]> {
  const { accounts, problems } = await store.list();
  const rows: StatusRow[] = accounts.map(({ credential: c, location }) => ({
    email: c.email,
    plan: c.planType,
    accountId: c.accountId,
    file: location,
    expiresAt: iso(c.expiresAt),
    ...stateOf(c, now),
    lastRefresh: iso(c.lastRefresh),
  }));
  for (const p of problems) {
    rows.push({
      email: null,
      plan: null,
      accountId: null,
      file: p.location,
      expiresAt: null,
      state: p.reason.startsWith('duplicate') ? 'duplicate' : 'corrupt',
      detail: p.reason,
      lastRefresh: null,
    });
  }
  return rows.sort((a, b) => (a.email ?? '\uffff').localeCompare(b.email ?? '\uffff') || a.file.localeCompare(b.file));
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

export function registerStatus(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('status')
    .description('list accounts: email, plan, file, token expiry, state, last refresh')
    .addOption(new Option('--json', 'print JSON instead of a table'));
  withCommonOptions(cmd);
  cmd.action(async (opts: CommonOptions & { json?: boolean }) => {
    const config = configFrom(ctx, opts);
    const opened = await openAccountStore(config, ctx.clock);
    let rows: StatusRow[];
    try {
      rows = await collectStatusRows(opened.store, ctx.clock.now());
    } finally {
      await opened.close();
    }
    const where = opened.store.description;
    if (opts.json) {
      writeLine(ctx.stdout, JSON.stringify({ authDir: where, accounts: rows }, null, 2));
      return;
    }
    if (rows.length === 0) {
      writeLine(ctx.stdout, `No accounts in ${where}. Sign in with: cliproxy login (or cliproxy login --device-auth)`);
      return;
    }
    writeLine(ctx.stdout, `Auth dir: ${where}`);
    writeLine(ctx.stdout, renderStatusTable(rows));
  });
  return cmd;
}
