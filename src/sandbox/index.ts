/**
 * The sandbox: a local emulator of the OpenAI issuer (OAuth + device login) and the Codex
 * backend on one port. Used by `cliproxy sandbox` and by every test.
 */
import type { AddressInfo } from 'node:net';
import { systemClock } from '../util/clock.js';
import { CODEX_CLIENT_ID, SandboxCore } from './core.js';
import { approveDeviceAuth } from './device-routes.js';
import { BACKEND_PREFIX, createSandboxServer } from './server.js';
import type { MintedAccount, Sandbox, SandboxAccountSpec, SandboxFault, SandboxOptions, SandboxStats } from './types.js';

export type { MintedAccount, RecordedRequest, Sandbox, SandboxAccountSpec, SandboxFault, SandboxOptions, SandboxStats } from './types.js';
export { CODEX_CLIENT_ID } from './core.js';
export { SANDBOX_MODELS } from './model-replies.js';

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.quiet ? undefined : (opts.log ?? ((line: string) => process.stderr.write(`${line}\n`)));
  // The core needs the issuer URL, which needs the port: it is attached once listening.
  const holder: { core?: SandboxCore } = {};
  const server = createSandboxServer(() => {
    if (!holder.core) throw new Error('sandbox: request before start');
    return holder.core;
  }, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}`;
  const c = new SandboxCore({
    issuer: url,
    clientId: opts.clientId ?? CODEX_CLIENT_ID,
    clock: opts.clock ?? systemClock,
    autoApprove: opts.autoApprove ?? false,
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
    deviceIntervalSeconds: opts.deviceIntervalSeconds ?? 5,
    deviceCodeTtlSeconds: opts.deviceCodeTtlSeconds ?? 900,
    modelsByPlan: opts.modelsByPlan,
  });
  holder.core = c;

  const accountIdOf = (ref: string | undefined): string | undefined => (ref === undefined ? undefined : c.requireAccount(ref).accountId);

  let closed: Promise<void> | undefined;
  return {
    url,
    issuer: url,
    baseUrl: `${url}${BACKEND_PREFIX}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
    setAutoApprove(on: boolean) {
      c.autoApprove = on;
    },
    queueAccount(spec: SandboxAccountSpec) {
      c.accounts.queue(spec);
    },
    approveDevice(userCode: string, spec?: SandboxAccountSpec) {
      const auth = c.devices.pendingByUserCode(userCode);
      if (!auth) throw new Error('sandbox: no pending device authorization with that user code (unknown, expired or already decided)');
      approveDeviceAuth(c, auth, spec);
    },
    mintAccount(spec?: SandboxAccountSpec): MintedAccount {
      const account = c.accounts.ensure(spec);
      const t = c.tokens.mint(account);
      return {
        accountId: account.accountId,
        email: account.email,
        plan: account.plan,
        idToken: t.id_token,
        accessToken: t.access_token,
        refreshToken: t.refresh_token,
        expiresIn: t.expires_in,
      };
    },
    setQuota(account: string, q: { limit: number; resetsInSeconds: number }) {
      if (!(q.limit >= 0) || !(q.resetsInSeconds > 0)) throw new Error('sandbox: setQuota needs limit >= 0 and resetsInSeconds > 0');
      const found = c.accounts.find(account) ?? (account.includes('@') ? c.accounts.ensure({ email: account }) : c.requireAccount(account));
      c.quotas.setQuota(found.accountId, q.limit, q.resetsInSeconds);
    },
    addFault(f: SandboxFault) {
      c.faults.add(f);
    },
    expireAccessTokens(account?: string) {
      c.tokens.expireAccess(accountIdOf(account));
    },
    revokeRefreshTokens(account?: string) {
      c.tokens.revokeRefresh(accountIdOf(account));
    },
    delayRefreshes(ms: number) {
      c.refreshDelayMs = Math.max(0, ms);
    },
    pendingRefreshes() {
      return c.pendingRefreshes;
    },
    stats(account?: string): SandboxStats {
      if (account === undefined) return c.stats.get();
      const found = c.accounts.find(account);
      return c.stats.get(found?.accountId ?? account);
    },
    resetStats() {
      c.stats.reset();
    },
    requests() {
      return c.requestLog.list();
    },
    clearRequests() {
      c.requestLog.clear();
    },
    issuedSecrets() {
      return [...new Set([...c.tokens.issued(), ...c.devices.issued()])];
    },
  };
}
