/**
 * The CLI run from TypeScript sources in a child process (tests that need real separate
 * processes: several server instances, SIGKILL). Same as bin/cliproxy.js without a build.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
