/**
 * Decoding the claims in Codex JWTs. Clients do not verify signatures (protocol.md §3); they
 * only read the payload.
 */
export interface CodexClaims {
  email?: string;
  accountId?: string;
  planType?: string;
  userId?: string;
  /** `exp` in ms since epoch. */
  expiresAt?: number;
}

const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';

function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length < 2 || !parts[1]) return null;
  try {
    const json = Buffer.from(parts[1], 'base64url').toString('utf8');
    const value: unknown = JSON.parse(json);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function readClaims(token: string): CodexClaims {
  const p = decodeJwtPayload(token);
  if (!p) return {};
  const auth = (p[AUTH_CLAIM] ?? {}) as Record<string, unknown>;
  const profile = (p[PROFILE_CLAIM] ?? {}) as Record<string, unknown>;
  const exp = typeof p.exp === 'number' ? p.exp * 1000 : undefined;
  return {
    email: str(p.email) ?? str(profile.email),
    accountId: str(auth.chatgpt_account_id),
    planType: str(auth.chatgpt_plan_type),
    userId: str(auth.chatgpt_user_id) ?? str(auth.user_id),
    expiresAt: exp,
  };
}
