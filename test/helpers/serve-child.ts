/**
 * Test helper (not a test file): `cliproxy serve` in a child process (tsx, the sources), so a
 * test can kill it with SIGKILL or run it as an unprivileged user. As root with `asNobody`, the
 * modules load first (the checkout may sit in a directory only root can enter), then the
 * process drops to uid/gid 65534 before the command touches the auth dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface ServeChild {
  proc: ChildProcess;
  url: string;
  port: number;
  stdout(): string;
  stderr(): string;
  /** SIGKILL, then waits for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function startServeChild(opts: { argv: string[]; env: NodeJS.ProcessEnv; asNobody?: boolean; startTimeoutMs?: number }): Promise<ServeChild> {
  const drop = opts.asNobody && process.getuid?.() === 0 ? 'process.setgid(65534); process.setuid(65534);' : '';
  // fastify and undici load some modules lazily, on first use: use them once before the drop.
  const warm = drop ? "await import('./test/helpers/warm-before-drop.ts');" : '';
  // every command is loaded before the drop: after it, the CLI's lazy import('./serve.js') could not be resolved in such a checkout
  const script = `import { main, loadCommands } from './src/cli/main.ts';
    await import('./src/app/runtime.ts');
    ${warm}
    const commands = await loadCommands();
    ${drop}
    process.exitCode = await main(${JSON.stringify(['serve', ...opts.argv])}, undefined, commands);`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, HOME: '/tmp', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let url: string | undefined;
  while (!url) {
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) url = m[1]!;
    else if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`serve exited (${proc.exitCode ?? proc.signalCode}): ${err.slice(-2000)}`);
    else if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`serve did not start in time: ${err.slice(-2000)}`);
    } else await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    url,
    port: Number(new URL(url).port),
    stdout: () => out,
    stderr: () => err,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
