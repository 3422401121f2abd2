import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { CLIENT_ID, decodeJwt, postForm, postJson } from './helpers.js';

let sb: Sandbox;
afterEach(async () => {
  await sb.close();
});

async function startDevice(): Promise<{ device_auth_id: string; user_code: string; interval: unknown }> {
  const res = await postJson(`${sb.issuer}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID });
  expect(res.status).toBe(200);
  return (await res.json()) as { device_auth_id: string; user_code: string; interval: unknown };
}

function poll(d: { device_auth_id: string; user_code: string }): Promise<Response> {
  return postJson(`${sb.issuer}/api/accounts/deviceauth/token`, { device_auth_id: d.device_auth_id, user_code: d.user_code });
}

async function exchangeDeviceGrant(g: { authorization_code: string; code_verifier: string }): Promise<Record<string, string>> {
  const res = await postForm(`${sb.issuer}/oauth/token`, {
    grant_type: 'authorization_code',
    code: g.authorization_code,
    redirect_uri: `${sb.issuer}/deviceauth/callback`,
    client_id: CLIENT_ID,
    code_verifier: g.code_verifier,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, string>;
}

describe('sandbox device flow', () => {
  it('usercode returns a device_auth_id, an ABCD-EFGH user code and a string interval', async () => {
    sb = await startSandbox({ quiet: true, deviceIntervalSeconds: 1 });
    const d = await startDevice();
    expect(d.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(d.interval).toBe('1');
    expect(d.device_auth_id).toBeTruthy();
    const bad = await postJson(`${sb.issuer}/api/accounts/deviceauth/usercode`, { client_id: 'app_other' });
    expect(bad.status).toBe(400);
  });

  it('pending (403) → approveDevice → 200 with a PKCE pair → tokens for the approved identity', async () => {
    sb = await startSandbox({ quiet: true });
    const d = await startDevice();
    expect((await poll(d)).status).toBe(403);
    sb.approveDevice(d.user_code.toLowerCase(), { email: 'dev@example.com', plan: 'pro' });
    const ok = await poll(d);
    expect(ok.status).toBe(200);
    const g = (await ok.json()) as { authorization_code: string; code_challenge: string; code_verifier: string };
    expect(g.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const tokens = await exchangeDeviceGrant(g);
    const claims = decodeJwt(tokens.id_token!);
    expect(claims.email).toBe('dev@example.com');
    expect((claims['https://api.openai.com/auth'] as Record<string, string>).chatgpt_plan_type).toBe('pro');
    expect(() => sb.approveDevice(d.user_code)).toThrow(/no pending device authorization/);
  });

  it('autoApprove approves a device code on its first poll', async () => {
    sb = await startSandbox({ quiet: true, autoApprove: true });
    sb.queueAccount({ email: 'auto@example.com' });
    const d = await startDevice();
    const res = await poll(d);
    expect(res.status).toBe(200);
    const tokens = await exchangeDeviceGrant((await res.json()) as { authorization_code: string; code_verifier: string });
    expect(decodeJwt(tokens.id_token!).email).toBe('auto@example.com');
  });

  it('unknown device_auth_id and a mismatching user_code are 400 invalid_grant', async () => {
    sb = await startSandbox({ quiet: true });
    const d = await startDevice();
    const unknown = await poll({ device_auth_id: 'deviceauth_nope', user_code: d.user_code });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_grant');
    const mismatch = await poll({ device_auth_id: d.device_auth_id, user_code: 'ZZZZ-ZZZZ' });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('an expired device code is 400 expired_token and can no longer be approved', async () => {
    const clock = new ManualClock(Date.now());
    sb = await startSandbox({ quiet: true, clock, deviceCodeTtlSeconds: 60 });
    const d = await startDevice();
    await clock.advance(61_000);
    const res = await poll(d);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('expired_token');
    expect(() => sb.approveDevice(d.user_code)).toThrow();
  });

  it('the /codex/device pages: invalid code, approve, deny', async () => {
    sb = await startSandbox({ quiet: true });
    const page = await fetch(`${sb.issuer}/codex/device`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="user_code"');
    expect(html).toContain('id="continue"');

    const invalid = await postForm(`${sb.issuer}/codex/device`, { user_code: 'AAAA-BBBB' });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('Invalid device code');

    const d = await startDevice();
    const confirm = await postForm(`${sb.issuer}/codex/device`, { user_code: d.user_code.replace('-', '').toLowerCase() });
    expect(confirm.status).toBe(200);
    const confirmHtml = await confirm.text();
    expect(confirmHtml).toContain('id="approve"');
    expect(confirmHtml).toContain('id="deny"');
    const approved = await postForm(`${sb.issuer}/codex/device/decision`, { user_code: d.user_code, decision: 'approve', email: 'page@example.com', plan: 'plus' });
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Device approved');
    const tokens = await exchangeDeviceGrant((await (await poll(d)).json()) as { authorization_code: string; code_verifier: string });
    expect(decodeJwt(tokens.id_token!).email).toBe('page@example.com');

    const d2 = await startDevice();
    const denied = await postForm(`${sb.issuer}/codex/device/decision`, { user_code: d2.user_code, decision: 'deny' });
    expect(await denied.text()).toContain('denied');
    const res = await poll(d2);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('access_denied');
  });
});
