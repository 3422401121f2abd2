import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
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
 * request log's time to first byte) is done here. (The route let go of the request's parsed body
 * before the handler ran: takeBody.)
 */
export function sendSse(reply: FastifyReply, body: StreamBody): FastifyReply {
  markFirstByte(reply.request, reply);
  reply.hijack();
  // what the app set on the reply before (none today), then the SSE headers
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  reply.raw.writeHead(reply.statusCode, Object.assign(headers, SSE_HEADERS));
  flattenHeaderBlock(reply.raw);
  body.pipeTo(reply.raw);
  return reply;
}

/**
 * Node keeps a response's header block (`_header`, built with `+=` per header line) for the
 * response's whole life, as V8 left it: a tree of ~30 concatenation nodes, about 1 KiB per open
 * stream. Reading one character makes V8 flatten the string in place (one flat copy of ~300
 * bytes; the nodes become garbage). The content is unchanged; nothing happens when Node stores
 * it differently.
 */
function flattenHeaderBlock(res: ServerResponse): void {
  const header = (res as ServerResponse & { _header?: unknown })._header;
  if (typeof header === 'string' && header.length > 0) header.charCodeAt(0);
}

/** An AbortController that fires when the client's connection closes before the response finished. */
export function abortOnClientClose(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller;
}
