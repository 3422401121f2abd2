/**
 * The request log: one line per request (method, route, model, account label, status, latency,
 * time to first byte, tokens in/out, retries). The handlers fill a RequestTrace as the request
 * goes (the model, each attempt's account, the tokens); the app's onResponse hook turns it into
 * the log line, keeps the last lines in memory for the management API, and counts usage.
 * The account appears only as its label (8 hex of sha256 of the account id), never the email.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../util/clock.js';
import type { UsageTracker } from './usage/tracker.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request did (model, account, attempts, tokens), for the request log and usage. */
    trace: RequestTrace;
    /** Ms from the request's arrival to the first byte of the response (headers), once sent. */
    ttfbMs: number | null;
  }
}

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

/** The last `capacity` lines, oldest first (a ring: a push costs the same however full it is). */
export class RequestLogBuffer {
  private readonly lines: RequestLogLine[] = [];
  /** Where the next line goes once the ring is full (it is also the oldest line then). */
  private next = 0;

  constructor(readonly capacity = 1000) {}

  push(line: RequestLogLine): void {
    if (this.capacity <= 0) return;
    if (this.lines.length < this.capacity) {
      this.lines.push(line);
      return;
    }
    this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  tail(n: number): RequestLogLine[] {
    if (n <= 0) return [];
    const ordered = this.next === 0 ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(-n);
  }
}

export interface RequestLogOptions {
  clock: Clock;
  accountLabel(accountId: string): string;
  usage: UsageTracker;
  /** Routes logged at debug level and not kept in the buffer. */
  isQuiet(route: string): boolean;
  /** Lines kept for GET /v0/management/logs (default 1000). */
  capacity?: number;
}

/** The request's time to first byte, when its headers go out: onSend, or sendSse for a streamed reply (which fastify's onSend hooks do not see). */
export function markFirstByte(req: FastifyRequest, reply: FastifyReply): void {
  req.ttfbMs ??= reply.elapsedTime;
}

/**
 * Gives every request a trace, notes when its first byte goes out, and when it is done writes
 * its log line, keeps it in the buffer (returned) and counts it in the usage.
 */
export function registerRequestLog(app: FastifyInstance, opts: RequestLogOptions): RequestLogBuffer {
  const buffer = new RequestLogBuffer(opts.capacity);
  app.decorateRequest('trace', null as unknown as RequestTrace);
  app.decorateRequest('ttfbMs', null);
  app.addHook('onRequest', (req, _reply, done) => {
    req.trace = newTrace();
    done();
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    markFirstByte(req, reply);
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const t = req.trace;
    const line: RequestLogLine = {
      time: new Date(opts.clock.now()).toISOString(),
      method: req.method,
      route,
      url: req.url.split('?')[0]!,
      status,
      latencyMs: Math.round(reply.elapsedTime),
      ttfbMs: req.ttfbMs === null ? null : Math.round(req.ttfbMs),
      model: t.model ?? null,
      account: t.accountId === undefined ? null : opts.accountLabel(t.accountId),
      tokensIn: t.inputTokens ?? null,
      tokensOut: t.outputTokens ?? null,
      retries: Math.max(0, t.attempts - 1),
    };
    const { time: _time, ...fields } = line;
    if (opts.isQuiet(route)) {
      req.log.debug(fields, 'request');
    } else {
      req.log.info(fields, 'request');
      buffer.push(line);
    }
    if (t.accountId !== undefined && t.model !== undefined) {
      opts.usage.record({ accountId: t.accountId, model: t.model, inputTokens: t.inputTokens, outputTokens: t.outputTokens, error: status >= 400 || t.failedMidStream === true });
    }
    done();
  });
  return buffer;
}
