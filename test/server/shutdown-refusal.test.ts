import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/server/app.js';
import { systemClock } from '../../src/util/clock.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

interface Answer {
  status: number;
  connection: string | null;
  body: unknown;
}

async function answerOf(res: Response): Promise<Answer> {
  return { status: res.status, connection: res.headers.get('connection'), body: await res.json() };
}

describe('requests that arrive while the server shuts down', () => {
  it("get a 503 in OpenAI's envelope (code server_shutdown), logged at warn, not fastify's own body", async () => {
    let logs = '';
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => (logs += d.toString('utf8')));
    const app = await buildServer({ config: stack.config, pool: stack.runtime.pool, upstream: stack.runtime.upstream, clock: systemClock, logger: { stream } });
    const answers: Answer[] = [];
    let url = '';
    // runs after the server's own preClose hook (hooks run in the order they were added), while it still listens
    app.addHook('preClose', async () => {
      answers.push(await answerOf(await fetch(`${url}/v1/models`)));
      const chat = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
      });
      answers.push(await answerOf(chat));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const before = await fetch(`${url}/v1/models`);
    expect(before.status).toBe(200);

    await app.close();

    expect(answers).toHaveLength(2);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.connection).toBe('close');
      expect(a.body).toEqual({
        error: { message: 'The server is shutting down; retry shortly.', type: 'service_unavailable', param: null, code: 'server_shutdown' },
      });
    }
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; code?: string });
    const refusals = lines.filter((l) => l.code === 'server_shutdown');
    expect(refusals).toHaveLength(2);
    expect(refusals.every((l) => l.level === 40)).toBe(true); // pino warn
    expect(lines.some((l) => l.level >= 50)).toBe(false);
  });
});
