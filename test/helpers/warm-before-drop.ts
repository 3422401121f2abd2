/**
 * Imported by a child process that drops from root to an unprivileged user (serve-child.ts):
 * loads, while still root, the modules that fastify and undici otherwise require lazily on
 * first use (fastify's pino logger, undici's llhttp parser and body helpers). The checkout may
 * sit in a directory only root can enter (a fresh clone in a 0700 temp dir), and after the
 * drop those lazy loads would fail with MODULE_NOT_FOUND.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastify from 'fastify';
import { request } from 'undici';

await fastify({ logger: { level: 'silent' } }).close();

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
try {
  const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', body: '{}' });
  await res.body.text();
} finally {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
