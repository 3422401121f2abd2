import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { StreamBody } from '../handlers/upstream-pump.js';
import { markFirstByte } from './request-log.js';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/**
 * Sends a streamed answer as the reply: the status and headers now, then the answer written
 * straight into the response (reply.raw) by the pump, with backpressure, and no Readable between
 * them (its stream state, pipe and end-of-stream listeners were most of what an open stream cost
 * in memory besides the sockets). fastify is told the reply is handled (hijack): its onResponse
 * hooks still run when the response finishes; onSend hooks do not, so the one this app has (the
 * request log's time to first byte) is done here. The request's parsed body is let go first: the
 * stream was built from it and nothing reads it again, and a long stream would otherwise hold the
 * whole conversation for its whole life.
 */
export function sendSse(reply: FastifyReply, body: StreamBody): FastifyReply {
  reply.request.body = undefined;
  markFirstByte(reply.request, reply);
  reply.hijack();
  // what the app set on the reply before (none today), then the SSE headers
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  reply.raw.writeHead(reply.statusCode, Object.assign(headers, SSE_HEADERS));
  body.pipeTo(reply.raw);
  return reply;
}

/** An AbortController that fires when the client's connection closes before the response finished. */
export function abortOnClientClose(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller;
}
