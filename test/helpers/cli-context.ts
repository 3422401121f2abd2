import { PassThrough, Readable } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { systemClock, type Clock } from '../../src/util/clock.js';

/** A CliContext that captures stdout/stderr, for running main() in-process. */
export interface CapturedContext extends CliContext {
  out(): string;
  err(): string;
  /** Fires every registered interrupt handler, like Ctrl-C. */
  interrupt(): void;
}

export function captureContext(init: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string | Readable; clock?: Clock; tty?: boolean } = {}): CapturedContext {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  (stdout as PassThrough & { isTTY?: boolean }).isTTY = init.tty ?? false;
  (stderr as PassThrough & { isTTY?: boolean }).isTTY = init.tty ?? false;
  const stdin = typeof init.stdin === 'string' ? Readable.from([init.stdin]) : (init.stdin ?? Readable.from([]));
  const handlers = new Set<() => void>();
  return {
    env: init.env ?? {},
    cwd: init.cwd ?? process.cwd(),
    stdout,
    stderr,
    stdin,
    clock: init.clock ?? systemClock,
    onInterrupt(fn) {
      handlers.add(fn);
      return () => handlers.delete(fn);
    },
    exitCode: 0,
    out: () => out,
    err: () => err,
    interrupt: () => {
      for (const h of [...handlers]) h();
    },
  };
}
