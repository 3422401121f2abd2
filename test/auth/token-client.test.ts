import { afterEach, describe, expect, it } from 'vitest';
import { TokenClient, isPermanentRefreshFailure } from '../../src/auth/token-client.js';
import { TokenEndpointError } from '../../src/auth/token-errors.js';
import { json, tinyServer } from './helpers.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function issuer(handler: Parameters<typeof tinyServer>[0]) {
  const s = await tinyServer(handler);
  servers.push(s);
  return s;
}

async function refreshError(status: number, body: unknown): Promise<TokenEndpointError> {
  const s = await issuer((_req, _body, res) => json(res, status, body));
  const err = await new TokenClient({ issuer: s.url, clientId: 'app_X' }).refresh('rt_secret_value_123456').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TokenEndpointError);
  expect((err as Error).message).not.toContain('rt_secret_value_123456');
  return err as TokenEndpointError;
}

describe('TokenClient', () => {
  it('exchanges a code with a form-encoded body', async () => {
    let seen: { ct?: string; body?: string; path?: string } = {};
    const s = await issuer((req, body, res) => {
      seen = { ct: req.headers['content-type'], body, path: req.url };
      json(res, 200, { id_token: 'i.d.t', access_token: 'a.c.c', refresh_token: 'rt1', expires_in: 3600, token_type: 'Bearer' });
    });
    const tokens = await new TokenClient({ issuer: `${s.url}/`, clientId: 'app_X' }).exchangeCode({ code: 'C', redirectUri: 'http://localhost:1455/auth/callback', codeVerifier: 'V' });
    expect(tokens).toEqual({ idToken: 'i.d.t', accessToken: 'a.c.c', refreshToken: 'rt1', tokenType: 'Bearer', expiresIn: 3600 });
    expect(seen.path).toBe('/oauth/token');
    expect(seen.ct).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({
      grant_type: 'authorization_code',
      code: 'C',
      redirect_uri: 'http://localhost:1455/auth/callback',
      client_id: 'app_X',
      code_verifier: 'V',
    });
  });

  it('requires all three tokens from the exchange', async () => {
    const s = await issuer((_r, _b, res) => json(res, 200, { access_token: 'a', refresh_token: 'r' }));
    await expect(new TokenClient({ issuer: s.url, clientId: 'x' }).exchangeCode({ code: 'C', redirectUri: 'r', codeVerifier: 'v' })).rejects.toThrow(/lacks id_token/);
  });

  it('surfaces error_description, else error.message, else error', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ error: 'invalid_grant', error_description: 'PKCE verification failed' }, /HTTP 400 invalid_grant\): PKCE verification failed/],
      [{ error: { message: 'bad code', code: 'bad_code' } }, /HTTP 400 bad_code\): bad code/],
      [{ error: 'invalid_grant' }, /HTTP 400\): invalid_grant/],
    ];
    for (const [body, re] of cases) {
      const s = await issuer((_r, _b, res) => json(res, 400, body));
      const err = await new TokenClient({ issuer: s.url, clientId: 'x' }).exchangeCode({ code: 'C', redirectUri: 'r', codeVerifier: 'v' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenEndpointError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('refreshes with a JSON body and keeps the old refresh token when none is returned', async () => {
    let seen: { ct?: string; body?: string } = {};
    const s = await issuer((req, body, res) => {
      seen = { ct: req.headers['content-type'], body };
      json(res, 200, { access_token: 'new.acc.ess', id_token: 'new.id.tok' });
    });
    const t = await new TokenClient({ issuer: s.url, clientId: 'app_X' }).refresh('rt_old');
    expect(seen.ct).toBe('application/json');
    expect(JSON.parse(seen.body ?? '')).toEqual({ client_id: 'app_X', grant_type: 'refresh_token', refresh_token: 'rt_old' });
    expect(t.refreshToken).toBe('rt_old');
    expect(t.accessToken).toBe('new.acc.ess');
  });

  it('classifies refresh failures', async () => {
    for (const code of ['refresh_token_expired', 'refresh_token_reused', 'refresh_token_invalidated']) {
      const e = await refreshError(401, { error: { message: 'nope', code } });
      expect(e.permanent).toBe(true);
      expect(e.code).toBe(code);
      expect(e.status).toBe(401);
    }
    expect((await refreshError(401, {})).permanent).toBe(true);
    expect((await refreshError(400, { error: 'invalid_grant', error_description: 'bad' })).permanent).toBe(true);
    expect((await refreshError(400, { error: 'invalid_request' })).permanent).toBe(false);
    expect((await refreshError(500, { error: 'server_error' })).permanent).toBe(false);
    expect((await refreshError(503, 'overloaded')).permanent).toBe(false);
    expect((await refreshError(429, { error: 'invalid_grant' })).permanent).toBe(false);
    expect(isPermanentRefreshFailure(401, 'whatever')).toBe(true);
  });

  it('treats network failures and timeouts as transient', async () => {
    const s = await issuer(() => undefined); // never answers
    const slow = await new TokenClient({ issuer: s.url, clientId: 'x', timeoutMs: 200 }).refresh('rt').catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(TokenEndpointError);
    expect((slow as TokenEndpointError).permanent).toBe(false);
    expect((slow as Error).message).toMatch(/no answer within/);
    const closed = await tinyServer(() => undefined);
    await closed.close();
    const down = await new TokenClient({ issuer: closed.url, clientId: 'x' }).refresh('rt').catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TokenEndpointError);
    expect((down as TokenEndpointError).permanent).toBe(false);
    expect((down as Error).message).toBe(`Token refresh failed: could not reach ${closed.url} (ECONNREFUSED)`);
  });

  it('revokes with RFC 7009 form fields', async () => {
    let body = '';
    let path = '';
    const s = await issuer((req, b, res) => {
      body = b;
      path = req.url ?? '';
      json(res, 200, {});
    });
    await new TokenClient({ issuer: s.url, clientId: 'app_X' }).revoke('rt_1');
    expect(path).toBe('/oauth/revoke');
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({ token: 'rt_1', token_type_hint: 'refresh_token', client_id: 'app_X' });
  });

  it('honours an abort signal', async () => {
    const s = await issuer(() => undefined);
    const ac = new AbortController();
    const p = new TokenClient({ issuer: s.url, clientId: 'x' }).refresh('rt', ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow();
  });
});

describe('TokenClient error messages never echo what was sent', () => {
  /** An issuer that answers 400 with the request body in error_description (as some proxies do). */
  async function echoingIssuer() {
    return issuer((_req, body, res) => json(res, 400, { error: 'invalid_request', error_description: `bad request: ${body}` }));
  }

  it('refresh: the refresh token is not in the message', async () => {
    const s = await echoingIssuer();
    const rt = 'rt_plain_refresh_secret_98765';
    const err = await new TokenClient({ issuer: s.url, clientId: 'app_X' }).refresh(rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect((err as Error).message).toContain('bad request:');
    expect((err as Error).message).not.toContain(rt);
  });

  it('exchangeCode: neither the code (raw or URL-encoded) nor the code verifier is in the message', async () => {
    const s = await echoingIssuer();
    const code = 'ac_code/with+special=chars_123';
    const codeVerifier = 'verifier_secret_abcdefghijklmnop';
    const err = await new TokenClient({ issuer: s.url, clientId: 'app_X' })
      .exchangeCode({ code, redirectUri: 'http://localhost:1455/auth/callback', codeVerifier })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    const message = (err as Error).message;
    expect(message).toContain('bad request:');
    for (const secret of [code, encodeURIComponent(code), new URLSearchParams({ code }).toString().slice(5), codeVerifier]) expect(message).not.toContain(secret);
  });

  it('revoke: the token is not in the message', async () => {
    const s = await echoingIssuer();
    const token = 'rt_revoke_me_secret_55555';
    const err = await new TokenClient({ issuer: s.url, clientId: 'app_X' }).revoke(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect((err as Error).message).not.toContain(token);
  });
});
