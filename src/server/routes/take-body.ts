import type { FastifyRequest } from 'fastify';

/**
 * The request's parsed body, let go by the request: a handler reads it once, into what it sends
 * upstream, and fastify's request lives as long as the answer does, for a stream minutes. Kept
 * there, the whole conversation would stay in memory for the stream's life; while an answer has
 * not started, it would sit next to the serialised body the attempt holds (see UpstreamBody).
 */
export function takeBody(req: FastifyRequest): unknown {
  const body = req.body;
  req.body = undefined;
  return body;
}
