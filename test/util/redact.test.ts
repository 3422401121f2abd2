import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stderrLogger } from '../../src/app/stderr-logger.js';
import { LOG_REDACT_PATHS, REDACTED, SECRET_FIELD_NAMES, isSecretField, scrubText } from '../../src/util/redact.js';

/** One JSON log line from a pino logger configured like the server's. */
function pinoLine(obj: object): Record<string, unknown> {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const log = pino({ redact: { paths: LOG_REDACT_PATHS, censor: REDACTED } }, out);
  log.info(obj, 'msg');
  log.flush();
  return JSON.parse(chunks.join('')) as Record<string, unknown>;
}

describe('LOG_REDACT_PATHS (pino)', () => {
  it('redacts secret fields at the top level, one level and two levels deep', () => {
    expect(pinoLine({ accessToken: 'at-secret-1' })).toMatchObject({ accessToken: REDACTED });
    expect(pinoLine({ a: { accessToken: 'at-secret-2' } })).toMatchObject({ a: { accessToken: REDACTED } });
    expect(pinoLine({ a: { b: { refresh_token: 'rt-secret-3' } } })).toMatchObject({ a: { b: { refresh_token: REDACTED } } });
    expect(pinoLine({ req: { headers: { authorization: 'Bearer x', 'x-api-key': 'k' } } })).toMatchObject({
      req: { headers: { authorization: REDACTED, 'x-api-key': REDACTED } },
    });
  });

  it('leaves ordinary fields alone (error codes included)', () => {
    expect(pinoLine({ code: 'ECONNREFUSED', a: { accountId: 'acct_1' } })).toMatchObject({ code: 'ECONNREFUSED', a: { accountId: 'acct_1' } });
  });

  it('is generated from SECRET_FIELD_NAMES: three paths per name', () => {
    expect(LOG_REDACT_PATHS).toHaveLength(SECRET_FIELD_NAMES.length * 3);
    for (const name of SECRET_FIELD_NAMES) expect(isSecretField(name)).toBe(true);
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
