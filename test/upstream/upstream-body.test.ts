import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { UpstreamBody } from '../../src/upstream/upstream-body.js';

describe('UpstreamBody.of', () => {
  it.each([
    ['ASCII', { model: 'gpt-5', input: 'Return OK.' }],
    ['two-, three- and four-byte characters', { model: 'gpt-5', input: 'héllo — 世界 😀' }],
    ['escapes', { input: 'a "quote", a \\ and a\nnewline\u0001' }],
  ])('%s: the JSON text and its length in UTF-8 bytes', (_name, body) => {
    const serialised = UpstreamBody.of(body);
    expect(serialised.text).toBe(JSON.stringify(body));
    expect(serialised.byteLength).toBe(Buffer.from(JSON.stringify(body), 'utf8').length);
  });

  it('a body JSON cannot represent is the request’s fault: a 400 invalid_body naming why', () => {
    const cyclic: Record<string, unknown> = { model: 'gpt-5' };
    cyclic['self'] = cyclic;
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 200_000; i++) deep = (deep['x'] = {}) as Record<string, unknown>;
    for (const [body, reason] of [
      [{ model: 'gpt-5', n: 1n }, /a value JSON cannot represent/],
      [cyclic, /a value JSON cannot represent/],
      [root, /nested too deeply/],
    ] as const) {
      const err = (() => {
        try {
          UpstreamBody.of(body as Record<string, unknown>);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect((err as InvalidRequestError).status).toBe(400);
      expect((err as InvalidRequestError).code).toBe('invalid_body');
      expect((err as Error).message).toMatch(reason);
    }
  });
});
