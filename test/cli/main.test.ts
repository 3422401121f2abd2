import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';

describe('cli frame', () => {
  it('--help lists every command and the legacy flags', async () => {
    const ctx = captureContext();
    expect(await main(['--help'], ctx)).toBe(0);
    for (const cmd of ['serve', 'login', 'status', 'logout', 'exec', 'sandbox', 'demo']) {
      expect(ctx.out()).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
    expect(ctx.out()).toContain('-codex-device-login');
  });

  it('login --help lists the login flags', async () => {
    const ctx = captureContext();
    expect(await main(['login', '--help'], ctx)).toBe(0);
    for (const flag of ['--device-auth', '--no-browser', '--oauth-callback-port', '--timeout', '--from-codex', '--config', '--auth-dir']) {
      expect(ctx.out()).toContain(flag);
    }
  });

  it('an unknown flag prints one error line and the usage, exit 2', async () => {
    const ctx = captureContext();
    expect(await main(['-codex-login', '-bogus'], ctx)).toBe(2);
    const lines = ctx.err().trim().split('\n');
    expect(lines[0]).toMatch(/unknown option/);
    expect(lines[1]).toMatch(/^Usage: cliproxy login/);
  });

  it('an unknown command is an error with exit 2', async () => {
    const ctx = captureContext();
    expect(await main(['frob'], ctx)).toBe(2);
    expect(ctx.err()).toContain("unknown command 'frob'");
    expect(ctx.err()).toContain('Usage: cliproxy');
  });

  it('a misspelt command suggests the right one, exit 2', async () => {
    const ctx = captureContext();
    expect(await main(['servee'], ctx)).toBe(2);
    expect(ctx.err()).toContain("unknown command 'servee'");
    expect(ctx.err()).toContain('Did you mean serve?');
    expect(ctx.err()).toContain('Usage: cliproxy');
  });

  it('serve takes no positional argument', async () => {
    const ctx = captureContext();
    expect(await main(['serve', 'extra'], ctx)).toBe(2);
    expect(ctx.err()).toMatch(/too many arguments for 'serve'/);
    expect(ctx.err()).toContain('Usage: cliproxy serve');
  });

  it('a bad port is a usage error', async () => {
    const ctx = captureContext();
    expect(await main(['serve', '--port', 'abc'], ctx)).toBe(2);
    expect(ctx.err()).toContain('invalid port "abc"');
  });

  it('--version prints the package version', async () => {
    const ctx = captureContext();
    expect(await main(['--version'], ctx)).toBe(0);
    expect(ctx.out().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
