import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialFromCodexAuth, defaultCodexAuthPath, readCodexAuth } from '../../src/auth/codex-import.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { fakeJwt } from './helpers.js';

const NOW = Date.UTC(2026, 0, 1);

describe('credentialFromTokens', () => {
  it('reads identity from the id token and expiry from the access token', () => {
    const c = credentialFromTokens(
      {
        idToken: fakeJwt({ email: 'a@x.com', accountId: 'acc-9', plan: 'pro' }),
        accessToken: fakeJwt({ accountId: 'acc-9', exp: NOW / 1000 + 600 }),
        refreshToken: 'rt',
        tokenType: 'Bearer',
        expiresIn: 3600,
      },
      'device',
      NOW,
      { method: 'S256', challenge: 'ch' },
    );
    expect(c).toMatchObject({ accountId: 'acc-9', email: 'a@x.com', planType: 'pro', expiresAt: NOW + 600_000, lastRefresh: NOW, authMethod: 'device', disabled: false, pkce: { method: 'S256', challenge: 'ch' } });
  });
  it('falls back to expires_in and the profile email claim', () => {
    const c = credentialFromTokens(
      { idToken: fakeJwt({ profileEmail: 'p@x.com', accountId: 'acc-1' }), accessToken: 'opaque', refreshToken: 'rt', tokenType: '', expiresIn: 60 },
      'oauth',
      NOW,
    );
    expect(c.email).toBe('p@x.com');
    expect(c.planType).toBe('unknown');
    expect(c.expiresAt).toBe(NOW + 60_000);
    expect(c.tokenType).toBe('Bearer');
  });
  it('refuses tokens without an account id', () => {
    expect(() => credentialFromTokens({ idToken: fakeJwt({ email: 'a@x' }), accessToken: 'x', refreshToken: 'r', tokenType: 'Bearer' }, 'oauth', NOW)).toThrow(/chatgpt_account_id/);
  });
});

describe('codex auth.json import', () => {
  const authJson = (tokens: Record<string, unknown>) =>
    JSON.stringify({ auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens, last_refresh: '2025-12-31T10:00:00Z' });

  it('imports the tokens and last_refresh', () => {
    const c = credentialFromCodexAuth(
      authJson({ id_token: fakeJwt({ email: 'c@x.com', accountId: 'acc-c', plan: 'team' }), access_token: fakeJwt({ exp: NOW / 1000 }), refresh_token: 'rt', account_id: 'acc-c' }),
      '/h/.codex/auth.json',
      NOW,
    );
    expect(c).toMatchObject({ email: 'c@x.com', accountId: 'acc-c', planType: 'team', authMethod: 'import', lastRefresh: Date.parse('2025-12-31T10:00:00Z'), expiresAt: NOW });
  });
  it('uses tokens.account_id when the claims lack it', () => {
    const c = credentialFromCodexAuth(authJson({ id_token: fakeJwt({ email: 'c@x.com' }), access_token: 'a', refresh_token: 'rt', account_id: 'acc-z' }), 'f', NOW);
    expect(c.accountId).toBe('acc-z');
  });
  it('explains API-key and incomplete files', () => {
    expect(() => credentialFromCodexAuth(JSON.stringify({ OPENAI_API_KEY: 'sk-xxx' }), 'f', NOW)).toThrow(/API key, not a ChatGPT sign-in/);
    expect(() => credentialFromCodexAuth(authJson({ id_token: 'x', access_token: 'a' }), 'f', NOW)).toThrow(/lacks refresh_token/);
    expect(() => credentialFromCodexAuth('{', 'f', NOW)).toThrow(/not valid JSON/);
  });
  it('finds the default path and reports a missing file', async () => {
    expect(defaultCodexAuthPath({}, '/home/u')).toBe('/home/u/.codex/auth.json');
    expect(defaultCodexAuthPath({ CODEX_HOME: '/ch' }, '/home/u')).toBe('/ch/auth.json');
    const dir = await mkdtemp(path.join(tmpdir(), 'cx-'));
    await expect(readCodexAuth(path.join(dir, 'auth.json'), NOW)).rejects.toThrow(/not found/);
    await writeFile(path.join(dir, 'auth.json'), authJson({ id_token: fakeJwt({ email: 'c@x.com', accountId: 'a1' }), access_token: 'a', refresh_token: 'r' }));
    expect((await readCodexAuth(path.join(dir, 'auth.json'), NOW)).accountId).toBe('a1');
  });
});
