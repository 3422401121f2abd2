/**
 * One signed-in ChatGPT account. Plain data: no methods, no I/O. Stores turn it into files
 * (or rows) and back; the pool wraps it with runtime state.
 */
export type AuthMethod = 'oauth' | 'device' | 'import';

export interface Credential {
  /** `chatgpt_account_id`: the id sent upstream as ChatGPT-Account-ID; also the store key. */
  accountId: string;
  email: string;
  /** `chatgpt_plan_type`: free|go|plus|pro|team|business|enterprise|edu, or 'unknown'. */
  planType: string;
  idToken: string;
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  /** Access-token expiry, ms since epoch (from the access token's `exp`, else `expires_in`); null if unknown. */
  expiresAt: number | null;
  /** When the tokens were last obtained or refreshed, ms since epoch. */
  lastRefresh: number | null;
  authMethod: AuthMethod;
  /** PKCE parameters of the login that produced the tokens (never the verifier). */
  pkce?: { method: 'S256'; challenge: string };
  disabled: boolean;
  /**
   * Set when a refresh failed permanently (refresh_token_expired|reused|invalidated, other
   * 401s): the account needs a new login. Persisted so every process sees it.
   */
  needsLogin?: { reason: string; at: number };
  /** Fields from other tools (CLIProxyAPI's proxy_url, priority, note…) kept verbatim on save. */
  extra?: Record<string, unknown>;
}

/** What one login produced, before it is stored. */
export interface TokenSet {
  idToken: string;
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn?: number;
}
