/**
 * The request log: one line per request (method, route, model, account label, status, latency,
 * time to first byte, tokens in/out, retries). The handlers fill a RequestTrace as the request
 * goes (the model, each attempt's account, the tokens); the app's onResponse hook turns it into
 * the log line, keeps the last lines in memory for the management API, and counts usage.
 * The account appears only as its label (8 hex of sha256 of the account id), never the email.
 */

/** What a request did, filled in by the handlers; no secrets. */
export interface RequestTrace {
  /** The upstream model (after aliases), else the model the client asked for. */
  model?: string;
  /** The account of the last attempt. */
  accountId?: string;
  /** Upstream attempts (0 when no account was tried); retries = attempts - 1. */
  attempts: number;
  inputTokens?: number;
  outputTokens?: number;
  /** A stream that failed after its first byte (the status is 200 already). */
  failedMidStream?: boolean;
}

export function newTrace(): RequestTrace {
  return { attempts: 0 };
}

/** One request-log line, as logged and as GET /v0/management/logs returns it. */
export interface RequestLogLine {
  time: string;
  method: string;
  route: string;
  /** The path, without the query string. */
  url: string;
  status: number;
  latencyMs: number;
  ttfbMs: number | null;
  model: string | null;
  account: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  retries: number;
}

/** The last `capacity` lines, oldest first. */
export class RequestLogBuffer {
  private readonly lines: RequestLogLine[] = [];

  constructor(readonly capacity = 1000) {}

  push(line: RequestLogLine): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  tail(n: number): RequestLogLine[] {
    return n <= 0 ? [] : this.lines.slice(-n);
  }
}
