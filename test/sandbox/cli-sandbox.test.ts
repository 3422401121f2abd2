import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';

async function waitFor<T>(fn: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cliproxy sandbox', () => {
  it('prints the listening line and the issuer/backend to configure, serves until Ctrl-C', async () => {
    const ctx = captureContext();
    const done = main(['sandbox', '--port', '0', '--auto-approve'], ctx);
    const url = await waitFor(() => /sandbox listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(ctx.out())?.[1], 'the listening line');
    expect(ctx.out()).toContain(`${url}/backend-api/codex`);
    expect(ctx.out()).toContain('auto-approve: on');
    const res = await fetch(`${url}/api/accounts/deviceauth/usercode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'app_EMoamEEZ73f0CkXaXp7hrann' }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    // one log line per request, without any secret from the body
    await waitFor(() => (ctx.err().includes('POST /api/accounts/deviceauth/usercode 200') ? true : undefined), 'the request log line');
    const { user_code, device_auth_id } = JSON.parse(body) as { user_code: string; device_auth_id: string };
    expect(ctx.err()).not.toContain(user_code);
    expect(ctx.err()).not.toContain(device_auth_id);
    ctx.interrupt();
    expect(await done).toBe(0);
    expect(ctx.out()).toContain('sandbox stopped');
    await expect(fetch(`${url}/codex/device`)).rejects.toThrow();
  });

  it('a port in use is a clear error', async () => {
    const first = captureContext();
    const running = main(['sandbox', '--port', '0', '--quiet'], first);
    const port = await waitFor(() => /127\.0\.0\.1:(\d+)/.exec(first.out())?.[1], 'the first sandbox');
    const second = captureContext();
    expect(await main(['sandbox', '--port', port, '--quiet'], second)).toBe(1);
    expect(second.err()).toContain('already in use');
    first.interrupt();
    await running;
  });
});
