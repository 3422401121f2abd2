import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/**
 * Sends a stream of SSE text/bytes as the reply body (fastify pipes it and destroys it when the
 * client leaves). The request's parsed body is let go first: the stream was built from it and
 * nothing reads it again, and a long stream would otherwise hold the whole conversation for its
 * whole life.
 */
export function sendSse(reply: FastifyReply, body: Readable): FastifyReply {
  reply.request.body = undefined;
  reply.headers(SSE_HEADERS);
  return reply.send(body);
}

/** An AbortController that fires when the client's connection closes before the response finished. */
export function abortOnClientClose(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller;
}
