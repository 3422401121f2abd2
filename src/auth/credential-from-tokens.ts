import type { AuthMethod, Credential, TokenSet } from '../accounts/credential.js';
import { readClaims } from './id-token-claims.js';

/**
 * When the access token of `tokens` expires (ms): its `exp` claim, else now + `expires_in`,
 * else unknown (null). `accessExpiresAt` is the `exp` already read from the token, if any.
 */
export function expiresAtFrom(tokens: Pick<TokenSet, 'accessToken' | 'expiresIn'>, now: number, accessExpiresAt = readClaims(tokens.accessToken).expiresAt): number | null {
  return accessExpiresAt ?? (tokens.expiresIn !== undefined ? now + tokens.expiresIn * 1000 : null);
}

/**
 * Builds the stored credential from what a login produced. Identity (email, account id,
 * plan) comes from the id_token claims, falling back to the access token's; the expiry is the
 * access token's `exp`, else now + `expires_in`.
 */
export function credentialFromTokens(
  tokens: TokenSet,
  method: AuthMethod,
  now: number,
  pkce?: { method: 'S256'; challenge: string },
  /** Used when neither token carries `chatgpt_account_id` (e.g. auth.json's `tokens.account_id`). */
  fallbackAccountId?: string,
): Credential {
  const id = readClaims(tokens.idToken);
  const access = readClaims(tokens.accessToken);
  const accountId = id.accountId ?? access.accountId ?? fallbackAccountId;
  if (!accountId) {
    throw new Error('The issuer returned tokens without a chatgpt_account_id claim; this login cannot be used with the Codex backend.');
  }
  const expiresAt = expiresAtFrom(tokens, now, access.expiresAt);
  return {
    accountId,
    email: id.email ?? access.email ?? 'unknown',
    planType: id.planType ?? access.planType ?? 'unknown',
    idToken: tokens.idToken,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    tokenType: tokens.tokenType || 'Bearer',
    expiresAt,
    lastRefresh: now,
    authMethod: method,
    ...(pkce ? { pkce } : {}),
    disabled: false,
  };
}
