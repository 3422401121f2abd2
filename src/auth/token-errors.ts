/**
 * Failures of the issuer's /oauth/token endpoint. `permanent` refresh failures
 * (refresh_token_expired|reused|invalidated, other 401s) mean the account needs a new login
 * and must never be retried; everything else is transient.
 */
export class TokenEndpointError extends Error {
  readonly status: number | undefined;
  /** The issuer's error code (`invalid_grant`, `refresh_token_reused`, …) when given. */
  readonly code: string | undefined;
  readonly permanent: boolean;

  constructor(message: string, init: { status?: number; code?: string; permanent: boolean; cause?: unknown }) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'TokenEndpointError';
    this.status = init.status;
    this.code = init.code;
    this.permanent = init.permanent;
  }
}

export const PERMANENT_REFRESH_CODES = ['refresh_token_expired', 'refresh_token_reused', 'refresh_token_invalidated'] as const;
