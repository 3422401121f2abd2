import type { TokenSet } from '../accounts/credential.js';
import { scrubText } from '../util/redact.js';
import { IssuerUnreachable, postToIssuer } from './issuer-post.js';
import { TokenEndpointError, PERMANENT_REFRESH_CODES } from './token-errors.js';

/**
 * The issuer's token endpoint: authorization-code exchange (form-encoded, protocol.md §1.5),
 * refresh (JSON, §3) and best-effort revocation. Nothing here logs; error messages never
 * contain a token.
 */
export interface TokenClientOptions {
  issuer: string;
  clientId: string;
  fetch?: typeof fetch;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

interface ParsedError {
  code: string | undefined;
  description: string | undefined;
}

/** Reads `{error, error_description}` or `{error:{message, code}}` (or `{detail}`) from an error body. */
export function parseTokenError(bodyText: string): ParsedError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    const text = bodyText.trim();
    return { code: undefined, description: text ? text.slice(0, 300) : undefined };
  }
  if (!body || typeof body !== 'object') return { code: undefined, description: undefined };
  const b = body as Record<string, unknown>;
  const err = b.error;
  if (typeof err === 'string') {
    const desc = typeof b.error_description === 'string' ? b.error_description : undefined;
    return { code: err, description: desc };
  }
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    const code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : undefined;
    const desc = typeof e.message === 'string' ? e.message : undefined;
    return { code, description: desc };
  }
  if (typeof b.detail === 'string') return { code: undefined, description: b.detail };
  return { code: undefined, description: undefined };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Whether a refresh failure means the account needs a new login (protocol.md §3): any 401
 * (refresh_token_expired|reused|invalidated, or no code), and `invalid_grant` on other 4xx.
 * 5xx, 408, 429 and network failures are transient.
 */
export function isPermanentRefreshFailure(status: number, code: string | undefined): boolean {
  if (status === 401) return true;
  if (code && (PERMANENT_REFRESH_CODES as readonly string[]).includes(code)) return status >= 400 && status < 500;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return code === 'invalid_grant';
  return false;
}

export class TokenClient {
  private readonly issuer: string;
  private readonly clientId: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(opts: TokenClientOptions) {
    this.issuer = opts.issuer.replace(/\/+$/, '');
    this.clientId = opts.clientId;
    // the global fetch is looked up when first used: touching it loads Node's own undici (start-up time)
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Authorization code → tokens (protocol.md §1.5). Failures are TokenEndpointError (permanent for 4xx). */
  async exchangeCode(p: { code: string; redirectUri: string; codeVerifier: string }, signal?: AbortSignal): Promise<TokenSet> {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: p.code,
      redirect_uri: p.redirectUri,
      client_id: this.clientId,
      code_verifier: p.codeVerifier,
    });
    const res = await this.post('/oauth/token', 'application/x-www-form-urlencoded', body.toString(), 'token exchange', signal);
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const { code, description } = parseTokenError(text);
      const secrets = [...sentForms(p.code), ...sentForms(p.codeVerifier)];
      throw new TokenEndpointError(describe('Token exchange', res.status, code, description, secrets), {
        status: res.status,
        code,
        permanent: res.status >= 400 && res.status < 500,
      });
    }
    return this.parseTokens(text, res.status, 'token exchange', null);
  }

  /**
   * Refresh (protocol.md §3). The response may omit id_token / refresh_token; the old refresh
   * token is then kept by the caller — here we return it unchanged so the result is complete.
   */
  async refresh(refreshToken: string, signal?: AbortSignal): Promise<TokenSet> {
    const body = JSON.stringify({ client_id: this.clientId, grant_type: 'refresh_token', refresh_token: refreshToken });
    const res = await this.post('/oauth/token', 'application/json', body, 'token refresh', signal);
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const { code, description } = parseTokenError(text);
      throw new TokenEndpointError(describe('Token refresh', res.status, code, description, sentForms(refreshToken)), {
        status: res.status,
        code,
        permanent: isPermanentRefreshFailure(res.status, code),
      });
    }
    return this.parseTokens(text, res.status, 'token refresh', refreshToken);
  }

  /** RFC 7009 revocation at {issuer}/oauth/revoke. Throws on failure; callers treat that as a warning. */
  async revoke(token: string, signal?: AbortSignal): Promise<void> {
    const body = new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: this.clientId });
    const res = await this.post('/oauth/revoke', 'application/x-www-form-urlencoded', body.toString(), 'token revocation', signal);
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const { code, description } = parseTokenError(text);
      throw new TokenEndpointError(describe('Token revocation', res.status, code, description, sentForms(token)), {
        status: res.status,
        code,
        permanent: res.status >= 400 && res.status < 500,
      });
    }
  }

  private async post(path: string, contentType: string, body: string, what: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await postToIssuer({ fetch: this.fetchFn, url: `${this.issuer}${path}`, contentType, body, timeoutMs: this.timeoutMs, signal });
    } catch (err) {
      if (!(err instanceof IssuerUnreachable)) throw err;
      throw new TokenEndpointError(`${capitalize(what)} failed: could not reach ${this.issuer} (${err.reason})`, { permanent: false, cause: err.cause });
    }
  }

  private parseTokens(text: string, status: number, what: string, previousRefresh: string | null): TokenSet {
    let json: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(text);
      if (!v || typeof v !== 'object') throw new Error('not an object');
      json = v as Record<string, unknown>;
    } catch {
      throw new TokenEndpointError(`${capitalize(what)} failed: the issuer answered HTTP ${status} with a body that is not JSON`, { status, permanent: false });
    }
    const idToken = str(json.id_token);
    const accessToken = str(json.access_token);
    const refreshToken = str(json.refresh_token) ?? previousRefresh ?? undefined;
    const missing = [
      idToken || previousRefresh !== null ? null : 'id_token',
      accessToken ? null : 'access_token',
      refreshToken ? null : 'refresh_token',
    ].filter((x): x is string => x !== null);
    if (missing.length > 0) {
      throw new TokenEndpointError(`${capitalize(what)} failed: the issuer's answer lacks ${missing.join(', ')}`, { status, permanent: false });
    }
    const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : typeof json.expires_in === 'string' ? Number(json.expires_in) : undefined;
    return {
      idToken: idToken ?? '',
      accessToken: accessToken!,
      refreshToken: refreshToken!,
      tokenType: str(json.token_type) ?? 'Bearer',
      ...(expiresIn !== undefined && Number.isFinite(expiresIn) ? { expiresIn } : {}),
    };
  }
}

/**
 * The message of a non-2xx answer. `secrets` are the values this request sent (refresh token,
 * authorization code, code verifier): an issuer that echoes the request must not put them in
 * a message shown on the terminal, the browser error page or stderr.
 */
function describe(what: string, status: number, code: string | undefined, description: string | undefined, secrets: readonly string[]): string {
  const detail = description ?? code ?? 'no details given';
  const codePart = code && description ? ` ${code}` : '';
  return scrubText(`${what} failed (HTTP ${status}${codePart}): ${detail}`, secrets);
}

/** A secret as it may come back from an issuer echoing the request: raw, URL-encoded, form-encoded. */
function sentForms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), new URLSearchParams({ v: secret }).toString().slice(2)];
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
