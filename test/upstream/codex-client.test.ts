import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CodexClient, userAgent } from '../../src/upstream/codex-client.js';
import { InvalidRequestError } from '../../src/errors.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import type { ResponsesEvent, UpstreamStream } from '../../src/upstream/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { UpstreamBody } from '../../src/upstream/upstream-body.js';

/**
 * CodexClient against a tiny node:http server on port 0. Each test sets `handler`;
 * the server records every request (headers, body, socket port).
 */
interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let base: string;
let handler: Handler;
const seen: Seen[] = [];
const sockets = new Set<import('node:net').Socket>();
const clients: CodexClient[] = [];
const clock = new ManualClock(1_700_000_000_000);

const auth = { accessToken: 'at-secret-token-value-123', accountId: 'acct_123' };
const events: ResponsesEvent[] = [
  { type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } },
  { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'O' },
  { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'K' },
  { type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } } },
];
const sseText = (list: ResponsesEvent[]) => list.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

function client(opts: { requestTimeoutMs?: number } = {}): CodexClient {
  const c = new CodexClient({ baseUrl: `${base}/backend-api/codex`, originator: 'codex_cli_rs', version: '1.2.3', clock, ...opts });
  clients.push(c);
  return c;
}

function sseHandler(text: string, extraHeaders: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', ...extraHeaders });
    res.end(text);
  };
}

async function collect(stream: UpstreamStream): Promise<ResponsesEvent[]> {
  const out: ResponsesEvent[] = [];
  for await (const e of stream.events()) out.push(e);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort ?? 0 });
      handler(req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  seen.length = 0;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('CodexClient.responses', () => {
  it('sends a body serialised once (UpstreamBody) as it is, the content-length in UTF-8 bytes, for every attempt', async () => {
    handler = sseHandler(sseText(events));
    const body = UpstreamBody.of({ model: 'gpt-5', input: 'héllo — 世界 😀' });
    expect(body.byteLength).toBeGreaterThan(body.text.length);
    await collect(await client().responses(auth, body));
    await collect(await client().responses(auth, body));
    expect(seen).toHaveLength(2);
    for (const req of seen) {
      expect(req.body).toBe(body.text);
      expect(req.headers['content-length']).toBe(String(body.byteLength));
    }
  });

  it('sends the protocol headers and the body', async () => {
    handler = sseHandler(sseText(events));
    const stream = await client().responses(auth, { model: 'gpt-5', input: [] }, { sessionId: 'sess-42' });
    await collect(stream);
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/backend-api/codex/responses');
    expect(JSON.parse(req.body)).toEqual({ model: 'gpt-5', input: [] });
    expect(req.headers).toMatchObject({
      authorization: 'Bearer at-secret-token-value-123',
      'chatgpt-account-id': 'acct_123',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      originator: 'codex_cli_rs',
      version: '1.2.3',
      'session-id': 'sess-42',
    });
    expect(req.headers['user-agent']).toBe(userAgent('codex_cli_rs', '1.2.3'));
    expect(req.headers['user-agent']).toMatch(/^codex_cli_rs\/1\.2\.3 \(\S+ \S+; \S+\)$/);
  });

  it('omits session-id when none is given', async () => {
    handler = sseHandler(sseText(events));
    await collect(await client().responses(auth, {}));
    expect(seen[0]!.headers).not.toHaveProperty('session-id');
    expect(seen[0]!.headers).not.toHaveProperty('session_id');
  });

  it("forwards a Codex client's headers unchanged, without letting them replace its own", async () => {
    handler = sseHandler(sseText(events));
    const forwarded = { 'session-id': 'codex-sess', 'thread-id': 'codex-thread', 'x-codex-window-id': 'w:0', authorization: 'Bearer forged', originator: 'forged' };
    await collect(await client().responses(auth, {}, { sessionId: 'derived', headers: forwarded }));
    expect(seen[0]!.headers).toMatchObject({
      'session-id': 'codex-sess',
      'thread-id': 'codex-thread',
      'x-codex-window-id': 'w:0',
      authorization: 'Bearer at-secret-token-value-123',
      originator: 'codex_cli_rs',
    });
  });

  it('exposes the status and the usage snapshot read from the headers, whatever their case', async () => {
    handler = sseHandler(sseText(events), { 'X-Codex-Primary-Used-Percent': '12', 'x-codex-primary-reset-after-seconds': '60' });
    const stream = await client().responses(auth, {});
    expect(stream.status).toBe(200);
    expect(Object.keys(stream)).not.toContain('headers');
    expect(stream.usage).toEqual({ primary: { usedPercent: 12, resetAfterSeconds: 60, resetAt: clock.now() + 60_000 } });
    expect(await collect(stream)).toEqual(events);
  });

  it('raw() yields the body bytes untouched', async () => {
    const text = `: comment\n\n${sseText(events)}trailing garbage that is not parsed`;
    handler = sseHandler(text);
    const stream = await client().responses(auth, {});
    const parts: Uint8Array[] = [];
    for await (const b of stream.raw()) parts.push(b);
    expect(Buffer.concat(parts).toString('utf8')).toBe(text);
  });

  it('the body can be consumed only once', async () => {
    handler = sseHandler(sseText(events));
    const stream = await client().responses(auth, {});
    await collect(stream);
    await expect(collect(stream)).rejects.toThrow(/already consumed/);
  });

  it('reuses one keep-alive connection for sequential requests (events and raw)', async () => {
    handler = sseHandler(sseText(events));
    const c = client();
    for (let i = 0; i < 3; i++) await collect(await c.responses(auth, {}));
    for (let i = 0; i < 2; i++) {
      const s = await c.responses(auth, {});
      for await (const _ of s.raw()) void _;
    }
    expect(seen).toHaveLength(5);
    // undici frees a connection a tick after the body ends, so a request issued right away may
    // open a second one; after that the two alternate. Without keep-alive this would be 5.
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('keeps the connection when events() stops at the terminal event before the body ended', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events));
      setTimeout(() => res.end(': bye\n\n'), 20);
    };
    const c = client();
    for (let i = 0; i < 4; i++) expect(await collect(await c.responses(auth, {}))).toEqual(events);
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('parses SSE split at arbitrary byte boundaries (multi-byte characters too)', async () => {
    const list: ResponsesEvent[] = [events[0]!, { type: 'response.output_text.delta', delta: 'héllo — 世界 😀' }, events[3]!];
    const bytes = Buffer.from(sseText(list));
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const sizes = [1, 2, 3, 5, 8, 13, 21];
      let at = 0;
      let i = 0;
      const next = () => {
        if (at >= bytes.length) return void res.end();
        const n = sizes[i++ % sizes.length]!;
        res.write(bytes.subarray(at, at + n));
        at += n;
        setImmediate(next);
      };
      next();
    };
    expect(await collect(await client().responses(auth, {}))).toEqual(list);
  });

  it('a body that ends before response.completed → stream_closed', async () => {
    handler = sseHandler(sseText(events.slice(0, 2)));
    const err = await rejection(collect(await client().responses(auth, {})));
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'stream_closed', message: 'stream closed before response.completed' });
  });

  it('a connection dropped mid-stream → stream_closed, after the events already received', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events.slice(0, 2)));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const stream = await client().responses(auth, {});
    const got: string[] = [];
    const err = await rejection((async () => {
      for await (const e of stream.events()) got.push(e.type);
    })());
    expect(got).toEqual(['response.created', 'response.output_text.delta']);
    expect(err).toMatchObject({ kind: 'stream_closed' });
    expect((err as Error).message).toMatch(/^stream closed before response.completed/);
  });

  it('raw() also turns a dropped connection into stream_closed', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events.slice(0, 1)));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const stream = await client().responses(auth, {});
    const err = await rejection((async () => {
      for await (const _ of stream.raw()) void _;
    })());
    expect(err).toMatchObject({ kind: 'stream_closed' });
  });

  const errorCases: [string, number, Record<string, string>, string, Partial<UpstreamFailure>][] = [
    ['401', 401, {}, '{"detail":"Unauthorized"}', { kind: 'unauthorized', status: 401 }],
    ['429 usage limit with headers', 429, { 'x-codex-primary-used-percent': '100' },
      '{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_in_seconds":600}}',
      { kind: 'usage_limit', resetAt: 1_700_000_600_000, usage: { primary: { usedPercent: 100 } } }],
    ['429 rate limited', 429, {}, '{"error":{"code":"rate_limit_exceeded","message":"Please try again in 1.5s"}}', { kind: 'rate_limited', retryAfterMs: 1500 }],
    ['503 overloaded', 503, {}, '{"error":{"code":"server_is_overloaded","message":"busy"}}', { kind: 'overloaded' }],
    ['500', 500, {}, 'oops', { kind: 'server', message: 'oops' }],
    ['400 unknown model', 400, {}, '{"detail":"The \'nope\' model is not supported when using Codex with a ChatGPT account."}',
      { kind: 'bad_request', message: "The 'nope' model is not supported when using Codex with a ChatGPT account." }],
    ['403', 403, {}, '<html>blocked</html>', { kind: 'forbidden' }],
    ['404', 404, {}, '{"detail":"Not Found"}', { kind: 'not_found' }],
  ];
  it.each(errorCases)('non-2xx %s → classified UpstreamFailure', async (_name, status, headers, body, expected) => {
    handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const err = await rejection(client().responses(auth, {}));
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ status, ...expected });
    expect((err as Error).message).not.toContain(auth.accessToken);
  });

  it('reads at most 64 KiB of an error body', async () => {
    handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('e'.repeat(1_000_000));
    };
    const err = await rejection(client().responses(auth, {}));
    expect(err).toMatchObject({ kind: 'bad_request' });
  });

  it('headers that never come → network failure with code timeout', async () => {
    handler = () => {
      /* stall */
    };
    const err = await rejection(client({ requestTimeoutMs: 150 }).responses(auth, {}));
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'network', code: 'timeout' });
  });

  it('a body that stalls → stream_closed with code timeout', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events.slice(0, 1)));
    };
    const stream = await client({ requestTimeoutMs: 150 }).responses(auth, {});
    const err = await rejection(collect(stream));
    expect(err).toMatchObject({ kind: 'stream_closed', code: 'timeout' });
  });

  it('an unreachable backend → network failure', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = new CodexClient({ baseUrl: `http://127.0.0.1:${port}/backend-api/codex`, originator: 'o', version: '1' });
    clients.push(c);
    const err = await rejection(c.responses(auth, {}));
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    expect((err as Error).message).toMatch(/could not reach the Codex backend at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('aborting before the headers rejects with an AbortError, not an UpstreamFailure', async () => {
    handler = () => {
      /* stall */
    };
    const ac = new AbortController();
    const p = client().responses(auth, {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const err = await rejection(p);
    expect(err).not.toBeInstanceOf(UpstreamFailure);
    expect((err as Error).name).toBe('AbortError');
  });

  it('an already aborted signal rejects at once', async () => {
    handler = sseHandler(sseText(events));
    const err = await rejection(client().responses(auth, {}, { signal: AbortSignal.abort() }));
    expect((err as Error).name).toBe('AbortError');
  });

  it('aborting mid-stream ends the iteration with an AbortError', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events.slice(0, 1)));
    };
    const ac = new AbortController();
    const stream = await client().responses(auth, {}, { signal: ac.signal });
    const err = await rejection((async () => {
      for await (const _ of stream.events()) ac.abort();
    })());
    expect((err as Error).name).toBe('AbortError');
  });

  it('cancel() stops a stream that would never end', async () => {
    let closedByClient = false;
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events.slice(0, 1)));
      req.socket.on('close', () => {
        closedByClient = true;
      });
    };
    const stream = await client().responses(auth, {});
    const err = await rejection((async () => {
      for await (const _ of stream.events()) stream.cancel();
    })());
    expect(err).toBeDefined();
    // the close reaches the server's socket shortly after; wait for it (bounded) rather than a fixed 50 ms
    for (let i = 0; i < 100 && !closedByClient; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closedByClient).toBe(true);
  });
});

describe('CodexClient.models', () => {
  it('GETs /models?client_version and returns the list', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ models: [{ slug: 'gpt-5', display_name: 'GPT-5' }, { slug: 'gpt-5-codex' }, { nope: 1 }] }));
    };
    expect(await client().models(auth)).toEqual([{ slug: 'gpt-5', display_name: 'GPT-5' }, { slug: 'gpt-5-codex' }]);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/backend-api/codex/models?client_version=1.2.3' });
    expect(seen[0]!.headers).toMatchObject({ authorization: `Bearer ${auth.accessToken}`, 'chatgpt-account-id': 'acct_123', originator: 'codex_cli_rs' });
  });

  it('accepts the OpenAI list shape too', async () => {
    handler = (_req, res) => res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-5' }] }));
    expect(await client().models(auth)).toEqual([{ id: 'gpt-5', slug: 'gpt-5' }]);
  });

  it('classifies errors', async () => {
    handler = (_req, res) => {
      res.writeHead(401);
      res.end('{"detail":"expired"}');
    };
    expect(await rejection(client().models(auth))).toMatchObject({ kind: 'unauthorized', message: 'expired' });
  });

  it('rejects a body that is not a model list', async () => {
    handler = (_req, res) => res.end('not json');
    expect(await rejection(client().models(auth))).toMatchObject({ kind: 'server' });
  });
});

describe('CodexStream: a consumer that stops early does not crash the process', () => {
  /** Streams `text` and keeps the response open (until the client drops it). */
  const openHandler = (text: string): Handler => (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(text);
  };
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it('breaking out of events() early, then the next request on the same client works', async () => {
    const c = client();
    handler = openHandler(sseText(events.slice(0, 3)));
    let n = 0;
    for await (const _ of (await c.responses(auth, {})).events()) if (++n === 2) break;
    expect(n).toBe(2);
    await settle();
    handler = sseHandler(sseText(events));
    expect(await collect(await c.responses(auth, {}))).toEqual(events);
  });

  it('an event whose data is not JSON → invalid_sse, then the next request works', async () => {
    const c = client();
    handler = openHandler(`${sseText(events.slice(0, 1))}event: response.output_text.delta\ndata: {not json\n\n`);
    const err = await rejection(collect(await c.responses(auth, {})));
    expect(err).toMatchObject({ kind: 'stream_closed', code: 'invalid_sse' });
    await settle();
    handler = sseHandler(sseText(events));
    expect(await collect(await c.responses(auth, {}))).toEqual(events);
  });

  it('raw() + return() after response.completed while the body is still open, then the next request works', async () => {
    const c = client();
    handler = openHandler(sseText(events));
    let text = '';
    for await (const chunk of (await c.responses(auth, {})).raw()) {
      text += Buffer.from(chunk).toString('utf8');
      if (text.includes('response.completed')) break;
    }
    expect(text).toContain('response.completed');
    await settle();
    handler = sseHandler(sseText(events));
    expect(await collect(await c.responses(auth, {}))).toEqual(events);
  });

  it('stops following the caller signal once the terminal event is seen', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events));
      setTimeout(() => res.end(': bye\n\n'), 30);
    };
    const c = client();
    for (let round = 0; round < 3; round++) {
      const ac = new AbortController();
      const stream = await c.responses(auth, {}, { signal: ac.signal });
      const iterator = stream.events()[Symbol.asyncIterator]();
      let last = '';
      while (last !== 'response.completed') {
        const r = await iterator.next();
        if (r.done) break;
        last = r.value.type;
      }
      expect(last).toBe('response.completed');
      // Aborting now no longer reaches the request: the iterator ends cleanly and the rest of the
      // body is drained, so the connection is reused (an abort would have dropped it).
      ac.abort();
      await expect(iterator.next()).resolves.toMatchObject({ done: true });
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });
});

describe('CodexClient error messages', () => {
  it('a timeout names codex.request-timeout-seconds', async () => {
    handler = () => {
      /* stall */
    };
    const err = await rejection(client({ requestTimeoutMs: 150 }).responses(auth, {}));
    expect((err as Error).message).toContain('codex.request-timeout-seconds');
  });

  it('an unreachable backend tells the user what to check, once', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = new CodexClient({ baseUrl: `http://127.0.0.1:${port}/backend-api/codex`, originator: 'o', version: '1' });
    clients.push(c);
    const failure = (await rejection(c.responses(auth, {}))) as UpstreamFailure;
    const { apiErrorFromFailure } = await import('../../src/upstream/api-error.js');
    const message = apiErrorFromFailure(failure).message;
    expect(message).toContain(`the Codex backend at http://127.0.0.1:${port}`);
    expect(message).toContain('Check codex.base-url and your network or proxy.');
    expect(message.match(/could not reach/gi)).toHaveLength(1);
  });

  it('models(): a huge error body is read bounded and still classified', async () => {
    handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('e'.repeat(1_000_000));
    };
    const err = await rejection(client().models(auth));
    expect(err).toMatchObject({ kind: 'bad_request' });
    expect((err as Error).message.length).toBeLessThan(1000);
  });

  it('models(): a 200 body that breaks off is a server failure, not "unreachable"', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"models":[');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const err = await rejection(client().models(auth));
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'server', status: 200 });
    expect((err as Error).message).toMatch(/broke off/);
  });

  it('models(): a 200 body past 8 MiB is dropped and said to be too long', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"models":[${'{"slug":"x"},'.repeat(800_000)}{"slug":"y"}]}`);
    };
    const err = await rejection(client().models(auth));
    expect(err).toMatchObject({ kind: 'server', status: 200 });
    expect((err as Error).message).toMatch(/too long to be a model list/);
  });
});

describe('CodexStream.raw() and the terminal event', () => {
  it('keeps the connection when a raw() consumer stops at response.completed before the body ended', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events));
      setTimeout(() => res.end(': bye\n\n'), 20);
    };
    const c = client();
    for (let i = 0; i < 4; i++) {
      let text = '';
      for await (const chunk of (await c.responses(auth, {})).raw()) {
        text += Buffer.from(chunk).toString('utf8');
        if (text.includes('event: response.completed')) break;
      }
      expect(text).toBe(sseText(events));
    }
    expect(seen).toHaveLength(4);
    expect(new Set(seen.map((s) => s.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('stops following the caller signal once raw() passed the terminal event', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseText(events));
      setTimeout(() => res.end(), 30);
    };
    const ac = new AbortController();
    const stream = await client().responses(auth, {}, { signal: ac.signal });
    let text = '';
    let aborted = false;
    for await (const chunk of stream.raw()) {
      text += Buffer.from(chunk).toString('utf8');
      if (text.includes('event: response.completed') && !aborted) {
        aborted = true;
        ac.abort(); // too late to matter: the body still ends normally
      }
    }
    expect(text).toBe(sseText(events));
  });
});

describe('CodexClient.responses: requests that cannot be sent are the request\'s fault', () => {
  it('a body JSON cannot represent, or nested past the stack, is a 400 InvalidRequestError, not a network failure', async () => {
    let reached = 0;
    handler = (_req, res) => {
      reached++;
      res.writeHead(200).end();
    };
    const cyclic: Record<string, unknown> = { model: 'gpt-5' };
    cyclic['self'] = cyclic;
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 20_000; i++) deep = (deep['a'] = {}) as Record<string, unknown>;
    for (const body of [{ model: 'gpt-5', n: 10n } as unknown as Record<string, unknown>, cyclic, { model: 'gpt-5', tools: root }]) {
      const err = await client().responses(auth, body).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect((err as InvalidRequestError).status).toBe(400);
      expect(err).not.toBeInstanceOf(UpstreamFailure);
    }
    expect(reached).toBe(0);
  });

  it('a session id that is not a valid header value is sent hashed instead of being refused', async () => {
    let seen: string | undefined;
    handler = (req, res) => {
      seen = req.headers['session-id'] as string | undefined;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sseText(events));
    };
    const stream = await client().responses(auth, {}, { sessionId: '张三\r\nx: 1' });
    for await (const _ of stream.events()) void _;
    expect(seen).toMatch(/^h[0-9a-f]{32}$/);
  });
});

describe('CodexClient: blame for errors that are not I/O', () => {
  it('a bug in the dispatcher (an error without a code) comes out as it is, not as a network failure that would cool the account', async () => {
    const bug = new TypeError('dispatch is broken');
    const broken = { dispatch: () => { throw bug; }, close: async () => undefined } as unknown as ConstructorParameters<typeof CodexClient>[0]['dispatcher'];
    const c = new CodexClient({ baseUrl: 'http://127.0.0.1:9/backend-api/codex', originator: 'codex_cli_rs', version: '0.1.0', dispatcher: broken });
    await expect(c.responses(auth, {})).rejects.toBe(bug);
    await expect(c.models(auth)).rejects.toBe(bug);
  });

  it('a refused connection (an error with a system code) is a network failure', async () => {
    const c = new CodexClient({ baseUrl: 'http://127.0.0.1:9/backend-api/codex', originator: 'codex_cli_rs', version: '0.1.0' });
    try {
      await expect(c.responses(auth, {})).rejects.toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    } finally {
      await c.close();
    }
  });
});
