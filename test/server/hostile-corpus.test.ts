/**
 * A hostile corpus: more than 200 request shapes sent as raw bytes to /v1/chat/completions,
 * /v1/responses and /backend-api/codex/responses (broken framing, wrong media types and
 * charsets, invalid JSON, wrong types, deep nesting, oversize bodies, header-hostile values in
 * bad requests, unknown models, refused parameters, non-loopback hosts, and requests the
 * upstream itself refuses). Every answer must be a 4xx in OpenAI's envelope, never a 5xx; the
 * server must stay up; and no account may be cooled down or counted as failing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { envelopeOf, rawRequest, requestBytes, type RawResponse } from './raw-http.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
let port: number;

beforeAll(async () => {
  stack = await startStack({
    accounts: 3,
    configure: (c) => {
      c.maxBodyMb = 1;
      c.cooldown.transientSeconds = 30;
    },
  });
  port = Number(new URL(stack.url).port);
});
afterAll(async () => {
  await stack?.close();
});

interface Shape {
  name: string;
  /** The bytes, given the server's port (for the Host header). */
  bytes(port: number): Buffer;
  /** Set up the upstream's answer first (a fault), if the shape needs one. */
  before?: () => void;
}

const CHAT = '/v1/chat/completions';
const MESSAGES = '/v1/messages';
const RESPONSES = ['/v1/responses', '/backend-api/codex/responses'];
const ENDPOINTS = [CHAT, ...RESPONSES, MESSAGES];

const json = { 'content-type': 'application/json' };
const post = (path: string, body: string | Buffer, headers: Record<string, string> = json) => (p: number) => requestBytes('POST', path, headers, body, p);
const raw = (text: string | Buffer) => () => (typeof text === 'string' ? Buffer.from(text, 'latin1') : text);

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '0' + '}'.repeat(n);

/** A body valid for the endpoint except for `extra` (merged over it). */
function base(path: string, extra: Record<string, unknown> = {}): string {
  const core =
    path === CHAT
      ? { model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }
      : path === MESSAGES
        ? { model: 'gpt-5-codex', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }
        : { model: 'gpt-5-codex', input: 'hi' };
  return JSON.stringify({ ...core, ...extra });
}

function shapesFor(path: string): Shape[] {
  const s: Shape[] = [];
  const add = (name: string, bytes: Shape['bytes'], before?: () => void) => s.push({ name: `${path} ${name}`, bytes, before });

  // invalid JSON and non-object bodies
  const badJson = ['{', '{"model":', '{"model":"gpt-5-codex",}', "{'model':'x'}", '{"a":NaN}', '{"a":1}//c', '{"a":1}{"b":2}', '\u0000\u0001\u0002', 'null', '[]', '"text"', '123', 'true', '{"a":"\\x"}', '{"a":"\\ud800"', '   '];
  badJson.forEach((b, i) => add(`invalid JSON #${i}`, post(path, b)));
  add('empty body', post(path, ''));
  add('a BOM then garbage', post(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{oops')])));
  add('random bytes', post(path, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256))));
  add('__proto__ key', post(path, base(path).replace('{', '{"__proto__":{"polluted":1},')));

  // media types and charsets
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', '*/*', 'application/json; charset=latin1', 'application/json; charset=utf-32']) {
    add(`content-type ${ct}`, post(path, base(path), { 'content-type': ct }));
  }
  add('no content-type', post(path, base(path), {}));
  add('invalid UTF-8 bytes', post(path, Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])));
  add('utf-16 with an odd byte count', post(path, Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x22]), { 'content-type': 'application/json; charset=utf-16' }));

  // the model
  for (const model of [null, 1, [], {}, '', 'no-such-model', 'gpt-5-codex\r\nx-injected: 1', '张三', 'm'.repeat(100_000), '\ud800', '../../etc/passwd']) {
    add(`model ${JSON.stringify(model).slice(0, 30)}`, post(path, base(path, { model })));
  }
  add('no model', post(path, JSON.stringify(path === CHAT || path === MESSAGES ? { max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } : { input: 'hi' })));

  // nesting
  for (const n of [65, 100, 10_000]) add(`${n} levels of arrays`, post(path, `{"model":"gpt-5-codex","x":${deep(n)}}`));
  add('10,000 levels in tools', post(path, base(path, { tools: [] }).replace('"tools":[]', `"tools":[${deepObj(10_000)}]`)));
  add('65 levels of objects in metadata', post(path, base(path, { metadata: 0 }).replace('"metadata":0', `"metadata":${deepObj(65)}`)));

  // oversize (max-body-mb: 1)
  add('a 2 MB body', post(path, base(path, { pad: 'x'.repeat(2 * 1024 * 1024) })));
  add('Content-Length larger than max-body-mb', (p) => requestBytes('POST', path, { ...json, 'content-length': String(50 * 1024 * 1024) }, '{}', p));

  // header-hostile values in requests that are otherwise invalid (never reach an account)
  add('hostile user + wrong type', post(path, base(path, { user: '张三\r\n', model: 5 })));
  add('hostile prompt_cache_key + unknown model', post(path, base(path, { prompt_cache_key: 'a\u0000b', model: 'nope' })));

  // types and values
  if (path === CHAT) {
    const cases: Record<string, unknown>[] = [
      { messages: 'hi' },
      { messages: [] },
      { messages: [null] },
      { messages: [{ role: 'wizard', content: 'hi' }] },
      { messages: [{ role: 'user', content: 5 }] },
      { messages: [{ role: 'user', content: [{ type: 'nope' }] }] },
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
      { messages: [{ role: 'user' }] },
      { messages: [{ content: 'hi' }] },
      { n: 2 },
      { n: 'two' },
      { stream: 'yes' },
      { tools: 'all' },
      { tools: [{ type: 'function' }] },
      { tool_choice: 5 },
      { response_format: { type: 'yaml' } },
      { messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      { temperature: 'hot' },
      { stream_options: 'x' },
      { metadata: { k: 1 } },
      { messages: [{ role: 'tool', content: 'x' }] },
      { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 1 }] }] },
    ];
    cases.forEach((c, i) => add(`invalid field #${i} ${Object.keys(c)[0]}`, post(path, base(path, c))));
  } else if (path === MESSAGES) {
    const cases: Record<string, unknown>[] = [
      { messages: 'hi' },
      { messages: [null] },
      { messages: [{ role: 'wizard', content: 'hi' }] },
      { messages: [{ role: 'user', content: 5 }] },
      { messages: [{ role: 'user', content: [{ type: 'nope' }] }] },
      { max_tokens: 0 },
      { max_tokens: 'many' },
      { system: 5 },
      { tools: 'all' },
      { tools: [{ name: 5 }] },
      { stream: 'yes' },
    ];
    cases.forEach((c, i) => add(`invalid field #${i} ${Object.keys(c)[0]}`, post(path, base(path, c))));
  } else {
    const cases: Record<string, unknown>[] = [
      { input: 5 },
      { input: { role: 'user' } },
      { input: true },
      { previous_response_id: 'resp_1' },
      { conversation: 'conv_1' },
      { model: 'gpt-5-codex', input: 'hi', previous_response_id: 'x'.repeat(10_000) },
    ];
    cases.forEach((c, i) => add(`invalid field #${i} ${Object.keys(c)[0]}`, post(path, base(path, c))));
  }

  // methods and hosts
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) add(`method ${method}`, (p) => requestBytes(method, path, json, base(path), p));
  add('a rebound Host', (p) => requestBytes('POST', path, { ...json, host: `attacker.example:${p}` }, base(path), p));
  add('a non-loopback Origin', (p) => requestBytes('POST', path, { ...json, origin: 'https://attacker.example' }, base(path), p));
  add('Host with another port', (p) => requestBytes('POST', path, { ...json, host: `127.0.0.1:${p + 1}` }, base(path), p));

  // framing
  add('Content-Length shorter than the body', (p) => requestBytes('POST', path, { ...json, 'content-length': '5' }, base(path), p));
  add('two Content-Lengths', raw(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 4\r\n\r\n{}`));
  add('Content-Length and chunked', raw(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`));
  add('bad chunk size', raw(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`));
  add('chunked with a short chunk', raw(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{}\r\n0\r\n\r\n`));
  add('NUL in a header', raw(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-a: a\u0000b\r\ncontent-length: 2\r\n\r\n{}`));
  add('LF-only line endings and a bare CR', raw(`POST ${path} HTTP/1.1\nhost: 127.0.0.1\rx: y\n\n{}`));
  add('headers over the size limit', (p) => requestBytes('POST', path, { ...json, 'x-big': 'a'.repeat(20_000) }, base(path), p));
  add('bad HTTP version', raw(`POST ${path} HTTP/7.0\r\nhost: 127.0.0.1\r\n\r\n`));
  add('absolute-form URL to another host', raw(`POST http://attacker.example${path} HTTP/1.1\r\nhost: attacker.example\r\ncontent-length: 2\r\n\r\n{}`));
  add('percent-garbage in the path', (p) => requestBytes('POST', `${path}/%zz%`, json, base(path), p));
  add('a query string of 4 KB', (p) => requestBytes('POST', `${path}?${'q'.repeat(4096)}`, json, '{', p));

  // requests the upstream itself refuses: the client's 4xx, never the account's failure
  for (const status of [400, 413, 422] as const) add(`upstream answers ${status}`, post(path, base(path)), () => stack.sandbox.addFault({ kind: 'status', status }));
  add('upstream response.failed context_length_exceeded', post(path, base(path)), () =>
    stack.sandbox.addFault({ kind: 'response_failed', code: 'context_length_exceeded', message: 'Your input exceeds the context window.' }),
  );
  add('upstream response.failed invalid_image', post(path, base(path, { stream: true })), () =>
    stack.sandbox.addFault({ kind: 'response_failed', code: 'invalid_image', message: 'The image is not valid.' }),
  );
  return s;
}

/** Anthropic's envelope: {"type":"error","error":{"type","message"}}. */
function anthropicEnvelopeProblem(body: string): string | undefined {
  let json: { type?: unknown; error?: { type?: unknown; message?: unknown } };
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    return `not JSON: ${body.slice(0, 200)}`;
  }
  if (json.type !== 'error' || typeof json.error?.type !== 'string' || typeof json.error.message !== 'string') return `not Anthropic's envelope: ${body.slice(0, 200)}`;
  if (json.error.message.length > 1000) return `a ${json.error.message.length}-character message`;
  return undefined;
}

function problem(path: string, res: RawResponse): string | undefined {
  if (res.status < 400 || res.status >= 500) return `status ${res.status}: ${res.body.slice(0, 200)}`;
  if (path === MESSAGES) {
    const p = anthropicEnvelopeProblem(res.body);
    return p ? `status ${res.status}, ${p}` : undefined;
  }
  const e = envelopeOf(res.body);
  if (typeof e === 'string') return `status ${res.status}, ${e}`;
  if (e.message.length > 1000) return `status ${res.status}, a ${e.message.length}-character message`;
  return undefined;
}

it('at least 200 hostile shapes: every answer a 4xx in the envelope, the server up, no account blamed', { timeout: 120_000 }, async () => {
  const shapes = ENDPOINTS.flatMap((path) => shapesFor(path).map((shape) => ({ ...shape, path })));
  expect(shapes.length).toBeGreaterThanOrEqual(200);
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (const shape of shapes) {
    shape.before?.();
    let res: RawResponse;
    try {
      res = await rawRequest(port, shape.bytes(port), { timeoutMs: 10_000 });
    } catch (err) {
      failures.push(`${shape.name}: ${(err as Error).message}`);
      continue;
    }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const p = problem(shape.path, res);
    if (p) failures.push(`${shape.name}: ${p}`);
  }
  expect(failures).toEqual([]);
  // what reached the upstream (the shapes meant for it, unknown model names it refuses) reached it once: never retried on another account
  expect(stack.sandbox.stats().requests).toBeGreaterThanOrEqual(shapes.filter((s) => s.before).length);
  expect(stack.sandbox.stats().requests).toBeLessThanOrEqual(shapes.length);
  expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 403, 404, 413, 415, 431]));

  // no account cooled down or counted as failing
  for (const a of stack.runtime.pool.snapshot()) {
    expect({ email: a.email, state: a.state, cooldownReason: a.cooldownReason, failures: a.failures }).toEqual({ email: a.email, state: 'ready', cooldownReason: null, failures: 0 });
  }
  // and the server is alive and serving
  const ok = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: json, body: base(CHAT) });
  expect(ok.status).toBe(200);
  expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
});
