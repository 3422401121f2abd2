import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// The installed entry point (bin/cliproxy.js → dist/), under both package bin names.
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/cliproxy.js');

function run(args: string[], opts: { closeStdoutAfterFirstChunk?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.closeStdoutAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bin/cliproxy.js', () => {
  beforeAll(() => {
    // the bin runs the compiled code: build it from the current sources
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('package.json exposes the same program as cliproxy and CLIProxyAPI', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.cliproxy).toBe('bin/cliproxy.js');
    expect(pkg.bin.CLIProxyAPI).toBe('bin/cliproxy.js');
  });

  it('--help lists every command, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'login', 'status', 'logout', 'exec', 'sandbox', 'demo']) expect(r.stdout).toContain(`  ${cmd}`);
  });

  it('an unknown legacy flag exits 2 with the usage', async () => {
    const r = await run(['-codex-login', '-frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
    expect(r.stderr).toMatch(/Usage: cliproxy login/);
  });

  it('a reader that closes the pipe early does not produce a stack trace', async () => {
    const r = await run(['--help'], { closeStdoutAfterFirstChunk: true });
    expect(r.stderr).not.toMatch(/EPIPE|at .*\(/);
  });
});
