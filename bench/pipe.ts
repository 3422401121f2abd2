/**
 * Bench process: the bare Node pipe, the floor any Node proxy stands on. An http server that
 * forwards each request to the upstream with an undici keep-alive Pool and pipes the answer
 * back (status, content-type, body bytes as they come). No parsing, no accounts, no logging.
 * Prints `{ url }` on stdout when listening.
 *
 * argv: JSON { upstream: "http://127.0.0.1:N" }
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const { upstream } = JSON.parse(process.argv[2] ?? '{}') as { upstream: string };
const pool = new Pool(upstream, { keepAliveTimeout: 60_000 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    }
    pool.request({ path: req.url ?? '/', method: (req.method ?? 'GET') as 'POST', headers, body: Buffer.concat(chunks) }).then(
      (up) => {
        res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/octet-stream') });
        pipeline(up.body, res, () => undefined);
      },
      () => {
        res.writeHead(502).end();
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
const stop = () => server.close(() => void pool.close().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
