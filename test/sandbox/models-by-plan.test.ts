import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELS, startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { backendHeaders, callResponses, responsesBody, userMessage } from './helpers.js';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

async function listed(s: Sandbox, a: MintedAccount): Promise<string[]> {
  const res = await fetch(`${s.baseUrl}/models?client_version=0.169.0`, { headers: backendHeaders(a) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { models: { slug: string }[] }).models.map((m) => m.slug);
}

describe('sandbox modelsByPlan', () => {
  it('lists and accepts each plan its own models; plans not named get the default list', async () => {
    sb = await startSandbox({ quiet: true, modelsByPlan: { free: ['gpt-5', 'gpt-5-codex-mini'], pro: ['gpt-5', 'gpt-5-codex'] } });
    const free = sb.mintAccount({ email: 'free@example.com', plan: 'free' });
    const pro = sb.mintAccount({ email: 'pro@example.com', plan: 'pro' });
    const plus = sb.mintAccount({ email: 'plus@example.com', plan: 'plus' });
    expect(await listed(sb, free)).toEqual(['gpt-5', 'gpt-5-codex-mini']);
    expect(await listed(sb, pro)).toEqual(['gpt-5', 'gpt-5-codex']);
    expect(await listed(sb, plus)).toEqual([...SANDBOX_MODELS]);

    const ask = (a: MintedAccount, model: string) => callResponses(sb!.baseUrl, a, responsesBody([userMessage('Return OK.')], { model }));
    expect((await ask(free, 'gpt-5-codex-mini')).res.status).toBe(200);
    const refused = await ask(free, 'gpt-5-codex');
    expect(refused.res.status).toBe(400);
    expect(JSON.parse(refused.text)).toEqual({ detail: "The 'gpt-5-codex' model is not supported when using Codex with a ChatGPT account." });
    expect((await ask(pro, 'gpt-5-codex')).res.status).toBe(200);
    expect((await ask(plus, 'gpt-5.1-codex')).res.status).toBe(200);
  });

  it('without the option every plan gets the default list', async () => {
    sb = await startSandbox({ quiet: true });
    expect(await listed(sb, sb.mintAccount({ plan: 'free' }))).toEqual([...SANDBOX_MODELS]);
  });
});
