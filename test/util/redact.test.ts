import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stderrLogger } from '../../src/app/stderr-logger.js';
import { PINO_SECRET_FORMATTERS, REDACTED, SECRET_FIELD_NAMES, censorSecrets, isSecretField, scrubText } from '../../src/util/redact.js';

/** One JSON log line from a pino logger configured like the server's. */
function pinoLine(obj: object, base: Record<string, unknown> = {}): Record<string, unknown> {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const log = pino({ formatters: PINO_SECRET_FORMATTERS, base }, out);
  log.info(obj, 'msg');
  log.flush();
  return JSON.parse(chunks.join('')) as Record<string, unknown>;
}

describe('PINO_SECRET_FORMATTERS (the server\'s pino logger)', () => {
  it('censors secret fields at the top level and at any depth', () => {
    expect(pinoLine({ accessToken: 'at-secret-1' })).toMatchObject({ accessToken: REDACTED });
    expect(pinoLine({ a: { accessToken: 'at-secret-2' } })).toMatchObject({ a: { accessToken: REDACTED } });
    expect(pinoLine({ a: { b: { refresh_token: 'rt-secret-3' } } })).toMatchObject({ a: { b: { refresh_token: REDACTED } } });
    expect(pinoLine({ a: { b: { c: { d: { idToken: 'id-secret-4' } } } } })).toMatchObject({ a: { b: { c: { d: { idToken: REDACTED } } } } });
    expect(pinoLine({ req: { headers: { authorization: 'Bearer x', 'x-api-key': 'k' } } })).toMatchObject({
      req: { headers: { authorization: REDACTED, 'x-api-key': REDACTED } },
    });
    expect(pinoLine({ list: [{ refreshToken: 'rt-in-array' }, 'plain'] })).toMatchObject({ list: [{ refreshToken: REDACTED }, 'plain'] });
  });

  it('censors the root logger\'s bindings', () => {
    expect(pinoLine({}, { apiKey: 'sk-bound' })).toMatchObject({ apiKey: REDACTED });
  });

  it('censors fields of a logged error (and its cause) but keeps its message and stack', () => {
    const cause = Object.assign(new Error('inner'), { refresh_token: 'rt-in-cause' });
    const err = Object.assign(new TypeError('outer', { cause }), { accessToken: 'at-on-error', status: 400 });
    const line = JSON.stringify(pinoLine({ err }));
    expect(line).not.toContain('rt-in-cause');
    expect(line).not.toContain('at-on-error');
    const logged = pinoLine({ err }) as { err: Record<string, unknown> };
    expect(logged.err).toMatchObject({ type: 'TypeError', message: expect.stringContaining('outer'), accessToken: REDACTED, status: 400 });
    expect(String(logged.err['stack'])).toContain('TypeError: outer');
    // the caller's error is not changed
    expect(err.accessToken).toBe('at-on-error');
  });

  it('leaves ordinary fields alone (error codes included)', () => {
    expect(pinoLine({ code: 'ECONNREFUSED', a: { accountId: 'acct_1' } })).toMatchObject({ code: 'ECONNREFUSED', a: { accountId: 'acct_1' } });
  });

  it('copies on write: an object without secrets comes back as it is; one with secrets is not mutated', () => {
    const clean = { a: { b: [1, { c: 'x' }] }, route: '/v1/chat/completions', status: 200 };
    expect(censorSecrets(clean)).toBe(clean);
    const dirty = { keep: { n: 1 }, deep: { accessToken: 'at-x' } };
    const out = censorSecrets(dirty);
    expect(out).toEqual({ keep: { n: 1 }, deep: { accessToken: REDACTED } });
    expect(out.keep).toBe(dirty.keep);
    expect(dirty.deep.accessToken).toBe('at-x');
  });

  it('covers every name in SECRET_FIELD_NAMES (and not `code`)', () => {
    for (const name of SECRET_FIELD_NAMES) {
      expect(isSecretField(name)).toBe(true);
      expect(pinoLine({ nested: { [name]: 'secret-value-1' } })).toMatchObject({ nested: { [name]: REDACTED } });
    }
    expect(isSecretField('code')).toBe(false);
  });
});

describe('stderrLogger', () => {
  function lineFor(obj: object): string {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    stderrLogger(out, 'debug').warn(obj, 'something happened');
    return chunks.join('');
  }

  it('blanks secret fields at any depth', () => {
    const line = lineFor({ accessToken: 'at-secret-1', a: { accessToken: 'at-secret-2', b: { refresh_token: 'rt-secret-3', c: { idToken: 'id-4' } } }, email: 'x@example.com' });
    for (const secret of ['at-secret-1', 'at-secret-2', 'rt-secret-3', 'id-4']) expect(line).not.toContain(secret);
    expect(line).toBe(
      `warn: something happened {"accessToken":"${REDACTED}","a":{"accessToken":"${REDACTED}","b":{"refresh_token":"${REDACTED}","c":{"idToken":"${REDACTED}"}}},"email":"x@example.com"}\n`,
    );
  });

  it('still writes errors as their message', () => {
    expect(lineFor({ err: new Error('boom') })).toBe('warn: something happened {"err":"boom"}\n');
  });
});

describe('scrubText', () => {
  it('removes JWTs, bearer tokens and the given secrets', () => {
    const jwt = 'eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl';
    expect(scrubText(`t=${jwt} Bearer abcdefghijklmnop sec=my-secret-value`, ['my-secret-value'])).toBe('t=[redacted-jwt] Bearer [redacted] sec=[redacted]');
  });
});
