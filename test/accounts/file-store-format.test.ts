import { describe, expect, it } from 'vitest';
import { canonicalJson, computeChecksum, credentialToFileObject, parseCredentialFile, serializeCredential } from '../../src/accounts/credential-file.js';
import { fakeJwt, makeCredential } from '../auth/helpers.js';

describe('credential file format', () => {
  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 'x' }], c: undefined } })).toBe('{"a":{"d":[1,{"y":"x","z":1}]},"b":1}');
    expect(canonicalJson('é')).toBe('"é"');
  });

  it('writes the documented fields with a checksum over the others', () => {
    const c = makeCredential({ needsLogin: { reason: 'refresh_token_reused', at: Date.UTC(2026, 0, 2) }, extra: { proxy_url: 'http://p', priority: 2 } });
    const obj = credentialToFileObject(c);
    expect(Object.keys(obj)).toEqual([
      'type', 'email', 'account_id', 'plan_type', 'id_token', 'access_token', 'refresh_token', 'token_type',
      'expired', 'last_refresh', 'auth_method', 'pkce', 'disabled', 'needs_login', 'proxy_url', 'priority', 'checksum',
    ]);
    expect(obj).toMatchObject({
      type: 'codex',
      email: 'alice@example.com',
      account_id: 'acc-1111',
      plan_type: 'plus',
      expired: '2030-01-01T00:00:00.000Z',
      last_refresh: '2026-01-01T00:00:00.000Z',
      auth_method: 'oauth',
      pkce: { method: 'S256', challenge: 'c'.repeat(43) },
      disabled: false,
      needs_login: { reason: 'refresh_token_reused', at: '2026-01-02T00:00:00.000Z' },
    });
    expect(obj.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(obj.checksum).toBe(computeChecksum(obj));
    // round trip
    expect(parseCredentialFile(serializeCredential(c))).toEqual(c);
  });

  it('verifies the checksum', () => {
    const obj = credentialToFileObject(makeCredential());
    const tampered = { ...obj, email: 'mallory@example.com' };
    expect(() => parseCredentialFile(JSON.stringify(tampered))).toThrow(/checksum mismatch/);
    // key order and whitespace do not matter
    const reordered = Object.fromEntries(Object.entries(obj).reverse());
    expect(parseCredentialFile(JSON.stringify(reordered, null, 4)).email).toBe('alice@example.com');
  });

  it('loads a CLIProxyAPI file as it is (no checksum, identity from the id token)', () => {
    const text = JSON.stringify({
      type: 'codex',
      id_token: fakeJwt({ email: 'go@example.com', accountId: 'acc-go', plan: 'team' }),
      access_token: fakeJwt({ accountId: 'acc-go', exp: 1893456000 }),
      refresh_token: 'rt_go',
      last_refresh: '2025-11-01T12:00:00+01:00',
      expired: '2030-01-01T00:00:00Z',
      proxy_url: '',
      note: 'work',
    });
    const c = parseCredentialFile(text);
    expect(c).toMatchObject({
      accountId: 'acc-go',
      email: 'go@example.com',
      planType: 'team',
      refreshToken: 'rt_go',
      tokenType: 'Bearer',
      authMethod: 'import',
      disabled: false,
      lastRefresh: Date.parse('2025-11-01T11:00:00Z'),
      expiresAt: Date.UTC(2030, 0, 1),
      extra: { proxy_url: '', note: 'work' },
    });
  });

  it('never quotes the file (a token fragment) when it is not valid JSON', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9SECRETFRAGMENT0123456789';
    const cases = [
      `{"access_token": "${token}" "refresh_token": "rt_x"}`, // missing comma right after the token
      `{"access_token": "${token}`, // cut off inside the token
      `${token}`, // the parser quotes the start of the text
      `{"refresh_token": ${token}}`, // a bare token
    ];
    for (const text of cases) {
      let reason = '';
      try {
        parseCredentialFile(text);
      } catch (err) {
        reason = (err as Error).message;
      }
      expect(reason).toMatch(/^not valid JSON/);
      for (let i = 0; i + 6 <= token.length; i++) expect(reason).not.toContain(token.slice(i, i + 6));
    }
    expect(() => parseCredentialFile(`{"access_token": "${token}" "x": 1}`)).toThrow(/^not valid JSON \(at character \d+\)$/);
  });

  it('explains unusable files', () => {
    expect(() => parseCredentialFile('{not json')).toThrow(/not valid JSON/);
    expect(() => parseCredentialFile('[]')).toThrow(/not a JSON object/);
    expect(() => parseCredentialFile(JSON.stringify({ type: 'claude', access_token: 'a', refresh_token: 'r' }))).toThrow(/not "codex"/);
    expect(() => parseCredentialFile(JSON.stringify({ access_token: 'a' }))).toThrow(/refresh_token is missing/);
    expect(() => parseCredentialFile(JSON.stringify({ access_token: 'a', refresh_token: 'r' }))).toThrow(/account_id is missing/);
    expect(() => parseCredentialFile(JSON.stringify({ access_token: 'a', refresh_token: 'r', account_id: 'x', expired: 'soon' }))).toThrow(/expired "soon"/);
  });
});
