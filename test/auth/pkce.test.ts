import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildAuthorizeUrl, callbackRedirectUri, challengeFor, generatePkce, generateState } from '../../src/auth/pkce.js';

describe('pkce', () => {
  it('makes an 86-char base64url verifier and its S256 challenge', () => {
    const p = generatePkce();
    expect(p.verifier).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(p.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.challenge).toBe(createHash('sha256').update(p.verifier).digest('base64url'));
    expect(p.method).toBe('S256');
    expect(generatePkce().verifier).not.toBe(p.verifier);
  });

  it('matches the RFC 7636 appendix B example', () => {
    expect(challengeFor('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes a 32-byte base64url state', () => {
    const s = generateState();
    expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('builds the authorize URL with the parameters in protocol order', () => {
    const url = buildAuthorizeUrl({
      issuer: 'https://auth.example/',
      clientId: 'app_X',
      redirectUri: callbackRedirectUri(1455),
      challenge: 'CH',
      state: 'ST',
      originator: 'codex_cli_rs',
    });
    const u = new URL(url);
    expect(u.origin + u.pathname).toBe('https://auth.example/oauth/authorize');
    expect([...u.searchParams.keys()]).toEqual([
      'response_type',
      'client_id',
      'redirect_uri',
      'scope',
      'code_challenge',
      'code_challenge_method',
      'id_token_add_organizations',
      'codex_cli_simplified_flow',
      'state',
      'originator',
    ]);
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'app_X',
      redirect_uri: 'http://localhost:1455/auth/callback',
      scope: 'openid profile email offline_access',
      code_challenge: 'CH',
      code_challenge_method: 'S256',
      id_token_add_organizations: 'true',
      codex_cli_simplified_flow: 'true',
      state: 'ST',
      originator: 'codex_cli_rs',
    });
    expect(url).toContain('scope=openid%20profile%20email%20offline_access');
  });
});
