import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';

describe('cliproxy demo', () => {
  it('--no-wait runs end to end: sandbox, device login, server, one chat completion', async () => {
    const ctx = captureContext({ env: {} });
    const code = await main(['demo', '--no-wait'], ctx);
    const out = ctx.out();
    expect(code, ctx.err()).toBe(0);
    expect(out).toMatch(/Signed in .*@/);
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('Loaded 1 Codex account');
    expect(out).toMatch(/curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    expect(out).toContain('→ HTTP 200');
    expect(out).toContain('"content": "Hello from cliproxy!"');
    const dir = /Auth dir for this demo: (\S+)/.exec(out)?.[1];
    expect(dir).toBeDefined();
    const { existsSync } = await import('node:fs');
    expect(existsSync(dir!)).toBe(false);
  });
});
