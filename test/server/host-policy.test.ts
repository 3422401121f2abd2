import { describe, expect, it } from 'vitest';
import { apiKeyMatcher, presentedKey } from '../../src/server/client-auth.js';
import { assertHostAllowed, HostNotAllowedError, isLoopbackHost } from '../../src/server/host-policy.js';

describe('host policy', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses a non-loopback host without API keys, explaining why', () => {
    expect(() => assertHostAllowed('0.0.0.0', [])).toThrow(HostNotAllowedError);
    expect(() => assertHostAllowed('0.0.0.0', [])).toThrow(/api-keys/);
    expect(() => assertHostAllowed('0.0.0.0', [])).toThrow(/anyone/);
  });

  it('allows any host with keys, and loopback without', () => {
    expect(() => assertHostAllowed('0.0.0.0', ['k-12345678'])).not.toThrow();
    expect(() => assertHostAllowed('127.0.0.1', [])).not.toThrow();
  });
});

describe('client auth helpers', () => {
  it('matches configured keys only', () => {
    const m = apiKeyMatcher(['key-one-1234', 'key-two-5678']);
    expect(m('key-one-1234')).toBe(true);
    expect(m('key-two-5678')).toBe(true);
    expect(m('key-one-123')).toBe(false);
    expect(m('')).toBe(false);
  });

  it('reads Bearer and x-api-key', () => {
    expect(presentedKey({ headers: { authorization: 'Bearer abc-123' } })).toBe('abc-123');
    expect(presentedKey({ headers: { authorization: 'bearer  abc-123 ' } })).toBe('abc-123');
    expect(presentedKey({ headers: { 'x-api-key': 'xyz' } })).toBe('xyz');
    expect(presentedKey({ headers: { authorization: 'Basic Zm9v' } })).toBeUndefined();
  });
});
