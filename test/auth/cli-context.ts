import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import type { LoginSeams } from '../../src/cli/login.js';
import { main } from '../../src/cli/main.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { capture, type Captured } from './helpers.js';

/** A fake CLI context: captured stdout/stderr, a writable stdin, an interrupt button. */
export interface FakeCli {
  ctx: CliContext & LoginSeams;
  stdout: Captured;
  stderr: Captured;
  stdin: PassThrough & { isTTY?: boolean };
  /** Fires the handlers registered with onInterrupt (Ctrl-C). */
  interrupt(): void;
  home: string;
  run(argv: string[]): Promise<number>;
}

export async function fakeCli(opts: { env?: Record<string, string>; clock?: Clock; seams?: LoginSeams; home?: string } = {}): Promise<FakeCli> {
  const home = opts.home ?? (await mkdtemp(path.join(tmpdir(), 'home-')));
  const stdout = capture();
  const stderr = capture();
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  const handlers = new Set<() => void>();
  const ctx: CliContext & LoginSeams = {
    env: { HOME: home, ...opts.env },
    cwd: home,
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin,
    clock: opts.clock ?? systemClock,
    onInterrupt(fn) {
      handlers.add(fn);
      return () => handlers.delete(fn);
    },
    exitCode: 0,
    ...opts.seams,
  };
  return {
    ctx,
    stdout,
    stderr,
    stdin,
    home,
    interrupt: () => [...handlers].forEach((h) => h()),
    run: (argv) => main(argv, ctx),
  };
}
