import { describe, expect, it } from 'vitest';
import { parsePastedRedirect } from '../../src/auth/paste-redirect.js';

describe('parsePastedRedirect', () => {
  it('reads code and state from a full URL', () => {
    expect(parsePastedRedirect('http://localhost:1455/auth/callback?code=abc&state=S1', 'S1')).toEqual({ kind: 'code', code: 'abc' });
  });
  it('tolerates surrounding spaces, quotes and just the query', () => {
    expect(parsePastedRedirect('  "http://localhost:1455/auth/callback?code=abc&state=S1"  ', 'S1')).toEqual({ kind: 'code', code: 'abc' });
    expect(parsePastedRedirect('?code=abc&state=S1', 'S1')).toEqual({ kind: 'code', code: 'abc' });
    expect(parsePastedRedirect('code=abc&state=S1', 'S1')).toEqual({ kind: 'code', code: 'abc' });
  });
  it('rejects a wrong state', () => {
    expect(parsePastedRedirect('http://localhost:1455/auth/callback?code=abc&state=OTHER', 'S1')).toEqual({ kind: 'state-mismatch' });
    expect(parsePastedRedirect('http://localhost:1455/auth/callback?code=abc', 'S1')).toEqual({ kind: 'state-mismatch' });
  });
  it('reports provider errors and a missing code', () => {
    expect(parsePastedRedirect('http://localhost:1/auth/callback?error=access_denied&error_description=No+way&state=S1', 'S1')).toEqual({
      kind: 'error',
      error: 'access_denied',
      description: 'No way',
    });
    expect(parsePastedRedirect('http://localhost:1/auth/callback?state=S1', 'S1')).toEqual({ kind: 'missing-code' });
  });
  it('returns null for text that is not a redirect URL', () => {
    expect(parsePastedRedirect('hello', 'S1')).toBeNull();
    expect(parsePastedRedirect('', 'S1')).toBeNull();
    expect(parsePastedRedirect('http://localhost:1455/', 'S1')).toBeNull();
  });
});
