import type { Writable, Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { loadConfig, type ConfigFlags } from '../config/load.js';
import type { Config, ConfigFile } from '../config/schema.js';
import { systemClock, type Clock } from '../util/clock.js';

/**
 * Everything a command touches outside its own arguments. main() builds the real one; tests
 * pass their own to capture output, set env and drive time.
 */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  clock: Clock;
  /** Registers a cleanup to run on SIGINT/SIGTERM (long-running commands). Returns an unregister function. */
  onInterrupt(fn: () => void): () => void;
  /** Exit code of the command that ran; commands set it, main() returns it. */
  exitCode: number;
  /** node's own flags (process.execArgv): a command that tunes V8 leaves alone what the user set. */
  execArgv?: readonly string[];
  /**
   * Sets V8 flags for the rest of the process (v8.setFlagsFromString); `serve` uses it for its
   * garbage-collection schedule (src/app/gc-schedule.ts). Absent where the command runs inside a
   * process that is not its own (the tests): nothing is set there.
   */
  setV8Flags?(flags: readonly string[]): void;
}

/** Options every command accepts (also in their legacy single-dash form). */
export interface CommonOptions {
  config?: string;
  authDir?: string;
  debug?: boolean;
}

/** The config of a command: flags > env > file > defaults; `fileContent` stands in for the file's content (a reload). */
export function configFrom(ctx: CliContext, opts: CommonOptions & ConfigFlags, fileContent?: ConfigFile): Config {
  const config = loadConfig({
    flags: { config: opts.config, authDir: opts.authDir, host: opts.host, port: opts.port },
    env: ctx.env,
    cwd: ctx.cwd,
    fileContent,
  });
  if (opts.debug) config.debug = true;
  return config;
}

export function defaultContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    clock: systemClock,
    onInterrupt(fn) {
      process.on('SIGINT', fn);
      process.on('SIGTERM', fn);
      return () => {
        process.off('SIGINT', fn);
        process.off('SIGTERM', fn);
      };
    },
    exitCode: 0,
    execArgv: process.execArgv,
    setV8Flags(flags) {
      for (const flag of flags) setFlagsFromString(flag);
    },
  };
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
