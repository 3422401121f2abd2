/**
 * The last backend requests the sandbox received (method, path, query, headers, parsed JSON
 * body), for tests and for comparing what different clients send. Credentials are masked: the
 * bearer token never leaves the sandbox through this log.
 */
import type { Request } from './http.js';
import type { RecordedRequest } from './types.js';

const KEEP = 200;
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'x-api-key']);

export class RequestLog {
  private readonly entries: RecordedRequest[] = [];

  record(req: Request, body?: unknown): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(', ') : value;
      headers[name.toLowerCase()] = SECRET_HEADERS.has(name.toLowerCase()) ? '<redacted>' : text;
    }
    this.entries.push({ method: req.method, path: req.path, query: Object.fromEntries(req.query), headers, ...(body === undefined ? {} : { body }) });
    if (this.entries.length > KEEP) this.entries.splice(0, this.entries.length - KEEP);
  }

  list(): RecordedRequest[] {
    return this.entries.map((e) => ({ ...e }));
  }

  clear(): void {
    this.entries.length = 0;
  }
}
