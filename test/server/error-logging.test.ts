import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalError, InvalidRequestError, UpstreamBadGatewayError } from '../../src/errors.js';
import { buildServer } from '../../src/server/app.js';
import { INVALID_JSON_MESSAGE, logServerError, toClientError } from '../../src/server/error-mapping.js';
import { systemClock } from '../../src/util/clock.js';
import { startStack, type Stack } from './stack.js';

describe('logServerError (one rule for the server and exec)', () => {
  function capture() {
    const lines: { level: 'warn' | 'error'; obj: object; msg?: string }[] = [];
    return {
      lines,
      log: { warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj, msg }), error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }) },
    };
  }

  it('our own bug (InternalError): error level with the original error', () => {
    const c = capture();
    const bug = new TypeError('x is undefined');
    logServerError(c.log, new InternalError(undefined, { cause: bug }), bug);
    expect(c.lines).toEqual([{ level: 'error', obj: { err: bug }, msg: 'request failed' }]);
  });

  it('a 5xx mapped from the upstream: warn with status and code only, even though the original is not an ApiError', () => {
    const c = capture();
    const original = new Error('upstream 500');
    logServerError(c.log, new UpstreamBadGatewayError('The Codex backend failed.'), original);
    expect(c.lines).toEqual([{ level: 'warn', obj: { status: 502, code: 'upstream_error' }, msg: 'The Codex backend failed.' }]);
  });

  it('client errors are not logged here', () => {
    const c = capture();
    logServerError(c.log, new InvalidRequestError('bad'), new InvalidRequestError('bad'));
    expect(c.lines).toEqual([]);
  });
});

describe('invalid JSON bodies', () => {
  it('the message never quotes the body', () => {
    const parserError = Object.assign(new Error('Unexpected token } in JSON at position 25: {"api_key": "sk-live-secret"}'), {
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      statusCode: 400,
    });
    const e = toClientError(parserError, { now: 0, maxBodyMb: 1 });
    expect(e).toMatchObject({ status: 400, code: 'invalid_json', message: INVALID_JSON_MESSAGE });
    expect(e.message).not.toContain('sk-live-secret');
  });
});

describe('the server', () => {
  let stack: Stack;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let url: string;
  let logs = '';

  beforeAll(async () => {
    stack = await startStack({ accounts: 1 });
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => (logs += d.toString('utf8')));
    app = await buildServer({ config: stack.config, pool: stack.runtime.pool, upstream: stack.runtime.upstream, clock: systemClock, logger: { stream } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await app?.close();
    await stack?.close();
  });

  function lines(): { level: number; msg: string; status?: number; code?: string; err?: unknown }[] {
    return logs
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string });
  }

  it('answers invalid JSON with a message that does not echo the body', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "gpt-5-codex", "api_key": "sk-live-0123456789abcdef", ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error).toMatchObject({ message: INVALID_JSON_MESSAGE, code: 'invalid_json' });
    expect(JSON.stringify(body)).not.toContain('sk-live');
  });

  it('logs an upstream 5xx at warn with status and code, not at error with a stack', async () => {
    logs = '';
    stack.sandbox.addFault({ kind: 'status', status: 500, times: 20 });
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const all = lines();
    const failure = all.find((l) => l.status === res.status && l.code !== undefined);
    expect(failure?.level).toBe(40); // pino warn
    expect(all.some((l) => l.level >= 50)).toBe(false);
    expect(all.some((l) => l.err !== undefined)).toBe(false);
  });
});
