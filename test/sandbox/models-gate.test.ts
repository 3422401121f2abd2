/**
 * The sandbox's /models is as strict as the real backend's: `client_version` is required, and
 * models newer than the caller's version are hidden (each model carries its
 * `minimal_client_version`); `0.0.0` lists everything. /responses still serves hidden models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codexCliVersion } from '../../src/app/version.js';
import { SANDBOX_MODELS, startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { backendHeaders, callResponses, responsesBody, userMessage } from './helpers.js';

let sb: Sandbox;
let acct: MintedAccount;
beforeAll(async () => {
  sb = await startSandbox({ quiet: true });
  acct = sb.mintAccount({ email: 'gate@example.com' });
});
afterAll(async () => {
  await sb?.close();
});

async function models(query: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sb.baseUrl}/models${query}`, { headers: backendHeaders(acct) });
  return { status: res.status, body: await res.json() };
}

async function slugs(version: string): Promise<string[]> {
  const r = await models(`?client_version=${version}`);
  expect(r.status).toBe(200);
  return (r.body as { models: { slug: string }[] }).models.map((m) => m.slug);
}

describe('sandbox /models gate', () => {
  it('requires client_version: 400 Field required without it', async () => {
    const r = await models('');
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ detail: [{ type: 'missing', loc: ['query', 'client_version'], msg: 'Field required', input: null }] });
  });

  it.each([
    ['0.1.0', 0],
    ['0.8.0', 0],
    ['0.100.0', 4],
    ['0.143.0', 6],
    ['0.144.0', 9],
    ['0.152.0', 9],
    ['0.153.0', 10],
  ])('client_version %s lists %i models', async (version, count) => {
    expect(await slugs(version)).toHaveLength(count);
  });

  it('a model appears exactly at its minimal_client_version', async () => {
    expect(await slugs('0.152.0')).not.toContain('gpt-6.1-sol');
    expect(await slugs('0.153.0')).toContain('gpt-6.1-sol');
  });

  it('0.0.0 is the ungated sentinel, and the tested Codex CLI version sees every model', async () => {
    expect(await slugs('0.0.0')).toEqual([...SANDBOX_MODELS]);
    expect(await slugs(codexCliVersion())).toEqual([...SANDBOX_MODELS]);
  });

  it('each listed model carries a realistic minimal_client_version, some above 0.100', async () => {
    const r = await models('?client_version=0.0.0');
    const listed = (r.body as { models: { slug: string; minimal_client_version: string }[] }).models;
    for (const m of listed) expect(m.minimal_client_version).toMatch(/^0\.\d+\.\d+$/);
    expect(listed.filter((m) => Number(m.minimal_client_version.split('.')[1]) > 100).length).toBeGreaterThan(2);
  });

  it('/responses serves a model the list hides from an old client version', async () => {
    expect(await slugs('0.100.0')).not.toContain('gpt-6.1-sol');
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('Return hidden.')], { model: 'gpt-6.1-sol' }));
    expect(r.res.status).toBe(200);
  });
});
