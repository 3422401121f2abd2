/**
 * Issuer endpoints: /oauth/authorize (+ the consent decision), /oauth/token
 * (authorization_code with PKCE S256, refresh_token with rotation), /oauth/revoke.
 */
import type { ServerResponse } from 'node:http';
import type { SandboxCore } from './core.js';
import { randomToken, pkceChallenge } from './tokens.js';
import { readParams, redirect, sendAuthError, sendHtml, sendJson, withQuery, type Request } from './http.js';
import { messagePage, signInPage } from './pages.js';

const PENDING_AUTHORIZATION_TTL_MS = 30 * 60 * 1000;

/** Loopback redirect URIs (any port, any path) or the issuer's own device callback. */
function isAllowedRedirectUri(uri: string, core: SandboxCore): boolean {
  if (uri === core.deviceCallbackUri) return true;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:') return false;
  if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return false;
  return u.port !== '' && !u.username && !u.password && !u.hash;
}

function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description });
}

export function authorizeGet(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    const q = req.query;
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const state = q.get('state') ?? '';
    if (clientId !== core.clientId) {
      return sendHtml(res, 400, messagePage('Sign-in error', `Unknown client_id "${clientId}".`, 'error'));
    }
    if (!isAllowedRedirectUri(redirectUri, core)) {
      return sendHtml(
        res,
        400,
        messagePage('Sign-in error', `redirect_uri "${redirectUri}" is not allowed: use http://localhost:<port>/... or http://127.0.0.1:<port>/...`, 'error'),
      );
    }
    if (!state) return sendHtml(res, 400, messagePage('Sign-in error', 'The state parameter is required.', 'error'));
    const fail = (error: string, description: string) => redirect(res, withQuery(redirectUri, { error, error_description: description, state }));
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be "code"');
    const challenge = q.get('code_challenge') ?? '';
    if (!challenge) return fail('invalid_request', 'code_challenge is required (PKCE)');
    if (q.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'code_challenge must be base64url(SHA-256(code_verifier)) without padding');

    if (core.autoApprove) {
      const account = core.accounts.approve();
      const code = core.tokens.issueCode({ accountId: account.accountId, clientId, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' });
      return redirect(res, withQuery(redirectUri, { code, state }));
    }
    const requestId = randomToken('authreq_', 18);
    core.pendingAuthorizations.set(requestId, {
      clientId,
      redirectUri,
      state,
      codeChallenge: challenge,
      expiresAt: core.clock.now() + PENDING_AUTHORIZATION_TTL_MS,
    });
    const next = core.accounts.peekNextIdentity();
    sendHtml(res, 200, signInPage({ requestId, email: next.email, plan: next.plan, redirectHost: new URL(redirectUri).host }));
  };
}

export function authorizeDecision(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    const pending = core.pendingAuthorizations.get(p.request_id ?? '');
    if (!pending || core.clock.now() >= pending.expiresAt) {
      return sendHtml(res, 400, messagePage('Sign-in error', 'This sign-in request is unknown or has expired. Start the sign-in again.', 'error'));
    }
    core.pendingAuthorizations.delete(p.request_id ?? '');
    if (p.decision !== 'approve') {
      return redirect(res, withQuery(pending.redirectUri, { error: 'access_denied', error_description: 'The user denied the authorization request.', state: pending.state }));
    }
    const account = core.accounts.approve({ email: p.email, plan: p.plan });
    const code = core.tokens.issueCode({
      accountId: account.accountId,
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      codeChallengeMethod: 'S256',
    });
    redirect(res, withQuery(pending.redirectUri, { code, state: pending.state }));
  };
}

export function tokenEndpoint(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    const grant = p.grant_type ?? '';
    if (grant === 'authorization_code') return exchangeCode(core, p, res);
    if (grant === 'refresh_token') {
      if (core.refreshDelayMs > 0 && !(await waitUnlessGone(core, res))) return;
      return refreshGrant(core, p, res);
    }
    oauthError(res, 400, 'unsupported_grant_type', `grant_type "${grant}" is not supported (use authorization_code or refresh_token)`);
  };
}

function exchangeCode(core: SandboxCore, p: Record<string, string>, res: ServerResponse): void {
  for (const field of ['code', 'redirect_uri', 'client_id', 'code_verifier']) {
    if (!p[field]) return oauthError(res, 400, 'invalid_request', `${field} is required`);
  }
  const rec = core.tokens.peekCode(p.code ?? '');
  if (!rec.ok) return oauthError(res, 400, 'invalid_grant', rec.message);
  const code = rec.record;
  if (p.client_id !== code.clientId) return oauthError(res, 400, 'invalid_grant', 'client_id does not match the authorization request');
  if (p.redirect_uri !== code.redirectUri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri does not match the authorization request');
  if (pkceChallenge(p.code_verifier ?? '') !== code.codeChallenge) {
    return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed: code_verifier does not match code_challenge');
  }
  core.tokens.markCodeUsed(p.code ?? '');
  const account = core.accounts.get(code.accountId);
  if (!account) return oauthError(res, 400, 'invalid_grant', 'The account of this authorization code no longer exists');
  sendJson(res, 200, core.tokens.mint(account));
}

/**
 * Holds a refresh grant for core.refreshDelayMs. False when the client hung up meanwhile:
 * the grant was never processed, so the refresh token is not rotated.
 */
async function waitUnlessGone(core: SandboxCore, res: ServerResponse): Promise<boolean> {
  core.pendingRefreshes++;
  try {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, core.refreshDelayMs);
      res.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  } finally {
    core.pendingRefreshes--;
  }
  return !res.destroyed && !res.socket?.destroyed;
}

function refreshGrant(core: SandboxCore, p: Record<string, string>, res: ServerResponse): void {
  if (!p.client_id) return oauthError(res, 400, 'invalid_request', 'client_id is required');
  if (p.client_id !== core.clientId) return oauthError(res, 401, 'invalid_client', `Unknown client_id "${p.client_id}"`);
  if (!p.refresh_token) return oauthError(res, 400, 'invalid_request', 'refresh_token is required');
  const out = core.tokens.rotate(p.refresh_token, (id) => core.accounts.get(id));
  if (!out.ok) {
    if (out.code === 'refresh_token_reused') core.stats.bump('refreshReuses', out.accountId);
    return sendAuthError(res, out.code, out.message);
  }
  core.stats.bump('refreshes', out.account.accountId);
  sendJson(res, 200, out.tokens);
}

export function revokeEndpoint(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    if (p.token) core.tokens.revoke(p.token);
    sendJson(res, 200, {});
  };
}

export function deviceCallbackPage() {
  return (_req: Request, res: ServerResponse): void => {
    sendHtml(res, 200, messagePage('Device signed in', 'Your device is signed in. You can return to your terminal.'));
  };
}

export function openidConfiguration(core: SandboxCore) {
  return (_req: Request, res: ServerResponse): void => {
    const i = core.issuer;
    sendJson(res, 200, {
      issuer: i,
      authorization_endpoint: `${i}/oauth/authorize`,
      token_endpoint: `${i}/oauth/token`,
      revocation_endpoint: `${i}/oauth/revoke`,
      device_authorization_endpoint: `${i}/api/accounts/deviceauth/usercode`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    });
  };
}
