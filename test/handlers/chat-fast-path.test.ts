/**
 * The chat stream takes text deltas from the upstream's bytes (readTextDelta) and every other
 * event through JSON.parse and the pure translation. Whatever the events, their escaping and the
 * chunking of the body, the client must get exactly the chunks the pure translation gives
 * (roleChunk, chatChunksForEvent per event, finishChatStream): seeded random streams.
 */
import { createParser } from 'eventsource-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleChatCompletion } from '../../src/handlers/chat-completion.js';
import { chatChunksForEvent, createChatStreamState, finishChatStream, roleChunk } from '../../src/translate/responses-to-chat.js';
import { TextDeltaTemplate } from '../../src/upstream/text-delta-template.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from '../accounts/pool-setup.js';
import { depsWith, pushableStream } from './fake-upstream.js';
import { rng } from '../support/rng.js';

const fixtures: PoolFixture[] = [];
afterEach(async () => {
  for (const fx of fixtures.splice(0)) await fx.pool.stop();
});

const PIECES = ['Hel', 'lo', ' ', '"quoted"', 'back\\slash', 'line\nbreak', 'tab\t', 'é', '✓', '😀', '/', '\u0001', '\u2028', '', 'w42 ', '</script>'];

/** The delta's JSON literal, written another way JSON allows (\u escapes, \/), as other servers do. */
function altLiteral(s: string, random: () => number): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    // a character outside the BMP: raw, or as its surrogate pair
    if (code > 0xffff) out += random() < 0.5 ? ch : `\\u${ch.charCodeAt(0).toString(16)}\\u${ch.charCodeAt(1).toString(16)}`;
    else if (ch === '/' && random() < 0.5) out += '\\/';
    else if (random() < 0.3 || code < 0x20 || ch === '"' || ch === '\\') out += `\\u${code.toString(16).padStart(4, '0').toUpperCase()}`;
    else out += ch;
  }
  return `${out}"`;
}

function pick<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

/** A random answer: messages (deltas, sometimes none, sometimes two parts), reasoning, a function call, in any mix. */
function events(random: () => number): ResponsesEvent[] {
  const out: ResponsesEvent[] = [{ type: 'response.created', response: { id: 'r1' } }, { type: 'response.in_progress', response: { id: 'r1' } }];
  const items = 1 + Math.floor(random() * 3);
  for (let o = 0; o < items; o++) {
    const kind = random();
    if (kind < 0.15) {
      out.push({ type: 'response.output_item.added', output_index: o, item: { id: `rs_${o}`, type: 'reasoning', summary: [] } });
      out.push({ type: 'response.reasoning_summary_text.delta', item_id: `rs_${o}`, output_index: o, summary_index: 0, delta: 'thinking' });
      out.push({ type: 'response.output_item.done', output_index: o, item: { id: `rs_${o}`, type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }] } });
    } else if (kind < 0.25) {
      out.push({ type: 'response.output_item.added', output_index: o, item: { id: `fc_${o}`, type: 'function_call', call_id: `call_${o}`, name: 'f', arguments: '' } });
      out.push({ type: 'response.function_call_arguments.delta', item_id: `fc_${o}`, output_index: o, delta: '{"a":1}' });
      out.push({ type: 'response.output_item.done', output_index: o, item: { id: `fc_${o}`, type: 'function_call', call_id: `call_${o}`, name: 'f', arguments: '{"a":1}' } });
    } else {
      const id = random() < 0.85 ? `msg_${o}` : undefined;
      const parts = random() < 0.2 ? 2 : 1;
      const content: unknown[] = [];
      out.push({ type: 'response.output_item.added', output_index: o, item: { id: id ?? `msg_${o}`, type: 'message', role: 'assistant', content: [] } });
      for (let ci = 0; ci < parts; ci++) {
        const deltas = random() < 0.1 ? [] : Array.from({ length: Math.floor(random() * 8) }, () => pick(random, PIECES));
        const text = deltas.length ? deltas.join('') : 'whole text only in done';
        const base = { ...(id ? { item_id: id } : {}), output_index: o, content_index: ci };
        for (const delta of deltas) out.push({ type: 'response.output_text.delta', ...base, delta, logprobs: [] });
        out.push({ type: 'response.output_text.done', ...base, text });
        content.push({ type: 'output_text', text, annotations: [] });
      }
      out.push({ type: 'response.output_item.done', output_index: o, item: { id: id ?? `msg_${o}`, type: 'message', role: 'assistant', content } });
    }
  }
  out.push({ type: 'response.completed', response: { id: 'r1', usage: { input_tokens: 3, output_tokens: 9, total_tokens: 12 } } });
  return out;
}

/** The SSE body: JSON.stringify (with sequence numbers, as the backend writes, or without), or (text deltas) other key orders, whitespace and escapes. */
function sseBody(evs: ResponsesEvent[], random: () => number): Buffer {
  let text = '';
  const numbered = random() < 0.6;
  for (const [i, e] of evs.entries()) {
    let data = JSON.stringify(numbered ? { ...e, sequence_number: i } : e);
    if (e.type === 'response.output_text.delta' && random() < 0.5) {
      const { delta, ...rest } = e as Record<string, unknown>;
      const members = Object.entries(rest).map(([k, v]) => `"${k}": ${JSON.stringify(v)}`);
      members.splice(Math.floor(random() * (members.length + 1)), 0, `"delta" :${altLiteral(delta as string, random)}`);
      data = ` { ${members.join(' ,')} } `;
    }
    text += `event: ${e.type}\ndata: ${data}\n\n`;
  }
  return Buffer.from(text, 'utf8');
}

function expectedChunks(evs: ResponsesEvent[], includeUsage: boolean): unknown[] {
  const state = createChatStreamState({ id: 'ID', model: 'gpt-5', created: 0, includeUsage });
  const out: unknown[] = [];
  let started = false;
  for (const e of evs) {
    if (!started && !['response.created', 'response.in_progress', 'response.queued'].includes(e.type)) started = true;
    if (started) out.push(...roleChunk(state));
    out.push(...chatChunksForEvent(state, JSON.parse(JSON.stringify(e)) as ResponsesEvent));
    if (e.type === 'response.completed') break;
  }
  out.push(...finishChatStream(state));
  return out.map((c) => ({ ...(c as object), id: 'ID', created: 0 }));
}

async function streamedText(body: Buffer, random: () => number, includeUsage: boolean): Promise<string> {
  const fx = await poolWith(['acc-1']);
  fixtures.push(fx);
  const up = pushableStream();
  const deps = depsWith(fx.pool, up.stream);

  // the body in random pieces (also inside multi-byte characters), all before the first read
  for (let pos = 0; pos < body.length; ) {
    const len = 1 + Math.floor(random() * (random() < 0.3 ? 7 : 400));
    up.pushBytes(body.subarray(pos, pos + len));
    pos += len;
  }
  const outcome = await handleChatCompletion(deps, { model: 'gpt-5', stream: true, stream_options: { include_usage: includeUsage }, messages: [{ role: 'user', content: 'x' }] }, { signal: new AbortController().signal });
  if (outcome.kind !== 'stream') throw new Error('expected a stream');
  const decoder = new TextDecoder();
  let text = '';
  for await (const bytes of outcome.body.readable()) text += decoder.decode(bytes as Uint8Array, { stream: true });
  return text;
}

async function streamed(body: Buffer, random: () => number, includeUsage: boolean): Promise<unknown[]> {
  const chunks: unknown[] = [];
  let done = false;
  const parser = createParser({
    onEvent: (m) => {
      if (m.data === '[DONE]') done = true;
      else chunks.push(JSON.parse(m.data) as unknown);
    },
  });
  parser.feed(await streamedText(body, random, includeUsage));
  expect(done).toBe(true);
  const first = chunks[0] as { id: string; created: number };
  for (const c of chunks) expect(c).toMatchObject({ id: first.id, created: first.created });
  return chunks.map((c) => ({ ...(c as object), id: 'ID', created: 0 }));
}

describe('chat stream: text deltas from the bytes', () => {
  it('passes the delta on as the upstream wrote it (its JSON literal, escapes and all)', async () => {
    const evs = events(rng(1)).filter((e) => e.type !== 'response.output_text.delta');
    const delta = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"msg_0","output_index":0,"content_index":0,"delta":"a\\/b\\u00e9"}\n\n';
    const body = Buffer.concat([sseBody(evs.slice(0, 3), rng(2)), Buffer.from(delta), sseBody(evs.slice(3), rng(3))]);
    const text = await streamedText(body, () => 0.99, false);
    expect(text).toContain('"delta":{"content":"a\\/b\\u00e9"},"logprobs":null,"finish_reason":null}');
  });

  it('gives exactly the chunks of the pure translation, for any events, escaping and chunking (150 seeded streams)', async () => {
    // the deltas that follow a part's first are matched against it (TextDeltaTemplate): that path is taken too
    const matchEvent = vi.spyOn(TextDeltaTemplate.prototype, 'matchEvent');
    const matchData = vi.spyOn(TextDeltaTemplate.prototype, 'matchData');
    try {
      for (let seed = 1; seed <= 150; seed++) {
        const random = rng(seed);
        const evs = events(random);
        const includeUsage = random() < 0.5;
        const got = await streamed(sseBody(evs, random), random, includeUsage);
        expect({ seed, got }).toEqual({ seed, got: expectedChunks(evs, includeUsage) });
      }
      expect(matchEvent.mock.results.filter((r) => (r.value as number) >= 0).length).toBeGreaterThan(40);
      expect(matchData.mock.results.filter((r) => r.value === true).length).toBeGreaterThan(50);
    } finally {
      matchEvent.mockRestore();
      matchData.mockRestore();
    }
  });
});
