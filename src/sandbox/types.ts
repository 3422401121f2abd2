/**
 * Public types of the sandbox (the local emulator of the OpenAI issuer and the Codex backend).
 */
import type { Clock } from '../util/clock.js';

export interface SandboxOptions {
  port?: number;
  host?: string;
  autoApprove?: boolean;
  /** Lifetime of minted access tokens; default 3600. */
  accessTokenTtlSeconds?: number;
  /** `interval` returned by the device usercode endpoint; default 5 (tests use 1). */
  deviceIntervalSeconds?: number;
  /** How long a device code stays usable; default 900. */
  deviceCodeTtlSeconds?: number;
  /** Silence request logs (tests). */
  quiet?: boolean;
  /** OAuth client id the issuer accepts; default the public Codex client id. */
  clientId?: string;
  /** Time source for token expiry, quotas and device codes; default the system clock. */
  clock?: Clock;
  /** Where request log lines go when not quiet; default stderr. Never receives secrets. */
  log?: (line: string) => void;
  /**
   * The model slugs each plan gets (plan type → slugs): GET /models lists them and POST
   * /responses accepts only them for accounts of that plan. Plans not named get the default list.
   */
  modelsByPlan?: Record<string, string[]>;
}

export interface SandboxAccountSpec {
  email?: string;
  /** default 'plus' */
  plan?: string;
  accountId?: string;
}

export interface MintedAccount {
  accountId: string;
  email: string;
  plan: string;
  idToken: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface SandboxStats {
  requests: number;
  refreshes: number;
  refreshReuses: number;
  rateLimited: number;
  failures: number;
}

export type SandboxFault =
  /** 400/413/422: the backend refusing the request itself (`{"detail": …}`), as it does for a bad body. */
  | { kind: 'status'; status: 400 | 413 | 422 | 429 | 500 | 503; account?: string; times?: number; resetsInSeconds?: number }
  | { kind: 'disconnect'; account?: string; times?: number; afterEvents?: number }
  /** `code`/`message`: the error the response.failed event carries (default server_error). */
  | { kind: 'response_failed'; account?: string; times?: number; code?: string; message?: string }
  | { kind: 'slow'; account?: string; times?: number; delayMs: number };

export interface Sandbox {
  /** http://127.0.0.1:N — the issuer: OAuth + device endpoints at the root. */
  url: string;
  /** Same as url. */
  issuer: string;
  /** url + '/backend-api/codex' */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
  setAutoApprove(on: boolean): void;
  /** Identity used by the next approval (browser or device). */
  queueAccount(spec: SandboxAccountSpec): void;
  /** Approves a pending device code programmatically. */
  approveDevice(userCode: string, spec?: SandboxAccountSpec): void;
  /** Creates an account and valid tokens without any login flow. */
  mintAccount(spec?: SandboxAccountSpec): MintedAccount;
  /** Requests per window for an account (accountId or email). */
  setQuota(account: string, q: { limit: number; resetsInSeconds: number }): void;
  addFault(f: SandboxFault): void;
  /** Every current access token of that account (or of all accounts) now gets 401 token_expired. */
  expireAccessTokens(account?: string): void;
  /** Next refresh of any current refresh token of that account (or all) → 401 refresh_token_invalidated. */
  revokeRefreshTokens(account?: string): void;
  /** Holds every refresh grant `ms` before processing it (0 = off); a client that hangs up meanwhile rotates nothing. */
  delayRefreshes(ms: number): void;
  /** Refresh grants being held by delayRefreshes now. */
  pendingRefreshes(): number;
  /** Per account (accountId or email) or totals. */
  stats(account?: string): SandboxStats;
  resetStats(): void;
  /** The last backend requests (/backend-api/…), oldest first; the Authorization header is masked. */
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** Every secret issued so far: codes, access/refresh/id tokens, device auth ids and user codes. */
  issuedSecrets(): string[];
}

/** One backend request as the sandbox received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names; credentials (authorization, cookie, x-api-key) replaced by `<redacted>`. */
  headers: Record<string, string>;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
}
