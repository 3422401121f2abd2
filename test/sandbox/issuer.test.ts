import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { CLIENT_ID, REDIRECT_URI, authorizeUrl, decodeJwt, pkcePair, postForm, postJson } from './helpers.js';

let sb: Sandbox;
afterEach(async () => {
  await sb.close();
});

async function authorizeAuto(challenge: string, redirectUri = REDIRECT_URI): Promise<URL> {
  const res = await fetch(authorizeUrl(sb.issuer, { challenge, redirect_uri: redirectUri }), { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function exchange(code: string, verifier: string, redirectUri = REDIRECT_URI): Promise<Response> {
  return postForm(`${sb.issuer}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: verifier });
}

describe('sandbox issuer: /oauth/authorize', () => {
  beforeEach(async () => {
    sb = await startSandbox({ quiet: true });
  });

  it('serves a sign-in page with stable element ids and a fresh identity', async () => {
    const { challenge } = pkcePair();
    const res = await fetch(authorizeUrl(sb.issuer, { challenge }));
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const id of ['id="email"', 'id="plan"', 'id="approve"', 'id="deny"']) expect(html).toContain(id);
    expect(html).toContain('value="user1@sandbox.test"');
  });

  it('rejects an unknown client_id and a non-loopback redirect_uri with a 400 page (no redirect)', async () => {
    const { challenge } = pkcePair();
    const bad = await fetch(authorizeUrl(sb.issuer, { challenge, client_id: 'app_other' }), { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Unknown client_id');
    const evil = await fetch(authorizeUrl(sb.issuer, { challenge, redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
    expect(evil.status).toBe(400);
    expect(evil.headers.get('location')).toBeNull();
  });

  it('redirects with an error when PKCE is missing or not S256, or response_type is wrong', async () => {
    const plain = await fetch(authorizeUrl(sb.issuer, { challenge: pkcePair().challenge, code_challenge_method: 'plain' }), { redirect: 'manual' });
    expect(plain.status).toBe(302);
    const loc = new URL(plain.headers.get('location')!);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('state')).toBe('state-123');
    const token = await fetch(authorizeUrl(sb.issuer, { challenge: pkcePair().challenge, response_type: 'token' }), { redirect: 'manual' });
    expect(new URL(token.headers.get('location')!).searchParams.get('error')).toBe('unsupported_response_type');
  });

  it('Approve redirects with code and state; Deny with access_denied', async () => {
    const { challenge } = pkcePair();
    const page = await (await fetch(authorizeUrl(sb.issuer, { challenge, state: 's-approve' }))).text();
    const requestId = /name="request_id" value="([^"]+)"/.exec(page)![1]!;
    const ok = await postForm(`${sb.issuer}/oauth/authorize/decision`, { request_id: requestId, decision: 'approve', email: 'alice@example.com', plan: 'pro' });
    expect(ok.status).toBe(302);
    const loc = new URL(ok.headers.get('location')!);
    expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT_URI);
    expect(loc.searchParams.get('state')).toBe('s-approve');
    expect(loc.searchParams.get('code')).toBeTruthy();
    // the request id is single-use
    const again = await postForm(`${sb.issuer}/oauth/authorize/decision`, { request_id: requestId, decision: 'approve' });
    expect(again.status).toBe(400);

    const page2 = await (await fetch(authorizeUrl(sb.issuer, { challenge, state: 's-deny' }))).text();
    const id2 = /name="request_id" value="([^"]+)"/.exec(page2)![1]!;
    const denied = await postForm(`${sb.issuer}/oauth/authorize/decision`, { request_id: id2, decision: 'deny' });
    const dl = new URL(denied.headers.get('location')!);
    expect(dl.searchParams.get('error')).toBe('access_denied');
    expect(dl.searchParams.get('error_description')).toBeTruthy();
    expect(dl.searchParams.get('state')).toBe('s-deny');
    expect(dl.searchParams.get('code')).toBeNull();
  });

  it('accepts 127.0.0.1 and the issuer device callback as redirect URIs', async () => {
    sb.setAutoApprove(true);
    const { challenge } = pkcePair();
    expect((await authorizeAuto(challenge, 'http://127.0.0.1:1457/auth/callback')).searchParams.get('code')).toBeTruthy();
    expect((await authorizeAuto(challenge, `${sb.issuer}/deviceauth/callback`)).searchParams.get('code')).toBeTruthy();
  });
});

describe('sandbox issuer: /oauth/token', () => {
  beforeEach(async () => {
    sb = await startSandbox({ quiet: true, autoApprove: true });
  });

  it('exchanges a code with the right verifier; tokens carry the real claim layout', async () => {
    const { verifier, challenge } = pkcePair();
    sb.queueAccount({ email: 'bob@example.com', plan: 'team' });
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    const res = await exchange(code, verifier);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(typeof body.refresh_token).toBe('string');
    const id = decodeJwt(body.id_token as string);
    const access = decodeJwt(body.access_token as string);
    expect(id.email).toBe('bob@example.com');
    const auth = id['https://api.openai.com/auth'] as Record<string, string>;
    expect(auth.chatgpt_plan_type).toBe('team');
    expect(auth.chatgpt_account_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(auth.chatgpt_user_id).toBeTruthy();
    expect((access['https://api.openai.com/profile'] as Record<string, string>).email).toBe('bob@example.com');
    expect((access['https://api.openai.com/auth'] as Record<string, string>).chatgpt_account_id).toBe(auth.chatgpt_account_id);
    expect(access.exp).toBe((access.iat as number) + 3600);
  });

  it('fails PKCE with the wrong verifier, then succeeds with the right one (the code survives a failed check)', async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    const bad = await exchange(code, pkcePair().verifier);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_grant', error_description: 'PKCE verification failed: code_verifier does not match code_challenge' });
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it('rejects a redirect_uri that differs from the authorize one', async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    const res = await exchange(code, verifier, 'http://localhost:1455/other');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toContain('redirect_uri');
  });

  it('codes are single-use (form and JSON bodies both work)', async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    const first = await postJson(`${sb.issuer}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: verifier });
    expect(first.status).toBe(200);
    const second = await exchange(code, verifier);
    expect(second.status).toBe(400);
    expect(((await second.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('codes expire', async () => {
    const clock = new ManualClock(Date.now());
    await sb.close();
    sb = await startSandbox({ quiet: true, autoApprove: true, clock });
    const { verifier, challenge } = pkcePair();
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    await clock.advance(11 * 60 * 1000);
    const res = await exchange(code, verifier);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain('expired');
  });

  it('each approval is a distinct account; the same email maps to the same account id', async () => {
    const ids: string[] = [];
    const emails: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { verifier, challenge } = pkcePair();
      const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
      const t = (await (await exchange(code, verifier)).json()) as { id_token: string };
      const claims = decodeJwt(t.id_token);
      ids.push((claims['https://api.openai.com/auth'] as Record<string, string>).chatgpt_account_id!);
      emails.push(claims.email as string);
    }
    expect(new Set(ids).size).toBe(2);
    expect(emails).toEqual(['user1@sandbox.test', 'user2@sandbox.test']);
    sb.queueAccount({ email: 'user1@sandbox.test' });
    const { verifier, challenge } = pkcePair();
    const code = (await authorizeAuto(challenge)).searchParams.get('code')!;
    const t = (await (await exchange(code, verifier)).json()) as { id_token: string };
    expect((decodeJwt(t.id_token)['https://api.openai.com/auth'] as Record<string, string>).chatgpt_account_id).toBe(ids[0]);
  });

  it('refresh rotates every token; a used refresh token is refresh_token_reused and counted', async () => {
    const acct = sb.mintAccount({ email: 'carol@example.com' });
    const r1 = await postJson(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: acct.refreshToken });
    expect(r1.status).toBe(200);
    const t1 = (await r1.json()) as { access_token: string; refresh_token: string; id_token: string; expires_in: number; token_type: string };
    expect(t1.refresh_token).not.toBe(acct.refreshToken);
    expect(t1.access_token).not.toBe(acct.accessToken);
    expect(t1.token_type).toBe('Bearer');
    expect(t1.expires_in).toBe(3600);
    expect(sb.stats('carol@example.com').refreshes).toBe(1);

    const reused = await postForm(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: acct.refreshToken });
    expect(reused.status).toBe(401);
    const body = (await reused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('refresh_token_reused');
    expect(body.error.message).toBeTruthy();
    expect(sb.stats(acct.accountId)).toMatchObject({ refreshes: 1, refreshReuses: 1 });
    expect(sb.stats().refreshReuses).toBe(1);

    // the rotated token still works
    const r2 = await postForm(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: t1.refresh_token });
    expect(r2.status).toBe(200);
  });

  it('revoked and unknown refresh tokens are refresh_token_invalidated', async () => {
    const a = sb.mintAccount();
    const b = sb.mintAccount();
    sb.revokeRefreshTokens(a.accountId);
    const ra = await postJson(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: a.refreshToken });
    expect(ra.status).toBe(401);
    expect(((await ra.json()) as { error: { code: string } }).error.code).toBe('refresh_token_invalidated');
    const rb = await postJson(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: b.refreshToken });
    expect(rb.status).toBe(200);
    const unknown = await postJson(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: 'rt_nope' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('refresh_token_invalidated');
  });

  it('/oauth/revoke accepts a token and invalidates it', async () => {
    const a = sb.mintAccount();
    const rev = await postJson(`${sb.issuer}/oauth/revoke`, { token: a.refreshToken, token_type_hint: 'refresh_token', client_id: CLIENT_ID });
    expect(rev.status).toBe(200);
    const r = await postJson(`${sb.issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: a.refreshToken });
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('refresh_token_invalidated');
    expect((await postForm(`${sb.issuer}/oauth/revoke`, { token: 'whatever' })).status).toBe(200);
  });

  it('rejects unsupported grant types and a wrong client_id on refresh', async () => {
    const bad = await postForm(`${sb.issuer}/oauth/token`, { grant_type: 'password' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('unsupported_grant_type');
    const a = sb.mintAccount();
    const wrong = await postJson(`${sb.issuer}/oauth/token`, { client_id: 'app_x', grant_type: 'refresh_token', refresh_token: a.refreshToken });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
  });
});
