/**
 * Test helper (not a test file): sends raw bytes to a server and reads one HTTP/1.1 answer
 * (status, headers, body by Content-Length or chunked), with a deadline so a hung server
 * fails the test instead of stalling it.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parse(buf: Buffer): RawResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return undefined;
    return { status, headers, body: rest.subarray(0, n).toString('utf8') };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let pos = 0;
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', pos);
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.subarray(pos, lineEnd).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString('utf8') };
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  return undefined; // read to close
}

/** Sends `bytes` (in `chunks` pieces when given) and resolves the first complete answer, or rejects after `timeoutMs`. */
export function rawRequest(port: number, bytes: Buffer | string, opts: { timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${opts.timeoutMs ?? 5000} ms; got: ${buf.toString('latin1').slice(0, 300)}`)), opts.timeoutMs ?? 5000);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const res = parse(buf);
      if (res) finish(null, res);
    });
    socket.on('end', () => {
      const res = parse(buf);
      if (res) return finish(null, res);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const r = parse(Buffer.concat([buf, Buffer.from('')]));
        if (r) return finish(null, r);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'))?.[1]);
        return finish(null, { status, headers: {}, body: buf.subarray(end + 4).toString('utf8') });
      }
      finish(new Error(`connection closed without an answer; got: ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`));
    });
    socket.on('error', (err) => finish(err));
    socket.write(bytes);
  });
}

/** A request's bytes: request line, headers (Host and Content-Length added unless given), body. */
export function requestBytes(method: string, path: string, headers: Record<string, string>, body: Buffer | string = '', port = 0): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const h: Record<string, string> = { host: `127.0.0.1:${port}`, ...headers };
  if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) h['content-length'] = String(b.length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

/** The error envelope's fields, or a description of what was wrong with it. */
export function envelopeOf(body: string): { message: string; type: string; param: string | null; code: string | null } | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 200)}`;
  }
  const e = (json as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== 'object') return `no error object: ${body.slice(0, 200)}`;
  const keys = Object.keys(e).sort().join(',');
  if (keys !== 'code,message,param,type') return `error keys ${keys}: ${body.slice(0, 200)}`;
  if (typeof e['message'] !== 'string' || typeof e['type'] !== 'string') return `message/type not strings: ${body.slice(0, 200)}`;
  return e as { message: string; type: string; param: string | null; code: string | null };
}
