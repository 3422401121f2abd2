/**
 * Authorization codes, access tokens and refresh tokens issued by the sandbox issuer.
 * Refresh tokens rotate: each is single-use; presenting a used one is `refresh_token_reused`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import type { SandboxAccount } from './accounts.js';
import type { JwtMinter } from './jwt.js';

const AUTH_CODE_TTL_MS = 10 * 60 * 1000;
/** Lifetime of the `exp` claim of ID tokens (informational; clients do not enforce it). */
const ID_TOKEN_TTL_SECONDS = 3600;

export interface AuthCode {
  accountId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  codeChallengeMethod: 'S256';
  expiresAt: number;
  used: boolean;
}

export interface AccessRecord {
  accountId: string;
  expiresAt: number;
  /** Set by expireAccessTokens or /oauth/revoke. */
  forcedExpired: boolean;
  revoked: boolean;
}

export type RefreshState = 'live' | 'used' | 'revoked';

export interface RefreshRecord {
  accountId: string;
  state: RefreshState;
}

export interface TokenSetOut {
  id_token: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
  scope: string;
}

export type AccessCheck =
  | { ok: true; accountId: string }
  | { ok: false; code: 'token_expired' | 'invalid_token' | 'token_revoked'; message: string };

export type RefreshOutcome =
  | { ok: true; account: SandboxAccount; tokens: TokenSetOut }
  | { ok: false; code: 'refresh_token_reused' | 'refresh_token_invalidated' | 'refresh_token_expired'; message: string; accountId?: string };

// Same S256 rule as src/auth/pkce.ts, repeated on purpose: the sandbox emulates the issuer and stays independent of src/auth.
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

export class TokenStore {
  private readonly codes = new Map<string, AuthCode>();
  private readonly access = new Map<string, AccessRecord>();
  private readonly refresh = new Map<string, RefreshRecord>();
  private readonly idTokens = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly jwt: JwtMinter,
    private readonly accessTtlSeconds: number,
  ) {}

  /** Every code and token this store ever issued (tests search output for them). */
  issued(): string[] {
    return [...this.codes.keys(), ...this.access.keys(), ...this.refresh.keys(), ...this.idTokens];
  }

  issueCode(c: Omit<AuthCode, 'expiresAt' | 'used'>): string {
    const code = randomToken('ac_sb_', 24);
    this.codes.set(code, { ...c, expiresAt: this.clock.now() + AUTH_CODE_TTL_MS, used: false });
    return code;
  }

  /** Returns a usable code record (unused, unexpired), or why it is not usable. */
  peekCode(code: string): { ok: true; record: AuthCode } | { ok: false; message: string } {
    const rec = this.codes.get(code);
    if (!rec) return { ok: false, message: 'Invalid authorization code' };
    if (rec.used) return { ok: false, message: 'Authorization code has already been used' };
    if (this.clock.now() >= rec.expiresAt) return { ok: false, message: 'Authorization code has expired' };
    return { ok: true, record: rec };
  }

  /** Codes are single-use: called once the exchange succeeded. */
  markCodeUsed(code: string): void {
    const rec = this.codes.get(code);
    if (rec) rec.used = true;
  }

  mint(account: SandboxAccount): TokenSetOut {
    const iat = Math.floor(this.clock.now() / 1000);
    const accessToken = this.jwt.accessToken(account, iat, this.accessTtlSeconds);
    const idToken = this.jwt.idToken(account, iat, ID_TOKEN_TTL_SECONDS);
    const refreshToken = randomToken('rt_sb_', 32);
    this.idTokens.add(idToken);
    this.access.set(accessToken, {
      accountId: account.accountId,
      expiresAt: (iat + this.accessTtlSeconds) * 1000,
      forcedExpired: false,
      revoked: false,
    });
    this.refresh.set(refreshToken, { accountId: account.accountId, state: 'live' });
    return {
      id_token: idToken,
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: this.accessTtlSeconds,
      token_type: 'Bearer',
      scope: 'openid profile email offline_access',
    };
  }

  checkAccess(token: string): AccessCheck {
    const rec = this.access.get(token);
    if (!rec) return { ok: false, code: 'invalid_token', message: 'Could not validate your credentials: unknown access token.' };
    if (rec.revoked) return { ok: false, code: 'token_revoked', message: 'This access token has been revoked. Please sign in again.' };
    if (rec.forcedExpired || this.clock.now() >= rec.expiresAt) {
      return { ok: false, code: 'token_expired', message: 'Provided authentication token is expired. Please try signing in again.' };
    }
    return { ok: true, accountId: rec.accountId };
  }

  /** Rotates a refresh token: the presented one becomes used, a whole new set is minted. */
  rotate(refreshToken: string, lookup: (accountId: string) => SandboxAccount | undefined): RefreshOutcome {
    const rec = this.refresh.get(refreshToken);
    if (!rec) {
      return { ok: false, code: 'refresh_token_invalidated', message: 'Your refresh token is invalid or has been invalidated. Please sign in again.' };
    }
    if (rec.state === 'used') {
      return {
        ok: false,
        code: 'refresh_token_reused',
        message: 'Your refresh token has already been used to generate a new access token. Please try signing in again.',
        accountId: rec.accountId,
      };
    }
    if (rec.state === 'revoked') {
      return {
        ok: false,
        code: 'refresh_token_invalidated',
        message: 'Your refresh token has been invalidated. Please sign in again.',
        accountId: rec.accountId,
      };
    }
    const account = lookup(rec.accountId);
    if (!account) {
      return { ok: false, code: 'refresh_token_invalidated', message: 'The account of this refresh token no longer exists.' };
    }
    rec.state = 'used';
    return { ok: true, account, tokens: this.mint(account) };
  }

  /** Best-effort revocation (/oauth/revoke): works for access and refresh tokens. */
  revoke(token: string): void {
    const r = this.refresh.get(token);
    if (r && r.state === 'live') r.state = 'revoked';
    const a = this.access.get(token);
    if (a) a.revoked = true;
  }

  expireAccess(accountId?: string): void {
    for (const rec of this.access.values()) {
      if (accountId === undefined || rec.accountId === accountId) rec.forcedExpired = true;
    }
  }

  revokeRefresh(accountId?: string): void {
    for (const rec of this.refresh.values()) {
      if ((accountId === undefined || rec.accountId === accountId) && rec.state === 'live') rec.state = 'revoked';
    }
  }
}
