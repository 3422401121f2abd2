/** Small HTTP helpers for the sandbox server: body parsing, JSON/HTML/redirect replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export type Handler = (req: Request, res: ServerResponse) => Promise<void> | void;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export async function readBodyText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, { error: 'request_too_large', error_description: 'Request body too large' });
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON or form-encoded body into a flat record of strings (OAuth endpoints accept both). */
export async function readParams(req: IncomingMessage): Promise<Record<string, string>> {
  const text = await readBodyText(req);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  const out: Record<string, string> = {};
  const trimmed = text.trim();
  if (type.includes('application/json') || (!type.includes('form') && trimmed.startsWith('{'))) {
    let parsed: unknown;
    try {
      parsed = trimmed ? JSON.parse(trimmed) : {};
    } catch {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'Request body is not valid JSON' });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'Request body must be a JSON object' });
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    }
    return out;
  }
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

/** The 401 envelope the backend and the issuer use for a bad access or refresh token. */
export function sendAuthError(res: ServerResponse, code: string, message: string): void {
  sendJson(res, 401, { error: { message, type: 'invalid_request_error', param: null, code } });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'content-length': 0, 'cache-control': 'no-store' });
  res.end();
}

/** Appends query parameters to a URL that may already have some. */
export function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim();
}

export function headerValue(req: Request, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}
