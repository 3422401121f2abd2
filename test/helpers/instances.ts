import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * cliproxy processes for tests that need several real instances (scale-out, SIGKILL): each
 * runs the CLI from the sources (tsx) in its own empty home and working directory, with only
 * the environment given.
 */
const root = path.resolve(import.meta.dirname, '../..');
const entry = path.join(root, 'test/helpers/cliproxy-entry.ts');
// tsx from this checkout (the children run in their own empty directories)
const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/esm/index.mjs')).href;

export interface Instance {
  url: string;
  proc: ChildProcess;
  out(): string;
  err(): string;
  /** The JSON log lines on stderr with this msg. */
  logs(msg: string | RegExp): Array<Record<string, unknown>>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
  /** SIGKILL (no shutdown at all). */
  kill(): Promise<void>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[], env: Record<string, string>): { proc: ChildProcess; home: string; out: () => string; err: () => string; closed: Promise<number | null> } {
  const home = mkdtempSync(path.join(tmpdir(), 'cliproxy-inst-'));
  const proc = spawn(process.execPath, ['--import', tsx, entry, ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, CLIPROXY_AUTH_DIR: path.join(home, 'auth'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close': the process ended and its output is all read
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, home, out: () => stdout, err: () => stderr, closed };
}

/** Starts `cliproxy serve` on 127.0.0.1, a free port; resolves once it listens (rejects with its stderr if it exits first). */
export async function startInstance(env: Record<string, string>, timeoutMs = 60_000): Promise<Instance> {
  const c = spawnCli(['serve', '--host', '127.0.0.1', '--port', '0'], env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start within ${timeoutMs} ms: ${c.err()}`)), timeoutMs);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(c.out());
      if (m) {
        clearTimeout(timer);
        c.proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    c.proc.stdout!.on('data', onData);
    c.proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code} before listening: ${c.err()}`));
    });
  });
  const logs = (msg: string | RegExp) =>
    c
      .err()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      })
      .filter((j) => typeof j.msg === 'string' && (typeof msg === 'string' ? j.msg === msg : msg.test(j.msg)));
  let stopped: Promise<number | null> | undefined;
  const cleanup = () => rmSync(c.home, { recursive: true, force: true });
  return {
    url,
    proc: c.proc,
    out: c.out,
    err: c.err,
    logs,
    stop() {
      stopped ??= (async () => {
        c.proc.kill('SIGTERM');
        const code = await c.closed;
        cleanup();
        return code;
      })();
      return stopped;
    },
    async kill() {
      c.proc.kill('SIGKILL');
      await c.closed;
      cleanup();
    },
  };
}

/** Runs one CLI command to its end. */
export async function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  const c = spawnCli(args, env);
  const code = await c.closed;
  rmSync(c.home, { recursive: true, force: true });
  return { code, stdout: c.out(), stderr: c.err() };
}
