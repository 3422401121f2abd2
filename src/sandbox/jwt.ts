/**
 * JWTs with the claim layout of the real issuer. Clients only decode the payload, so the
 * signature is an HMAC with a per-sandbox key: well-formed, but not meant to be verified.
 */
import { createHmac, randomBytes } from 'node:crypto';

// Same claim names as src/auth/id-token-claims.ts, repeated on purpose: the sandbox stays independent of src/auth.
export const AUTH_CLAIM = 'https://api.openai.com/auth';
export const PROFILE_CLAIM = 'https://api.openai.com/profile';

export interface TokenIdentity {
  accountId: string;
  userId: string;
  email: string;
  plan: string;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export class JwtMinter {
  private readonly key = randomBytes(32);

  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
  ) {}

  private sign(payload: Record<string, unknown>): string {
    const head = b64url({ alg: 'HS256', typ: 'JWT', kid: 'cliproxy-sandbox' });
    const body = b64url(payload);
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  private authClaim(who: TokenIdentity): Record<string, unknown> {
    return {
      chatgpt_account_id: who.accountId,
      chatgpt_plan_type: who.plan,
      chatgpt_user_id: who.userId,
      user_id: who.userId,
    };
  }

  /** Access token: `exp` is its expiry (seconds). `jti` makes every token distinct. */
  accessToken(who: TokenIdentity, iatSeconds: number, ttlSeconds: number): string {
    return this.sign({
      iss: `${this.issuer}`,
      aud: ['https://api.openai.com/v1'],
      client_id: this.clientId,
      sub: who.userId,
      scp: ['openid', 'profile', 'email', 'offline_access'],
      iat: iatSeconds,
      nbf: iatSeconds,
      exp: iatSeconds + ttlSeconds,
      jti: randomBytes(12).toString('hex'),
      [AUTH_CLAIM]: this.authClaim(who),
      [PROFILE_CLAIM]: { email: who.email, email_verified: true },
    });
  }

  /** ID token: identity claims for the client (email, account id, plan). */
  idToken(who: TokenIdentity, iatSeconds: number, ttlSeconds: number): string {
    return this.sign({
      iss: `${this.issuer}`,
      aud: [this.clientId],
      sub: who.userId,
      email: who.email,
      email_verified: true,
      iat: iatSeconds,
      auth_time: iatSeconds,
      exp: iatSeconds + ttlSeconds,
      jti: randomBytes(12).toString('hex'),
      [AUTH_CLAIM]: { ...this.authClaim(who), organizations: [] },
      [PROFILE_CLAIM]: { email: who.email, email_verified: true },
    });
  }
}
