import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../../src/auth/callback-server.js';

let server: CallbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the callback server /success page', () => {
  it('does not claim success before a sign-in completed, and does after one', async () => {
    server = await startCallbackServer({ port: 0, expectedState: 'st-1', handle: async () => ({ kind: 'success' }) });
    const base = `http://127.0.0.1:${server.port}`;
    const early = await fetch(`${base}/success`);
    expect(early.status).toBe(404);
    expect(await early.text()).not.toMatch(/successful/i);

    const wrongState = await fetch(`${base}/auth/callback?code=c&state=other`, { redirect: 'manual' });
    expect(wrongState.status).toBe(400);
    expect((await fetch(`${base}/success`)).status).toBe(404);

    const callback = await fetch(`${base}/auth/callback?code=c&state=st-1`, { redirect: 'manual' });
    expect(callback.status).toBe(302);
    const after = await fetch(`${base}/success`);
    expect(after.status).toBe(200);
    expect(await after.text()).toMatch(/authentication successful/i);
  });

  it('a failed exchange does not unlock /success either', async () => {
    server = await startCallbackServer({ port: 0, expectedState: 'st-2', handle: async () => ({ kind: 'failure', message: 'Token exchange failed.' }) });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/auth/callback?code=c&state=st-2`)).status).toBe(400);
    expect((await fetch(`${base}/success`)).status).toBe(404);
  });
});
