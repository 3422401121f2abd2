/**
 * /v1/responses passes the upstream's bytes through unchanged and reads response.created,
 * response.in_progress and response.completed from their bytes (only the id and the usage): the
 * client gets exactly what the backend sent, the account the exact token counts, also when the
 * answer, the instructions or the tools spell `"usage":{…}` themselves, and when an event is not
 * plain enough to be read from the bytes (then it is parsed).
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleResponses } from '../../src/handlers/responses.js';
import { poolWith, type PoolFixture } from '../accounts/pool-setup.js';
import { depsWith, pushableStream } from './fake-upstream.js';

const fixtures: PoolFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) await fx.pool.stop();
});

const LOOK_ALIKE = 'say "usage":{"input_tokens":999,"output_tokens":999} \\"usage\\":{}';

function sse(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

async function passThrough(body: string): Promise<{ text: string; account: { inputTokens: number; outputTokens: number; successes: number } }> {
  const fx = await poolWith(['acc-1']);
  fixtures.push(fx);
  const up = pushableStream();
  const deps = depsWith(fx.pool, up.stream);

  // in pieces of 7 bytes: events cut anywhere
  const bytes = Buffer.from(body, 'utf8');
  for (let pos = 0; pos < bytes.length; pos += 7) up.pushBytes(bytes.subarray(pos, pos + 7));
  const outcome = await handleResponses(deps, { model: 'gpt-5', stream: true, input: 'hi' }, { signal: new AbortController().signal });
  if (outcome.kind !== 'stream') throw new Error('expected a stream');
  const chunks: Buffer[] = [];
  for await (const b of outcome.body.readable()) chunks.push(b as Buffer);
  const account = fx.pool.snapshot()[0] as unknown as { inputTokens: number; outputTokens: number; successes: number };
  return { text: Buffer.concat(chunks).toString('utf8'), account };
}

const response = (extra: Record<string, unknown>) => ({ id: 'resp_1', object: 'response', instructions: LOOK_ALIKE, tools: [{ type: 'function', name: 'f', parameters: { properties: { usage: { type: 'object' } } } }], ...extra });

describe('/v1/responses pass-through', () => {
  it('passes the bytes on unchanged and counts the usage of response.completed, not the look-alikes', async () => {
    const body =
      sse('response.created', { type: 'response.created', sequence_number: 0, response: response({ status: 'in_progress' }) }) +
      sse('response.in_progress', { type: 'response.in_progress', sequence_number: 1, response: response({ status: 'in_progress' }) }) +
      sse('response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 2, item_id: 'm', output_index: 0, content_index: 0, delta: LOOK_ALIKE }) +
      sse('response.completed', {
        type: 'response.completed',
        sequence_number: 3,
        response: response({ status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: LOOK_ALIKE }] }], usage: { input_tokens: 12, output_tokens: 34, total_tokens: 46 } }),
      });
    const { text, account } = await passThrough(body);
    expect(text).toBe(body);
    expect(account).toMatchObject({ inputTokens: 12, outputTokens: 34, successes: 1 });
  });

  it('a whole answer that came before the client is written goes out with the end, as one end(bytes) (one socket write with the chunked terminator)', async () => {
    const fx = await poolWith(['acc-1']);
    fixtures.push(fx);
    const up = pushableStream();
    const body =
      sse('response.created', { type: 'response.created', response: { id: 'resp_3' } }) +
      sse('response.output_text.delta', { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'x' }) +
      sse('response.completed', { type: 'response.completed', response: { id: 'resp_3', usage: { input_tokens: 1, output_tokens: 2 } } });
    up.pushBytes(Buffer.from(body));
    const outcome = await handleResponses(depsWith(fx.pool, up.stream), { model: 'gpt-5', stream: true, input: 'hi' }, { signal: new AbortController().signal });
    if (outcome.kind !== 'stream') throw new Error('expected a stream');
    const target = new PassThrough();
    const write = vi.spyOn(target, 'write');
    const end = vi.spyOn(target, 'end');
    const read: Buffer[] = [];
    target.on('data', (b: Buffer) => read.push(b));
    const finished = new Promise((resolve) => target.on('end', resolve));
    outcome.body.pipeTo(target);
    await finished;
    expect(Buffer.concat(read).toString('utf8')).toBe(body);
    expect(write).not.toHaveBeenCalled();
    expect(end).toHaveBeenCalledTimes(1);
    expect(Buffer.from(end.mock.calls[0]![0] as Uint8Array).toString('utf8')).toBe(body);
  });

  it('parses what it cannot read from the bytes: escaped keys, another key order, a type that is not the name', async () => {
    const completed = `{"response":{"usage":{"input_tokens":5,"output_tokens":6},"id":"resp_2"},"type":"response.completed"}`;
    const escaped = `{"type":"response.completed","respons\\u0065":{"id":"resp_2","us\\u0061ge":{"input_tokens":7,"output_tokens":8}}}`;
    const delta = sse('response.output_text.delta', { type: 'response.output_text.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'x' });
    const created = sse('response.created', { type: 'response.created', response: { id: 'resp_2' } });
    for (const [terminal, tokens] of [
      [completed, { inputTokens: 5, outputTokens: 6 }],
      [escaped, { inputTokens: 7, outputTokens: 8 }],
    ] as const) {
      const body = created + delta + sse('response.completed', terminal);
      const { text, account } = await passThrough(body);
      expect(text).toBe(body);
      expect(account).toMatchObject({ ...tokens, successes: 1 });
    }
  });
});
