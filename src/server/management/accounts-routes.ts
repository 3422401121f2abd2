/**
 * /v0/management/accounts: the pool's accounts with masked emails (GET), disable / enable
 * (persisted in the store), delete (the store entry goes, the refresh token is revoked best
 * effort). An account is named by its account id or its label (8 hex of sha256, as in logs).
 */
import type { FastifyInstance } from 'fastify';
import type { AccountStatus } from '../../accounts/account-state.js';
import type { AccountPool } from '../../accounts/pool.js';
import type { Logger } from '../../accounts/logger.js';
import { NotFoundError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { maskEmail } from '../../util/redact.js';
import { accountLabel } from '../metrics.js';

export interface AccountsRoutesOptions {
  pool: AccountPool;
  clock: Clock;
  /** Revokes a refresh token at the issuer (best effort). */
  revoke(refreshToken: string): Promise<void>;
  log: Logger;
}

/** One account as the management API shows it: the pool's status with the email masked, plus its label. */
export type ManagedAccount = AccountStatus & { id: string };

export function managedAccount(a: AccountStatus): ManagedAccount {
  const masked = maskEmail(a.email);
  return { ...a, id: accountLabel(a.accountId), email: masked, location: a.email ? a.location.split(a.email).join(masked) : a.location };
}

/** The account id an `:id` parameter names (account id or label), or a 404. */
export function resolveAccountId(pool: AccountPool, ref: string): string {
  const found = pool.snapshot().find((a) => a.accountId === ref || accountLabel(a.accountId) === ref);
  if (!found) throw new NotFoundError(`No account ${ref}. GET /v0/management/accounts lists them.`, { code: 'account_not_found', param: 'id' });
  return found.accountId;
}

export async function accountsRoutes(app: FastifyInstance, opts: AccountsRoutesOptions): Promise<void> {
  const { pool } = opts;

  app.get('/v0/management/accounts', async () => ({ accounts: pool.snapshot().map(managedAccount) }));

  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: { id: string } }>(`/v0/management/accounts/:id/${action}`, async (req) => {
      const id = resolveAccountId(pool, req.params.id);
      const status = await pool.setDisabled(id, action === 'disable');
      if (!status) throw new NotFoundError(`Account ${req.params.id} is no longer in the store.`, { code: 'account_not_found', param: 'id' });
      opts.log.info({ account: accountLabel(id), action }, `account ${action}d through the management API`);
      return { account: managedAccount(status) };
    });
  }

  app.delete<{ Params: { id: string } }>('/v0/management/accounts/:id', async (req) => {
    const id = resolveAccountId(pool, req.params.id);
    const removed = await pool.removeAccount(id);
    if (!removed) throw new NotFoundError(`Account ${req.params.id} is no longer in the store.`, { code: 'account_not_found', param: 'id' });
    let revoked = true;
    try {
      await opts.revoke(removed.credential.refreshToken);
    } catch (err) {
      revoked = false;
      opts.log.warn({ account: accountLabel(id), reason: (err as Error).message }, 'could not revoke the removed account’s refresh token');
    }
    opts.log.info({ account: accountLabel(id) }, 'account removed through the management API');
    return { removed: { id: accountLabel(id), accountId: id, email: maskEmail(removed.credential.email) }, revoked };
  });
}
