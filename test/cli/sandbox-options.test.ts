import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CODEX_CLIENT_ID } from '../../src/config/schema.js';
import { captureContext } from '../helpers/cli-context.js';

describe('cliproxy sandbox options', () => {
  it('--device-interval and --token-ttl reach the emulator', async () => {
    const ctx = captureContext();
    const running = main(['sandbox', '--port', '0', '--quiet', '--auto-approve', '--device-interval', '1', '--token-ttl', '120'], ctx);
    await expect.poll(() => /sandbox listening on (\S+)/.exec(ctx.out())?.[1], { timeout: 5000 }).toBeTruthy();
    const url = /sandbox listening on (\S+)/.exec(ctx.out())![1]!;
    try {
      const res = await fetch(`${url}/api/accounts/deviceauth/usercode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CODEX_CLIENT_ID }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { interval: string };
      expect(body.interval).toBe('1');
    } finally {
      ctx.interrupt();
    }
    expect(await running).toBe(0);
    expect(ctx.out()).toContain('auto-approve: on');
  });

  it('rejects a non-numeric interval with a usage error', async () => {
    const ctx = captureContext();
    expect(await main(['sandbox', '--device-interval', 'soon'], ctx)).toBe(2);
    expect(ctx.err()).toContain('invalid device interval "soon"');
  });
});
